"""Build a small trained bundle quickly (tests, the inference repo, demos).

python -m remedy_training.demo_bundle OUT_DIR [--claims 3000] [--rounds 60] [--seed 0]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from remedy_core.bundle import export_bundle
from remedy_core.synthetic import generate_claims
from remedy_training.models import train_bundle


def build_demo_bundle(out: str | Path, claims: int = 3000, rounds: int = 60, seed: int = 0):
    frame = generate_claims(claims, seed=seed)
    trained = train_bundle(frame, {"num_boost_round": rounds}, seed=seed)
    return export_bundle(
        out,
        trained.boosters,
        hyperparameters=trained.hyperparameters,
        data={"claims": claims, "seed": seed, "source": "synthetic"},
    )


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("out")
    p.add_argument("--claims", type=int, default=3000)
    p.add_argument("--rounds", type=int, default=60)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    path = build_demo_bundle(a.out, a.claims, a.rounds, a.seed)
    print(f"bundle written to {path}")


if __name__ == "__main__":
    main()
