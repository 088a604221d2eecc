"""Run every program of one use case's estate under the recording mocks, in deployment order.

The estate of a use case is: the bootstrap program (the one state backend, in the governance
account) and the platform program for every stack file (dev, staging, prod and any other), and the
use case's rendered inference repo for each stage (dev, staging, prod), deployed with
an approved model package (what the promotion flow deploys). Each run records its resources, its
exports, the runtime actors its components declared (`mlops.rehearsal.declare`) and the
StackReferences it read — with the backend each one was looked up in.

StackReferences are answered with the referenced program's *recorded* exports (not hand-written
stand-ins), so a reference to an output the other program does not export fails here as it would
in AWS; whether the referenced stack's state is in the referencing program's backend is checked
by the platform-up scenario.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import runpy
import shutil
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops import backends
from mlops.config import (
    ENVIRONMENTS,
    PROJECT,
    REPO_ROOT,
    StackConfig,
    flatten_for_mocks,
    load_all_stack_configs,
    read_stack_file,
)
from mlops.rehearsal import declare
from mlops.rehearsal.model import Actor
from mlops.testing.mocks import RecordedResource, RecordingMocks, install, run
from mlops.usecases import UseCaseManifest, load_manifests

REFERENCE_TYPE = "pulumi:pulumi:StackReference"
CACHE_DIR = REPO_ROOT / ".mlops" / "rehearsal"


@dataclass(frozen=True)
class StackReferenceRead:
    """A StackReference a program made: the name it asked for, and the backend it was in."""

    name: str
    backend_url: str
    resolved_from: str | None
    """Program whose exports answered it (None: no program of the estate has that name)."""


@dataclass
class ProgramRun:
    name: str
    """``bootstrap/dev``, ``platform/staging``, ``remedy-inference/prod``."""
    project: str
    stack: str
    environment: str
    account: str
    region: str
    backend_url: str
    resources: list[RecordedResource] = field(default_factory=list)
    exports: dict[str, Any] = field(default_factory=dict)
    actors: list[Actor] = field(default_factory=list)
    references: list[StackReferenceRead] = field(default_factory=list)
    config: dict[str, str] = field(default_factory=dict)
    program_path: str = ""

    @property
    def fqn(self) -> str:
        return backends.stack_fqn(self.project, self.stack)

    def custom_resources(self) -> list[RecordedResource]:
        return [r for r in self.resources if r.custom and r.type != REFERENCE_TYPE]


@contextlib.contextmanager
def _capture_exports(sink: dict[str, Any]) -> Iterator[None]:
    """Record `pulumi.export` values (the mocks' stack resource never receives them)."""
    import pulumi

    original = pulumi.export

    def export(name: str, value: Any) -> None:
        original(name, value)
        pulumi.Output.from_input(value).apply(lambda v: sink.__setitem__(name, v))

    pulumi.export = export
    try:
        yield
    finally:
        pulumi.export = original


@contextlib.contextmanager
def _import_path(paths: Sequence[Path], isolate: Sequence[str]) -> Iterator[None]:
    """Put `paths` first on sys.path and give the packages named in `isolate` a fresh import
    (another rendered copy may be cached in this process); restore both afterwards."""

    def owned(mod: str) -> bool:
        return any(mod == p or mod.startswith(p + ".") for p in isolate)

    saved = {k: v for k, v in sys.modules.items() if owned(k)}
    for key in saved:
        del sys.modules[key]
    sys.path[:0] = [str(p) for p in paths]
    try:
        yield
    finally:
        for key in [k for k in sys.modules if owned(k)]:
            del sys.modules[key]
        sys.modules.update(saved)
        for p in paths:
            with contextlib.suppress(ValueError):
                sys.path.remove(str(p))


def run_program(
    *,
    name: str,
    project: str,
    stack: str,
    environment: str,
    account: str,
    region: str,
    backend_url: str,
    program: Path,
    config: Mapping[str, str],
    references: Mapping[str, tuple[str, Mapping[str, Any]]] | None = None,
    import_paths: Sequence[Path] = (),
    isolate: Sequence[str] = (),
    az_count: int = 3,
) -> ProgramRun:
    """Run one Pulumi program under the recording mocks and collect what the rehearsal needs.

    `references`: {stack reference name: (program name, its exports)} for the names this program
    may read; any other name resolves to no outputs (and is recorded as unresolved).
    """
    references = dict(references or {})
    mocks = RecordingMocks(
        account_id=account,
        region=region,
        az_count=az_count,
        stack_outputs={ref: outputs for ref, (_, outputs) in references.items()},
    )
    install(mocks, stack, dict(config), project=project)
    result = ProgramRun(
        name=name,
        project=project,
        stack=stack,
        environment=environment,
        account=account,
        region=region,
        backend_url=backend_url,
        config=dict(config),
        program_path=str(program),
    )
    with (
        declare.collecting() as actors,
        _capture_exports(result.exports),
        _import_path(import_paths, isolate),
    ):
        run(lambda: runpy.run_path(str(program), run_name="__main__"))
    result.resources = list(mocks.resources)
    result.actors = [dataclasses.replace(a, program=name) for a in actors]
    for r in mocks.resources:
        if r.type == REFERENCE_TYPE:
            ref = str(r.inputs.get("name") or r.name)
            owner = references.get(ref, (None, {}))[0]
            result.references.append(StackReferenceRead(ref, backend_url, owner))
    return result


# --- the estate's programs -------------------------------------------------------------------
def bootstrap_run(cfg: StackConfig, root: Path = REPO_ROOT, stack: str | None = None) -> ProgramRun:
    """`stack`: the stack's name (default: its kind, for the canonical stacks)."""
    env = cfg.environment
    stack = stack or env
    return run_program(
        name=f"bootstrap/{stack}",
        project=backends.BOOTSTRAP_PROJECT,
        stack=stack,
        environment=env,
        account=cfg.account_id,
        region=cfg.region,
        backend_url=backends.BOOTSTRAP_BACKEND,
        program=root / "bootstrap" / "__main__.py",
        config={},
    )


def platform_run(
    cfg: StackConfig,
    earlier: Mapping[str, ProgramRun],
    root: Path = REPO_ROOT,
    stack: str | None = None,
) -> ProgramRun:
    """`stack`: the stack's name (default: its kind, for the canonical stacks)."""
    env = cfg.environment
    stack = stack or env
    refs = {
        run_.fqn: (run_.name, run_.exports) for run_ in earlier.values() if run_.project == PROJECT
    }
    return run_program(
        name=f"platform/{stack}",
        project=PROJECT,
        stack=stack,
        environment=env,
        account=cfg.account_id,
        region=cfg.region,
        backend_url=backends.platform_backend_url(cfg),
        program=root / "platform" / "__main__.py",
        config=flatten_for_mocks(read_stack_file(stack, root)),
        references=refs,
        az_count=max(3, cfg.network.az_count),
    )


def approved_package_arn(cfg: StackConfig, usecase: str, version: int = 1) -> str:
    """The package the promotion flow deploys: version `version` of the use case's group in the
    dev registry."""
    from mlops.naming import NameContext, model_package_group_name

    dev = NameContext("dev", cfg.accounts.dev, cfg.region)
    group = model_package_group_name(dev, usecase)
    return f"arn:aws:sagemaker:{cfg.region}:{cfg.accounts.dev}:model-package/{group}/{version}"


def render_repo_for(manifest: UseCaseManifest, cfg: StackConfig, kind: str) -> Path:
    """One of the use case's two repos (`kind`: training or inference) rendered from its template
    (cached by template content and answers), exactly as `mlops onboard` renders it."""
    from mlops.onboarding import (
        TemplateStore,
        content_hash,
        get_template,
        render_repo,
        validate_answers,
    )

    info = get_template(manifest.template)
    lead = next(
        p for p in cfg.people.lead_data_scientists if p.user == manifest.owners.lead_data_scientist
    )
    answers = validate_answers(
        info,
        {
            "usecase_name": manifest.name,
            "owner_email": lead.email,
            "aws_region": cfg.region,
            **{f"{env}_account_id": cfg.accounts.for_env(env) for env in ENVIRONMENTS},
        },
        repo_kind=kind,
    )
    key = content_hash(info.path) + "-" + _digest(answers)
    dst = CACHE_DIR / f"{manifest.name}-{kind}-{key}"
    if (dst / ".copier-answers.yml").is_file():
        return dst
    store = TemplateStore(str(CACHE_DIR / "template-store"))
    tag = store.snapshot(info)
    tmp = dst.with_name(f"{dst.name}.tmp-{os.getpid()}")
    origin = (store.url(info.name), tag)
    render_repo(store.checkout(info.name, tag), origin, tmp, answers, kind)
    try:
        tmp.rename(dst)
    except OSError:  # rendered meanwhile by another process: keep theirs
        shutil.rmtree(tmp, ignore_errors=True)
    return dst


def render_inference_repo(manifest: UseCaseManifest, cfg: StackConfig) -> Path:
    return render_repo_for(manifest, cfg, "inference")


def _digest(values: Mapping[str, Any]) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:12]


