"""`mlops backtest`: the platform side (validation at the edge, locating the use case's code,
progress); the scoring and the report are the template's (``remedy_inference.backtest``, which
re-exports ``remedy_core.backtest``: the same code the training pipeline's Backtest step runs).

Locally it runs the batch path of the inference code the use case was rendered from: by default
the template source in this repository (the very files a rendered repo contains), or a rendered
inference repo given with ``--repo``.

``--candidate`` is a bundle directory or a model package ARN: the package is resolved in the
registry, its model data must live where the artifact contract says (the dev registry bucket's
``<usecase>/models/``) and hash to the SHA-256 recorded at registration, and is then unpacked and
scored locally like a directory.
"""

from __future__ import annotations

import sys
import tarfile
import tempfile
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
    candidate: Path | str
    """A bundle directory, or a model package ARN (resolved in the registry)."""
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


def is_model_package_arn(value: str) -> bool:
    return value.startswith("arn:aws:sagemaker:") and ":model-package/" in value


def _registry_bucket() -> str:
    from mlops.config import load_stack_config
    from mlops.delivery.artifacts import registry_bucket
    from mlops.naming import names_for

    return registry_bucket(names_for(load_stack_config("dev"), "dev"))


def fetch_model_package(
    arn: str, usecase: str, into: Path, *, sagemaker: Any = None, s3: Any = None
) -> Path:
    """The bundle of a registered model package, verified and unpacked into `into`.

    Refuses (BacktestFailed) a package whose model data is outside the registry's
    `<usecase>/models/`, records no SHA-256, or whose bytes hash to another one."""
    import boto3
    from botocore.exceptions import ClientError

    from mlops.delivery import artifacts

    region = arn.split(":")[3]
    sagemaker = sagemaker or boto3.client("sagemaker", region_name=region)
    s3 = s3 or boto3.client("s3", region_name=region)
    fix = "pass an approved or pending package of this use case registered by its pipeline"
    try:
        package = sagemaker.describe_model_package(ModelPackageName=arn)
        uri, recorded = artifacts.model_data_of(package)
        artifacts.check_location(uri, _registry_bucket(), usecase)
        bucket, key = artifacts.split_s3_uri(uri)
        into.mkdir(parents=True, exist_ok=True)
        tar = into / artifacts.MODEL_FILE
        s3.download_file(bucket, key, str(tar))
    except ClientError as exc:
        raise BacktestFailed(f"--candidate {arn}: {exc}", fix) from None
    except artifacts.ArtifactMismatch as exc:
        raise BacktestFailed(f"--candidate {arn}: {exc}", fix) from None
    with tar.open("rb") as stream:
        actual, size = artifacts.sha256_of(stream)
    if actual != recorded:
        raise BacktestFailed(
            f"--candidate {arn}: model data {uri} ({size} bytes) has SHA-256 {actual}, but the "
            f"package recorded {recorded} at registration: the artifact changed",
            "re-run the training pipeline; never edit a registered model's artifacts",
        )
    bundle = into / "bundle"
    try:
        with tarfile.open(tar) as archive:
            archive.extractall(bundle, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise BacktestFailed(
            f"--candidate {arn}: {uri} is not a model.tar.gz: {exc}", fix
        ) from None
    return bundle


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
    with tempfile.TemporaryDirectory(prefix="mlops-backtest-") as tmp:
        candidate = request.candidate
        if isinstance(candidate, str) and is_model_package_arn(candidate):
            candidate = fetch_model_package(candidate, request.usecase, Path(tmp))
        cand_model = _bundle(Path(candidate), "--candidate")
        sides = [
            backtest.Side(cur_model, cur_model.bundle_id, current_rules, current_source),
            backtest.Side(cand_model, cand_model.bundle_id, candidate_rules, candidate_source),
        ]
        result = backtest.run_backtest(frame, *sides, market=SyntheticMarket(), progress=progress)
        return result, backtest.write_report(result, request.out)
