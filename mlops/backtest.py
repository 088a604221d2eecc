"""`mlops backtest`: the platform side (validation at the edge, locating the use case's code,
progress); the data, the models, the scoring and the report are the use case's, through the
backtest entry point its template declares (``template_backtest`` in the template's copier.yml:
a module of its inference code honouring :class:`BacktestEntryPoint`, which may share its code
with the Backtest step of the template's training pipeline).

Locally it runs the batch path of the inference code the use case was rendered from: by default
the template source in this repository (the very files a rendered repo contains), or a rendered
inference repo given with ``--repo``.

``--candidate`` is a bundle directory or a model package ARN: the package is resolved in the
registry, its model data must live where the artifact contract says (the dev registry bucket's
``<usecase>/models/``) and hash to the SHA-256 recorded at registration, and is then unpacked and
scored locally like a directory.
"""

from __future__ import annotations

import importlib
import re
import sys
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from mlops.errors import MlopsError, UsageError
from mlops.usecases import load_manifests

ENTRY_KEY = "template_backtest"
"""The hidden copier.yml question (type yaml) declaring a template's backtest entry point:
``{module: <dotted module of the inference code>, source: [<template folders with the code>]}``."""
REQUIRED = ("Error", "load_data", "load_model", "load_rules", "compare", "write_report", "summary")
_MODULE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


class BacktestFailed(MlopsError):
    """The backtest could not run."""


class BacktestEntryPoint(Protocol):
    """What a template's backtest module gives `mlops backtest` (module-level names)."""

    Error: type[Exception]
    """Raised for bad input with ``(message, fix)``; shown as a usage error."""

    def load_data(self, path: Path) -> Any:
        """Historical rows (``--data``: .parquet, .csv or .jsonl)."""

    def load_model(self, path: Path) -> Any:
        """A model bundle directory, as the service scores it."""

    def load_rules(self, path: Path | None) -> Any:
        """A rule set file (None: the defaults)."""

    def compare(
        self, data: Any, current: tuple[Any, Any], candidate: tuple[Any, Any], progress: Any
    ) -> dict:
        """Both (model, rules) sides on ``data``; ``progress(stage, done, total)``."""

    def write_report(self, result: dict, out: Path) -> dict[str, Path]:
        """The report files (``html``, ``json``) written into ``out``."""

    def summary(self, result: dict) -> list[str]:
        """Lines to print: the headline first."""

    # optional: ``synthetic_data(n, seed) -> data`` (``--synthetic N``)


@dataclass(frozen=True)
class BacktestDeclaration:
    """A template's ``template_backtest``, validated."""

    template: str
    module: str
    source: tuple[Path, ...]
    """The template's code folders in this repository (on the import path by default)."""


@dataclass(frozen=True)
class BacktestRequest:
    usecase: str
    candidate: Path | str
    """A bundle directory, or a model package ARN (resolved in the registry)."""
    current: Path | None
    data: Path | None
    """Historical rows (.parquet, .csv or .jsonl) ..."""
    synthetic: int | None
    """... or this many rows from the use case's generator (exactly one of the two)."""
    seed: int
    rules: Path | None
    current_rules: Path | None
    out: Path
    repo: Path | None


def declared_backtest(template: str) -> BacktestDeclaration | None:
    """The template's ``template_backtest`` (None: it declares none); errors name the field."""
    from mlops.onboarding.templates import load_template, templates_dir

    info = load_template(templates_dir() / template)
    question = info.question(ENTRY_KEY)
    if question is None or question.default is None:
        return None
    raw = question.default
    where = f"templates/{template}/copier.yml {ENTRY_KEY}"
    fix = "declare {module: <package>.<module>, source: [<folder>, ...]} (see templates/README.md)"
    if not isinstance(raw, dict) or set(raw) - {"module", "source"}:
        raise BacktestFailed(f"{where}: must be a mapping with module and source", fix)
    module, source = raw.get("module"), raw.get("source")
    if not isinstance(module, str) or not _MODULE.match(module):
        raise BacktestFailed(f"{where}.module {module!r}: not a dotted module name", fix)
    if (
        not isinstance(source, list)
        or not source
        or not all(isinstance(s, str) and s and ".." not in Path(s).parts for s in source)
        or any(Path(s).is_absolute() for s in source)
    ):
        raise BacktestFailed(
            f"{where}.source {source!r}: give the template's folders (relative, inside it)", fix
        )
    return BacktestDeclaration(template, module, tuple(info.path / s for s in source))