def inference_run(
    manifest: UseCaseManifest,
    cfg: StackConfig,
    repo: Path,
    platform: ProgramRun,
    model_package_arn: str | None,
    deploy_config: Mapping[str, str] | None = None,
) -> ProgramRun:
    """The inference program of one stage, as the deploy build runs it: the rendered stack file
    plus what the build sets (`modelPackageArn`, the stage's endpoint settings)."""
    import yaml

    env = cfg.environment
    project = yaml.safe_load((repo / "Pulumi.yaml").read_text())["name"]
    raw = yaml.safe_load((repo / f"Pulumi.{env}.yaml").read_text()).get("config") or {}
    config = flatten_for_mocks(raw)
    if model_package_arn:
        config[f"{project}:modelPackageArn"] = model_package_arn
    for key, value in (deploy_config or {}).items():
        config[f"{project}:{key}"] = value
    platform_ref = config.get(f"{project}:platformStack", "")
    return run_program(
        name=f"{project}/{env}",
        project=project,
        stack=env,
        environment=env,
        account=config.get(f"{project}:accountId", cfg.account_id),
        region=cfg.region,
        backend_url=backends.inference_backend_url(cfg),
        program=repo / "infra" / "__main__.py",
        config=config,
        references={platform.fqn: (platform.name, platform.exports)}
        if platform_ref == platform.fqn
        else {},
        import_paths=[repo / "src"],
        isolate=[p.name for p in (repo / "src").iterdir() if p.is_dir()],
    )


