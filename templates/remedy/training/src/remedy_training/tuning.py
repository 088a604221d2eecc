"""Local hyperparameter tuning with Optuna's TPE sampler, in rounds of parallel trials.

Mirrors the SageMaker tuner: `max_jobs` trials in rounds of `max_parallel`; each round asks the
sampler for `max_parallel` configurations (constant liar keeps them apart), runs them in
parallel, then tells the results in submission order - so a study is identical for a seed
whatever the thread timing. The study persists in SQLite; `write_report` writes the tuning
report (HTML with optimisation history, parameter importances and best trials, plus a PNG).

Trials train the heads the objective scores (the repair-cost quantile heads) to keep 100
local trials affordable on a laptop; SageMaker training jobs train the full bundle. The best
configuration is then refitted on all heads (`run_local`).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import optuna

from remedy_training.search_space import optuna_distributions

log = logging.getLogger(__name__)
Objective = Callable[[dict], float]


@dataclass
class TuningResult:
    study: optuna.Study
    best_params: dict
    best_value: float
    seconds: float
    rounds: int


def make_sampler(kind: str, seed: int, startup: int = 10) -> optuna.samplers.BaseSampler:
    if kind == "tpe":
        return optuna.samplers.TPESampler(
            seed=seed, n_startup_trials=startup, multivariate=True, constant_liar=True
        )
    if kind == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise ValueError(f"unknown sampler {kind!r}; use 'tpe' or 'random'")


def _drop_earlier_study(url: str, study_name: str) -> None:
    """A tuning run is a fresh study: one left in the same storage by an earlier (or interrupted)
    run is deleted, not resumed - its trials were scored on another run's data split."""
    try:
        optuna.delete_study(study_name=study_name, storage=url)
    except KeyError:  # no earlier study of that name
        return
    log.info("tuning: earlier study %r in %s deleted (a run starts fresh)", study_name, url)


def tune(
    objective: Objective,
    *,
    max_jobs: int,
    max_parallel: int,
    seed: int = 0,
    sampler: str = "tpe",
    storage: str | Path | None = None,
    study_name: str = "remedy",
    on_trial: Callable[[int, float], None] | None = None,
    workers: int | None = None,
) -> TuningResult:
    """Minimise `objective` over the search space in rounds of `max_parallel` trials.

    `workers` threads evaluate a round (default: `max_parallel`, like SageMaker's parallel
    jobs; on a laptop use the number of cores - the sampler sees the same rounds either way).
    """
    if max_jobs < 1 or not 1 <= max_parallel <= max_jobs:
        raise ValueError("need max_jobs >= 1 and 1 <= max_parallel <= max_jobs")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = None
    if storage is not None:
        Path(storage).parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{Path(storage).resolve()}"
        _drop_earlier_study(url, study_name)
    study = optuna.create_study(
        study_name=study_name,
        storage=url,
        direction="minimize",
        sampler=make_sampler(sampler, seed, startup=min(10, max_parallel)),
        load_if_exists=False,
    )
    dists = optuna_distributions()
    t0 = time.perf_counter()
    rounds = math.ceil(max_jobs / max_parallel)
    done = 0
    with ThreadPoolExecutor(max_workers=min(workers or max_parallel, max_parallel)) as pool:
        for r in range(rounds):
            batch = min(max_parallel, max_jobs - done)
            trials = [study.ask(dists) for _ in range(batch)]
            for t in trials:
                t.set_user_attr("round", r)
            values = list(pool.map(lambda t: objective(dict(t.params)), trials))
            for t, v in zip(trials, values, strict=True):
                study.tell(t, v)
                done += 1
                if on_trial is not None:
                    on_trial(t.number, v)
    return TuningResult(
        study=study,
        best_params=dict(study.best_params),
        best_value=float(study.best_value),
        seconds=time.perf_counter() - t0,
        rounds=rounds,
    )


def best_so_far(values: list[float]) -> list[float]:
    out, best = [], math.inf
    for v in values:
        best = min(best, v)
        out.append(best)
    return out


def write_report(study: optuna.Study, out_dir: str | Path, metric: str) -> dict[str, Path]:
    """Tuning report: tuning_report.html (interactive) and tuning_history.png."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    trials = [t for t in study.trials if t.value is not None]
    values = [t.value for t in trials]
    rounds = [t.user_attrs.get("round", 0) for t in trials]

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    sc = ax.scatter(range(len(values)), values, c=rounds, cmap="viridis", s=18, label="trial")
    ax.plot(best_so_far(values), color="crimson", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(metric)
    ax.set_title(f"Optimisation history ({len(values)} trials)")
    fig.colorbar(sc, ax=ax, label="round")
    ax.legend()
    fig.tight_layout()
    png = out / "tuning_history.png"
    fig.savefig(png)
    plt.close(fig)

    from optuna import visualization as vis

    parts = [
        f"<h1>Remedy tuning report</h1><p>objective: {metric} (minimise); "
        f"{len(values)} trials; best {study.best_value:.5f}</p>"
    ]
    figures = [vis.plot_optimization_history(study)]
    if len(trials) >= 3:
        try:
            figures.append(vis.plot_param_importances(study))
        except (ValueError, RuntimeError) as exc:  # importances need varied trials
            parts.append(f"<p>parameter importances unavailable: {exc}</p>")
        figures.append(vis.plot_parallel_coordinate(study))
    for i, f in enumerate(figures):
        parts.append(f.to_html(full_html=False, include_plotlyjs=(i == 0)))
    best = sorted(trials, key=lambda t: t.value)[:10]
    rows = "".join(
        f"<tr><td>{t.number}</td><td>{t.user_attrs.get('round', 0)}</td><td>{t.value:.5f}</td>"
        f"<td>{', '.join(f'{k}={v:.4g}' for k, v in t.params.items())}</td></tr>"
        for t in best
    )
    parts.append(
        "<h2>Best trials</h2><table border=1><tr><th>trial</th><th>round</th>"
        f"<th>{metric}</th><th>parameters</th></tr>{rows}</table>"
    )
    html = out / "tuning_report.html"
    html.write_text(
        "<html><head><meta charset='utf-8'></head><body>" + "".join(parts) + "</body></html>"
    )
    return {"html": html, "png": png}
