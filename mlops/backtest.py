"""`mlops backtest`: the platform side (validation at the edge, locating the use case's code,
progress); the scoring and the report are the inference repo's (``remedy_inference.backtest``).

Locally it runs the batch path of the inference code the use case was rendered from: by default
the template source in this repository (the very files a rendered repo contains), or a rendered
inference repo given with ``--repo``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops.errors import MlopsError, UsageError
from mlops.usecases import load_manifests

ROOT = Path(__file__).resolve().parents[1]
SUPPORTED_TEMPLATES = ("remedy",)


class BacktestFailed(MlopsError):
    """The backtest could not run."""


@dataclass(frozen=True)
class BacktestRequest:
    usecase: str
    candidate: Path
    current: Path | None
    claims: Path | None
    synthetic: int | None
    seed: int
    rules: Path | None
    current_rules: Path | None
    out: Path
    repo: Path | None


def _code_paths(repo: Path | None, template: str) -> list[Path]:
    if repo is not None:
        src = repo / "src"
        if not (src / "remedy_inference").is_dir():
            raise UsageError(
                f"--repo {repo} is not a rendered {template} inference repo "
                "(no src/remedy_inference)",
                "pass the inference repo `mlops onboard` rendered, or leave --repo out",
            )
        return [src]
    return [
        ROOT / "templates" / template / "core",
        ROOT / "templates" / template / "inference" / "src",
    ]


def _bundle(path: Path, flag: str) -> Any:
    from remedy_core.bundle import BundleError, load_bundle
    from remedy_inference.compiled import CompiledBundle

    if not path.is_dir():
        raise UsageError(
            f"{flag} {path}: not a directory", f"pass a Remedy bundle directory to {flag}"
        )
    try:
        return CompiledBundle(load_bundle(path))
    except (BundleError, ValueError, OSError) as exc:
        raise UsageError(
            f"{flag} {path}: {exc}", "pass a bundle written by the training pipeline"
        ) from exc


def default_current() -> Path | None:
    """The model the local demo deployed (what `mlops demo` approved), if there is one."""
    deployed = Path(".mlops/demo/deployed-bundle")
    return deployed if (deployed / "manifest.json").is_file() else None


def run(request: BacktestRequest, progress: Any = None) -> tuple[dict, dict[str, Path]]:
    manifests = {m.name: m for m in load_manifests()}
    if request.usecase not in manifests:
        raise UsageError(
            f"use case {request.usecase!r} is not onboarded (usecases/ has: "
            f"{', '.join(sorted(manifests)) or 'none'})",
            "pass the name of a manifest in usecases/",
        )
    template = manifests[request.usecase].template
    if template not in SUPPORTED_TEMPLATES:
        raise UsageError(
            f"use case {request.usecase!r} uses template {template!r}; backtests exist for "
            f"{', '.join(SUPPORTED_TEMPLATES)}",
            "add a backtest module to that template's inference repo",
        )
    if (request.claims is None) == (request.synthetic is None):
        raise UsageError("pass exactly one of --claims FILE and --synthetic N", "see --help")
    current = request.current or default_current()
    if current is None:
        raise UsageError(
            "no current model: --current was not given and no local deployment was found",
            "pass --current BUNDLE_DIR (or run `make demo`, which deploys one locally)",
        )
    for path in _code_paths(request.repo, template):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    from remedy_inference import backtest
    from remedy_inference.market_data import SyntheticMarket

    try:
        if request.claims is not None:
            frame = backtest.load_claims(request.claims)
        else:
            from remedy_core.synthetic import generate_claims

            frame = generate_claims(request.synthetic, seed=request.seed)
        current_rules, current_source = backtest.load_rules(request.current_rules)
        candidate_rules, candidate_source = backtest.load_rules(request.rules)
    except backtest.BacktestError as exc:
        raise UsageError(*exc.args) from exc
    cur_model = _bundle(current, "--current")
    cand_model = _bundle(request.candidate, "--candidate")
    sides = [
        backtest.Side(cur_model, cur_model.bundle_id, current_rules, current_source),
        backtest.Side(cand_model, cand_model.bundle_id, candidate_rules, candidate_source),
    ]
    result = backtest.run_backtest(frame, *sides, market=SyntheticMarket(), progress=progress)
    return result, backtest.write_report(result, request.out)