def _code_paths(repo: Path | None, declared: BacktestDeclaration) -> list[Path]:
    if repo is not None:
        src = repo / "src"
        package = declared.module.split(".")[0]
        if not (src / package).is_dir():
            raise UsageError(
                f"--repo {repo} is not a rendered {declared.template} inference repo "
                f"(no src/{package})",
                "pass the inference repo `mlops onboard` rendered, or leave --repo out",
            )
        return [src]
    return list(declared.source)


def entry_point(declared: BacktestDeclaration, repo: Path | None) -> ModuleType:
    """The declared module, imported from the template's code (or ``repo``), checked."""
    for path in reversed(_code_paths(repo, declared)):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    try:
        module = importlib.import_module(declared.module)
    except ImportError as exc:
        raise BacktestFailed(
            f"template {declared.template!r}: backtest module {declared.module} cannot be "
            f"imported ({exc})",
            f"check {ENTRY_KEY} in templates/{declared.template}/copier.yml",
        ) from exc
    missing = [name for name in REQUIRED if not callable(getattr(module, name, None))]
    error = getattr(module, "Error", None)
    if not (isinstance(error, type) and issubclass(error, Exception)):
        missing = [*(n for n in missing if n != "Error"), "Error (an exception class)"]
    if missing:
        raise BacktestFailed(
            f"template {declared.template!r}: {declared.module} lacks {', '.join(missing)}",
            "give the names mlops.backtest.BacktestEntryPoint lists",
        )
    return module


def _model(entry: Any, path: Path, flag: str) -> Any:
    if not path.is_dir():
        raise UsageError(
            f"{flag} {path}: not a directory", f"pass a model bundle directory to {flag}"
        )
    try:
        return entry.load_model(path)
    except entry.Error as exc:
        message, *fix = exc.args
        raise UsageError(f"{flag} {path}: {message}", *fix[:1]) from exc


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
    declared = declared_backtest(template)
    if declared is None:
        raise UsageError(
            f"use case {request.usecase!r} uses template {template!r}, which declares no "
            f"backtest ({ENTRY_KEY} in templates/{template}/copier.yml)",
            "add a backtest module to that template's inference code and declare it there",
        )
    if (request.data is None) == (request.synthetic is None):
        raise UsageError("pass exactly one of --data FILE and --synthetic N", "see --help")
    current = request.current or default_current()
    if current is None:
        raise UsageError(
            "no current model: --current was not given and no local deployment was found",
            "pass --current BUNDLE_DIR (or run `make demo`, which deploys one locally)",
        )
    entry: Any = entry_point(declared, request.repo)
    generate: Callable[[int, int], Any] | None = getattr(entry, "synthetic_data", None)
    if request.synthetic is not None and not callable(generate):
        raise UsageError(
            f"use case {request.usecase!r}: template {template!r} declares no synthetic data "
            f"generator ({declared.module} has no synthetic_data)",
            "pass --data FILE with historical rows (.parquet, .csv or .jsonl)",
        )
    try:
        if request.data is not None:
            data = entry.load_data(request.data)
        else:
            assert generate is not None and request.synthetic is not None
            data = generate(request.synthetic, request.seed)
        current_rules = entry.load_rules(request.current_rules)
        candidate_rules = entry.load_rules(request.rules)
    except entry.Error as exc:
        raise UsageError(*exc.args) from exc
    current_model = _model(entry, current, "--current")
    with tempfile.TemporaryDirectory(prefix="mlops-backtest-") as tmp:
        candidate = request.candidate
        if isinstance(candidate, str) and is_model_package_arn(candidate):
            candidate = fetch_model_package(candidate, request.usecase, Path(tmp))
        candidate_model = _model(entry, Path(candidate), "--candidate")
        result = entry.compare(
            data,
            (current_model, current_rules),
            (candidate_model, candidate_rules),
            progress=progress,
        )
        return result, entry.write_report(result, request.out)


def summary(request: BacktestRequest, result: dict) -> list[str]:
    """The use case's summary lines of ``result`` (its entry point is already imported)."""
    template = {m.name: m for m in load_manifests()}[request.usecase].template
    declared = declared_backtest(template)
    assert declared is not None
    return list(entry_point(declared, request.repo).summary(result))
