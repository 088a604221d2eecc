"""One sample decision per rule (SAFETY, MISSING_EVIDENCE, SPECIAL_VEHICLE, ECONOMIC, BORDERLINE)
from synthetic claims, with the data behind each: for docs, demos and handler training.

Run: ``python -m remedy_inference.samples BUNDLE_DIR [--claims 3000] [--json out.json]``
MISSING_EVIDENCE is shown the way it happens in production: the valuation API times out and the
model's PAV interval is too wide to use on its own (or, if no such claim is in the sample, a first
notification of loss that reports no damaged zones).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from remedy_core.bundle import load_bundle
from remedy_core.decision import Decision, decide
from remedy_core.features import FEATURES_VERSION, encode_claim
from remedy_core.rules import RuleConfig
from remedy_core.synthetic import frame_to_claims, generate_claims
from remedy_core.valuation import ValuationRequest
from remedy_inference.compiled import CompiledBundle
from remedy_inference.market_data import SyntheticMarket

RULES = ("SAFETY", "MISSING_EVIDENCE", "SPECIAL_VEHICLE", "ECONOMIC", "BORDERLINE")


def find_samples(bundle_dir: str | Path, n_claims: int = 3000, seed: int = 11) -> dict[str, dict]:
    model = CompiledBundle(load_bundle(bundle_dir))
    market = SyntheticMarket()
    config = RuleConfig()
    found: dict[str, dict] = {}
    economic_seen: set[str] = set()
    for claim in frame_to_claims(generate_claims(n_claims, seed=seed)):
        outputs = model.predict_one(encode_claim(claim))
        evidence = market.lookup(ValuationRequest.from_claim(claim))
        d: Decision = decide(claim, outputs, evidence, config=config, decision_id=claim.claim_id,
                             features_version=FEATURES_VERSION)  # fmt: skip
        rule = d.decided_by
        if rule == "ECONOMIC" and d.recommendation in economic_seen:
            continue
        if rule == "ECONOMIC":
            economic_seen.add(d.recommendation)
        if rule not in found or (rule == "ECONOMIC" and d.recommendation == "write_off"):
            found[rule] = {"claim": claim.model_dump(mode="json"), "decision": d.model_dump()}
        spread = (outputs.pav_p90 - outputs.pav_p10) / max(outputs.pav_p50, 1.0)
        if "MISSING_EVIDENCE" not in found and spread > config.model_pav_max_spread:
            failed = decide(claim, outputs, None, config=config, decision_id=claim.claim_id,
                            market_error="TIMEOUT: valuation API did not answer within 2.0s",
                            features_version=FEATURES_VERSION)  # fmt: skip
            found["MISSING_EVIDENCE"] = {
                "claim": claim.model_dump(mode="json"),
                "decision": failed.model_dump(),
            }
        if all(r in found for r in RULES) and economic_seen >= {"repair", "write_off"}:
            break
    if "MISSING_EVIDENCE" not in found:
        # no wide model PAV in this sample: show the other trigger, a first notification of loss
        # that reports no damaged zones
        claim = frame_to_claims(generate_claims(1, seed=seed + 1))[0]
        bare = claim.model_copy(
            update={"accident": claim.accident.model_copy(update={"zones_hit": [],
                                                                  "zone_severity": {}})}
        )  # fmt: skip
        outputs = model.predict_one(encode_claim(bare))
        evidence = market.lookup(ValuationRequest.from_claim(bare))
        d = decide(bare, outputs, evidence, config=config, decision_id=bare.claim_id,
                   features_version=FEATURES_VERSION)  # fmt: skip
        found["MISSING_EVIDENCE"] = {
            "claim": bare.model_dump(mode="json"),
            "decision": d.model_dump(),
        }
    return {r: found[r] for r in RULES if r in found}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("bundle_dir")
    parser.add_argument("--claims", type=int, default=3000)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    samples = find_samples(args.bundle_dir, args.claims)
    text = json.dumps(samples, indent=2, default=str)
    if args.json:
        args.json.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
