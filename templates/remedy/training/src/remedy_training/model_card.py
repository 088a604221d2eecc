"""Model card (markdown) written for every registered bundle version."""

from __future__ import annotations

import datetime as dt


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


def render_model_card(
    *,
    usecase: str,
    description: str,
    owner: str,
    jurisdiction: str,
    group: str,
    version: int | None,
    arn: str | None,
    status: str,
    evaluation: dict,
    tuning: dict,
    data: dict,
    gate: dict,
) -> str:
    m = {k: v["value"] for k, v in evaluation["metrics"].items()}
    d = evaluation["decision"]
    rows = "\n".join(f"| {k} | {_fmt(v)} |" for k, v in m.items())
    counts = d["confusion_counts"]
    gbp = d["confusion_cost_gbp"]
    conf = "\n".join(
        f"| {t} | {counts[t]['repair']} (GBP {gbp[t]['repair']:,.0f}) | "
        f"{counts[t]['write_off']} (GBP {gbp[t]['write_off']:,.0f}) | "
        f"{counts[t]['investigate']} (GBP {gbp[t]['investigate']:,.0f}) |"
        for t in ("repair", "write_off")
    )
    params = ", ".join(f"{k}={_fmt(v)}" for k, v in tuning.get("best_params", {}).items())
    versions = ", ".join(f"{k}={v}" for k, v in evaluation.get("model_versions", {}).items())
    return f"""# Model card: {usecase} Remedy bundle, version {version if version else "n/a"}

- **Model package**: `{arn or "not registered"}` in group `{group}`
- **Approval status**: {status} (approval by the lead data scientist, {owner}, is required
  before any deployment)
- **Written**: {dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
- **Bundle**: {evaluation.get("bundle_id", "n/a")}; versions: {versions}

## Intended use
{description}. Decision support for motor claims handlers: repair, write off or investigate,
with repair-cost and pre-accident-value intervals, salvage category and the reasons behind it.
Jurisdiction rules: {jurisdiction}. Every recommendation is reviewed by a handler, who accepts,
overrides with a coded reason or asks for an inspection (UK GDPR Art. 22). Not for pricing,
fraud decisions or any use without human review.

## Data
{", ".join(f"{k}: {v}" for k, v in data.items())}.
Synthetic claims from the seeded generator (calibrated to UK/US public figures: total-loss share
~20%, average repair ~GBP 4k, supplement on ~39% of estimates, depreciation 8-11% a year).

## Evaluation (held-out test split, {evaluation["n_claims"]} claims)
| metric | value |
|---|---|
{rows}

Gate: `{gate["metric"]}` = {_fmt(gate["value"])} against threshold {gate["threshold"]}:
**{"passed" if gate["passed"] else "failed"}**.

Decision confusion (truth by row, recommendation by column; cost-weighted regret in GBP):

| truth | repair | write_off | investigate |
|---|---|---|---|
{conf}

Calibration: ECE total-loss {evaluation["calibration"]["ece_total_loss"]:.4f},
structural {evaluation["calibration"]["ece_structural"]:.4f}.
Max absolute repair-cost bias by group: {evaluation["repair_cost"]["max_abs_group_bias"]}.

## Tuning
{tuning.get("trials", "?")} trials ({tuning.get("sampler", "tpe")},
{tuning.get("rounds", "?")} rounds, {tuning.get("seconds", "?")} s), objective
{tuning.get("objective", "validation:repair_mdape")} best {_fmt(tuning.get("best_value", 0.0))};
best parameters: {params}.

## Limitations
- Trained on synthetic claims: figures describe the generator, not a real book; retrain and
  re-evaluate on real claims before any production use.
- Repair-cost and PAV intervals are per-quantile models, each rescaled on validation claims
  (marginal coverage); coverage within a segment (make, region, age) can differ.
- PAV is a model estimate; serving shows market evidence (guide value and comparable adverts)
  and must not settle below the market.
- Decision metrics here use a simple economic rule; the serving rule set is versioned separately.
"""
