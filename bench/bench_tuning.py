"""Remedy tuning benchmark: Optuna TPE against random search at an equal budget, in one run.

Same data, same objective (validation median APE of the repair-cost p50 head, as in the local
run's tuning), same search space (declared once in remedy_training.search_space), same
rounds of parallel trials. For each seed:
  * best objective after N trials, random vs TPE (ratio TPE / random)
  * trials TPE needed to reach random search's final best (ratio to the budget; goal <= 50%)
  * wall time of N local trials (2 worker threads), per trial
Printed ratios come from one run of this script.

    .venv/bin/python bench/bench_tuning.py [--trials 100] [--parallel 10] [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for sub in ("templates/remedy/core", "templates/remedy/training/src"):
    if str(ROOT / sub) not in sys.path:
        sys.path.insert(0, str(ROOT / sub))

from remedy_core.synthetic import generate_claims  # noqa: E402
from remedy_training.preprocess import split_frame  # noqa: E402
from remedy_training.train import fit_and_score  # noqa: E402
from remedy_training.tuning import best_so_far, tune  # noqa: E402

try:  # the runner (`python -m bench`) imports us as bench.bench_tuning
    from bench.common import row
except ImportError:  # pragma: no cover - direct script run
    sys.path.insert(0, str(ROOT))
    from bench.common import row


def make_objective(claims: int, train_rows: int, seed: int = 0):
    frame = generate_claims(claims, seed=seed)
    parts = split_frame(frame, seed, validation=0.3, test=0.05)
    train = parts["train"].iloc[:train_rows]
    validation = parts["validation"]

    def objective(hp: dict) -> float:
        _, metrics = fit_and_score(
            train, validation, hp, seed=0, threads=1, heads=["repair_cost_p50"]
        )
        return metrics["repair_mdape"]

    return objective


def compare(objective, trials: int, parallel: int, seed: int, workers: int = 2) -> dict:
    out = {}
    for sampler in ("random", "tpe"):
        res = tune(
            objective,
            max_jobs=trials,
            max_parallel=parallel,
            seed=seed,
            sampler=sampler,
            workers=workers,
        )
        values = [t.value for t in res.study.trials]
        out[sampler] = {"curve": best_so_far(values), "seconds": res.seconds}
    target = out["random"]["curve"][-1]
    reached = next((i + 1 for i, v in enumerate(out["tpe"]["curve"]) if v <= target), None)
    return {
        "random_best": target,
        "tpe_best": out["tpe"]["curve"][-1],
        "tpe_trials_to_random_best": reached,
        "random_seconds": out["random"]["seconds"],
        "tpe_seconds": out["tpe"]["seconds"],
    }


def measure(trials: int, parallel: int, seeds: list[int], claims: int, train_rows: int):
    objective = make_objective(claims, train_rows)
    runs = [compare(objective, trials, parallel, s) for s in seeds]
    reached = [r["tpe_trials_to_random_best"] or trials + 1 for r in runs]
    return runs, reached


def run(quick: bool = True) -> list[dict]:
    trials, parallel, seeds = (6, 3, [0]) if quick else (100, 10, [0, 1, 2])
    claims, rows = (2_000, 800) if quick else (10_000, 4_000)
    runs, reached = measure(trials, parallel, seeds, claims, rows)
    med_reached = statistics.median(reached)
    random_best = statistics.median(r["random_best"] for r in runs)
    tpe_best = statistics.median(r["tpe_best"] for r in runs)
    tpe_s = statistics.median(r["tpe_seconds"] for r in runs)
    rand_s = statistics.median(r["random_seconds"] for r in runs)
    note = f"{len(seeds)} seed(s), rounds of {parallel}; >{trials} means not reached"
    return [
        row(f"random search best after {trials} trials", "baseline", random_best, "MdAPE"),
        row(
            f"TPE best after {trials} trials",
            "vs random best",
            tpe_best,
            "MdAPE",
            tpe_best / random_best,
        ),
        row(
            "TPE trials to reach random's best",
            f"vs budget {trials}",
            med_reached,
            "trials",
            med_reached / trials,
            note=f"per seed {reached}; {note}",
        ),
        row(
            f"local tuning wall time, {trials} TPE trials",
            "vs random",
            tpe_s,
            "s",
            tpe_s / rand_s,
            note="2 worker threads, 1 LightGBM thread each",
        ),
        row("wall time per TPE trial", "", tpe_s / trials, "s"),
    ]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--trials", type=int, default=100)
    p.add_argument("--parallel", type=int, default=10)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--claims", type=int, default=10_000)
    p.add_argument("--train-rows", type=int, default=4_000)
    a = p.parse_args()
    t0 = time.perf_counter()
    runs, reached = measure(a.trials, a.parallel, a.seeds, a.claims, a.train_rows)
    print(f"TPE vs random search, {a.trials} trials each, rounds of {a.parallel}, same data")
    for seed, r in zip(a.seeds, runs, strict=True):
        got = r["tpe_trials_to_random_best"]
        print(
            f"seed {seed}: random best {r['random_best']:.4f}  TPE best {r['tpe_best']:.4f} "
            f"(ratio {r['tpe_best'] / r['random_best']:.3f})  TPE reached random's best after "
            f"{got if got else f'>{a.trials}'} trials "
            f"({(got or a.trials + 1) / a.trials:.0%} of budget)  wall: random "
            f"{r['random_seconds']:.1f} s, TPE {r['tpe_seconds']:.1f} s"
        )
    med = statistics.median(reached)
    print(f"median trials to reach random's best: {med} of {a.trials} ({med / a.trials:.0%})")
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