@dataclass
class EstateRuns:
    usecase: str
    manifest: UseCaseManifest
    configs: dict[str, StackConfig]
    """Every stack by name (dev, staging, prod and any other stack file), in deployment order."""
    runs: dict[str, ProgramRun]
    """In deployment order: bootstrap/<stack> of each governance (dev) stack (the shared state
    backend), platform/<stack> for every stack, <usecase>-inference/dev, .../staging, .../prod."""

    def by_environment(self, kind: str) -> dict[str, ProgramRun]:
        """Runs of `kind` (bootstrap, platform, ...) by stack name."""
        return {r.stack: r for r in self.runs.values() if r.name.startswith(kind + "/")}

    def platform(self, env: str) -> ProgramRun:
        return self.runs[f"platform/{env}"]


PEER = "peercase"
"""A second, generated use case the platform stacks also carry, so the rehearsal can check that
one use case's builds and roles cannot reach another's artifacts."""


def _common_leads() -> set[str]:
    """Lead data scientists of every stack (a manifest's leads must be leads everywhere)."""
    configs = load_all_stack_configs()
    sets = [{p.user for p in c.people.lead_data_scientists} for c in configs.values()]
    return set.intersection(*sets) if sets else set()


@contextlib.contextmanager
def _with_peer(manifest: UseCaseManifest) -> Iterator[None]:
    """The platform reads `usecases/` plus a peer manifest (a copy of `manifest` renamed)."""
    import yaml

    from mlops.usecases import USECASES_DIR_ENV, manifest_paths

    folder = CACHE_DIR / "usecases"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.yaml"):
        old.unlink()
    for path in manifest_paths():
        shutil.copy(path, folder / path.name)
    data = manifest.model_dump(mode="json")
    data["name"] = PEER
    data["description"] = f"Rehearsal peer of {manifest.name}"
    data["git"] = {**data["git"], "training_repo": f"{PEER}-training",
                   "inference_repo": f"{PEER}-inference"}  # fmt: skip
    # led by another lead of the stacks when there is one, so one use case's lead can be shown
    # unable to approve the other's promotions
    others = sorted(_common_leads() - set(manifest.owners.leads))
    if others:
        data["owners"] = {**data["owners"], "lead_data_scientist": others[0], "deputy_leads": []}
    (folder / f"{PEER}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    previous = os.environ.get(USECASES_DIR_ENV)
    os.environ[USECASES_DIR_ENV] = str(folder)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(USECASES_DIR_ENV, None)
        else:
            os.environ[USECASES_DIR_ENV] = previous


#: off-by-default features the rehearsal turns on (stack config on top of the rendered stack
#: file) so their runtime paths are evaluated too: the Snowflake ingest in prod.
OPTIONAL_FEATURES: dict[str, dict[str, str]] = {
    "prod": {
        "analytics": json.dumps(
            {
                "transformLambda": True,
                "snowflake": {
                    "account": "REHEARSAL-ANALYTICS",
                    "database": "MLOPS",
                    "awsIamUserArn": "arn:aws:iam::999999999999:user/rehearsal-snowflake",
                    "externalId": "mlops-prod-rehearsal-ingest",
                },
            }
        )
    }
}


def build_estate_runs(usecase: str = "remedy", root: Path = REPO_ROOT) -> EstateRuns:
    configs = load_all_stack_configs(root)
    manifests = {m.name: m for m in load_manifests()}
    if usecase not in manifests:
        from mlops.errors import ConfigError

        raise ConfigError(
            f"no manifest for use case {usecase!r} in usecases/",
            f"use one of: {', '.join(sorted(manifests)) or '(none)'}",
        )
    manifest = manifests[usecase]
    runs: dict[str, ProgramRun] = {}
    # the one state backend of each governance stack, in the account that holds it
    for stack, cfg in configs.items():
        if backends.holds_state(cfg):
            runs[f"bootstrap/{stack}"] = bootstrap_run(cfg, root, stack)
    with _with_peer(manifest):
        for stack, cfg in configs.items():
            runs[f"platform/{stack}"] = platform_run(cfg, runs, root, stack)
    repo = render_inference_repo(manifest, configs["dev"])
    package = approved_package_arn(configs["dev"], usecase)
    for env in ENVIRONMENTS:
        options = OPTIONAL_FEATURES.get(env)
        result = inference_run(
            manifest, configs[env], repo, runs[f"platform/{env}"], package, options
        )
        runs[result.name] = result
    return EstateRuns(usecase=usecase, manifest=manifest, configs=configs, runs=runs)
