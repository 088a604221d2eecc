"""Use-case manifests: the schema of ``usecases/<name>.yaml`` and the loader.

A manifest is the one definition of a use case. The platform builds a ``UseCase`` component per
manifest; ``mlops onboard`` (CLI or Service Catalog) writes one with :func:`dump_manifest`.
Keys are snake_case. Every bad field gives a ``ManifestError`` naming file, field and fix.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mlops.config import ENVIRONMENTS, REPO_ROOT, Person, StackConfig
from mlops.errors import ManifestError

USECASES_DIR = REPO_ROOT / "usecases"
# Points the loaders (and so the program) at another folder of manifests: benchmarks and tests use
# it to build the platform with generated use cases (bench/bench_program.py). Unset in real runs.
USECASES_DIR_ENV = "MLOPS_USECASES_DIR"
NAME_PATTERN = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
NAME_MAX = 32
# SageMaker serverless inference accepts these memory sizes (MB).
SERVERLESS_MEMORY_MB = (1024, 2048, 3072, 4096, 5120, 6144)
_INSTANCE = r"^ml\.[a-z0-9]+\.[a-z0-9]+$"
_REPO = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
_SEMVER = r"^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$"
_USER = r"^[a-z0-9][a-z0-9-]{0,62}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Owners(_Model):
    lead_data_scientist: str = Field(
        pattern=_USER, description="Studio user of the accountable lead"
    )
    deputy_leads: list[Annotated[str, Field(pattern=_USER)]] = Field(
        default_factory=list, description="further leads who may approve this use case"
    )
    members: list[Annotated[str, Field(pattern=_USER)]] = Field(default_factory=list)

    @property
    def leads(self) -> list[str]:
        """Everyone who may pass this use case's gates: the accountable lead, then deputies."""
        return list(dict.fromkeys([self.lead_data_scientist, *self.deputy_leads]))


class GitSettings(_Model):
    provider: Literal["github", "gitlab", "bitbucket", "codecommit"] = "github"
    training_repo: str = Field(pattern=_REPO)
    inference_repo: str = Field(pattern=_REPO)
    branch: str = Field("main", pattern=r"^[A-Za-z0-9._/-]{1,100}$")

    @model_validator(mode="after")
    def _distinct_repos(self) -> GitSettings:
        if self.training_repo == self.inference_repo:
            raise ValueError("training_repo and inference_repo must be two different repositories")
        return self


class Evaluation(_Model):
    """The registration gate: a model is registered only if `metric` passes `threshold`."""

    metric: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    threshold: float
    direction: Literal["maximize", "minimize"] = "maximize"

    def passes(self, value: float) -> bool:
        return value >= self.threshold if self.direction == "maximize" else value <= self.threshold


class Tuning(_Model):
    max_jobs: int = Field(100, ge=1, le=500)
    max_parallel: int = Field(20, ge=1, le=100)

    @model_validator(mode="after")
    def _parallel_within_jobs(self) -> Tuning:
        if self.max_parallel > self.max_jobs:
            raise ValueError(
                f"max_parallel ({self.max_parallel}) must not exceed max_jobs ({self.max_jobs})"
            )
        return self


class ServerlessEndpoint(_Model):
    mode: Literal["serverless"]
    memory_mb: int = 2048
    max_concurrency: int = Field(5, ge=1, le=200)

    @model_validator(mode="before")
    @classmethod
    def _no_rollout(cls, data: Any) -> Any:
        if isinstance(data, dict) and "rollout" in data:
            raise ValueError(
                "rollout applies to real-time endpoints only: a serverless endpoint takes a new "
                "model all at once (SageMaker has no instance capacity to shift in steps there)"
            )
        return data

    @field_validator("memory_mb")
    @classmethod
    def _memory(cls, v: int) -> int:
        if v not in SERVERLESS_MEMORY_MB:
            raise ValueError(
                f"{v} is not a serverless memory size; use one of {SERVERLESS_MEMORY_MB}"
            )
        return v


class Rollout(_Model):
    """How a real-time endpoint takes a new model: SageMaker deployment guardrails, blue/green
    with traffic shifted in steps and rolled back automatically when an alarm fires (the
    endpoint's errors and latency, and the use case's own alarms such as the investigate share).

    - ``canary``: ``step_percent`` of the capacity first, then after ``wait_seconds`` the rest;
    - ``linear``: ``step_percent`` more every ``wait_seconds``;
    - ``all_at_once``: everything at once, then ``wait_seconds`` of baking (alarms still watch).
    The old fleet stays ``termination_wait_seconds`` after the shift, for an instant rollback.
    """

    traffic: Literal["canary", "linear", "all_at_once"] = "canary"
    step_percent: int = Field(10, ge=1, le=50)
    wait_seconds: int = Field(600, ge=0, le=3600)
    termination_wait_seconds: int = Field(300, ge=0, le=3600)

    @model_validator(mode="after")
    def _steps(self) -> Rollout:
        if self.traffic == "linear" and self.step_percent < 10:
            raise ValueError(
                f"a linear step of {self.step_percent}% is below SageMaker's minimum of 10% "
                "of the new fleet's capacity"
            )
        total = self.wait_seconds * self.steps + self.termination_wait_seconds
        if total > ROLLOUT_MAX_SECONDS:
            raise ValueError(
                f"the rollout takes {total} s ({self.steps} steps of {self.wait_seconds} s plus "
                f"{self.termination_wait_seconds} s), over SageMaker's {ROLLOUT_MAX_SECONDS} s"
            )
        return self

    @property
    def steps(self) -> int:
        """Traffic-shifting steps, each followed by a wait."""
        if self.traffic == "linear":
            return -(-100 // self.step_percent)
        return 2 if self.traffic == "canary" else 1


ROLLOUT_MAX_SECONDS = 28_800
"""A blue/green deployment's longest execution (MaximumExecutionTimeoutInSeconds)."""


class RealtimeEndpoint(_Model):
    mode: Literal["realtime"]
    instance_type: str = Field(pattern=_INSTANCE)
    min_instances: int = Field(1, ge=1, le=100)
    max_instances: int = Field(2, ge=1, le=100)
    rollout: Rollout = Rollout()

    @model_validator(mode="after")
    def _range(self) -> RealtimeEndpoint:
        if self.min_instances > self.max_instances:
            raise ValueError(
                f"min_instances ({self.min_instances}) must not exceed "
                f"max_instances ({self.max_instances})"
            )
        return self


Endpoint = Annotated[ServerlessEndpoint | RealtimeEndpoint, Field(discriminator="mode")]


FUNCTION_CONCURRENCY_MAX = 900
"""Reserved concurrency per serving function: AWS keeps 100 of an account's default 1,000
concurrent executions unreserved."""


class StackSettings(_Model):
    training_instance_type: str = Field("ml.m5.xlarge", pattern=_INSTANCE)
    processing_instance_type: str = Field("ml.m5.large", pattern=_INSTANCE)
    endpoint: Endpoint
    function_concurrency: int = Field(10, ge=1, le=FUNCTION_CONCURRENCY_MAX)
    """Reserved concurrency of each serving Lambda (encode, market, decide) in this stage: caps
    what one use case can take from the account's pool and guarantees it that much."""


class PerStack(_Model):
    dev: StackSettings
    staging: StackSettings
    prod: StackSettings

    def for_env(self, env: str) -> StackSettings:
        return getattr(self, env)


ENTRY_POINT_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$"
"""``<module>:<attribute>``, as in console-script entry points (``remedy_core.events:REGISTRY``)."""
EntryPoint = Annotated[str, Field(pattern=ENTRY_POINT_PATTERN)]


class AnalyticsEntryPoints(_Model):
    """Where the platform finds the use case's analytics code: ``<module>:<attribute>`` references
    into the use case's own packages. The platform knows no use case's events or charts; it
    imports these when a command needs them (``mlops analytics refresh``, ``mlops dashboard``:
    :mod:`mlops.analytics.usecase`), never while loading the manifest."""

    events: EntryPoint = Field(description="an mlops.events.EventRegistry: tables and views")
    dashboard: EntryPoint | None = Field(
        None, description="an mlops.analytics.dashboard.DashboardRenderer (writes the pages)"
    )


class UseCaseManifest(_Model):
    """One use case: ``usecases/<name>.yaml``."""

    name: str = Field(max_length=NAME_MAX, pattern=NAME_PATTERN)
    description: str = Field("", max_length=256)
    template: str = Field(pattern=NAME_PATTERN, max_length=64)
    template_version: str = Field(pattern=_SEMVER)
    owners: Owners
    git: GitSettings
    evaluation: Evaluation
    tuning: Tuning = Tuning()
    data_classification: Literal["public", "internal", "confidential", "restricted"]
    stacks: PerStack
    analytics: AnalyticsEntryPoints | None = None

    def check_against_stack(self, cfg: StackConfig, source: str = "") -> None:
        """Rules that need the stack: every lead must be one of the stack's lead data scientists."""
        leads = [p.user for p in cfg.people.lead_data_scientists]
        source = source or f"usecases/{self.name}.yaml"
        fields = [("owners.lead_data_scientist", self.owners.lead_data_scientist)]
        fields += [("owners.deputy_leads", u) for u in self.owners.deputy_leads]
        for field, lead in fields:
            if lead not in leads:
                raise ManifestError(
                    f"{source}: {field} {lead!r} is not a "
                    f"lead data scientist of stack {cfg.environment} ({', '.join(leads)})",
                    f"use one of {', '.join(leads)}, or add the person to "
                    f"mlops-platform:people.leadDataScientists in Pulumi.{cfg.environment}.yaml",
                )

    def lead_people(self, cfg: StackConfig) -> list[Person]:
        """The use case's leads as the stack's people (user and e-mail)."""
        self.check_against_stack(cfg)
        by_user = {p.user: p for p in cfg.people.lead_data_scientists}
        return [by_user[u] for u in self.owners.leads]

    def check_against_template(self, gate_metrics: Mapping[str, str], source: str = "") -> None:
        """The gate must use a metric the template's evaluation reports, in its direction:
        `gate_metrics` is the template's ``template_gate_metrics`` ({metric: direction})."""
        source = source or f"usecases/{self.name}.yaml"
        metric, direction = self.evaluation.metric, self.evaluation.direction
        known = ", ".join(f"{m} ({d})" for m, d in sorted(gate_metrics.items()))
        if metric not in gate_metrics:
            raise ManifestError(
                f"{source}: evaluation.metric {metric!r} is not reported by template "
                f"{self.template!r}, so the gate could never pass",
                f"gate on one of the metrics the template reports: {known}",
            )
        if gate_metrics[metric] != direction:
            raise ManifestError(
                f"{source}: evaluation.direction is {direction!r} but {metric} is better when "
                f"it is {'higher' if gate_metrics[metric] == 'maximize' else 'lower'}",
                f"set evaluation.direction: {gate_metrics[metric]}",
            )


def check_manifest_against_template(manifest: UseCaseManifest, source: str = "") -> None:
    """`check_against_template` with the template named by the manifest (templates/<name>)."""
    from mlops.onboarding.templates import get_template

    manifest.check_against_template(get_template(manifest.template).gate_metrics, source)


# --- errors ---------------------------------------------------------------------------------
_FIXES = {
    "name": f"use lower-case letters, digits and single hyphens, at most {NAME_MAX} characters "
    "(e.g. remedy or fraud-triage), and name the file <name>.yaml",
    "template": "use the name of a folder in templates/ (e.g. remedy)",
    "template_version": "use a semantic version such as 0.1.0",
    "owners": "set owners.lead_data_scientist (and any owners.deputy_leads) to Studio users "
    "listed as lead data scientists",
    "git": "set git.provider (github, gitlab, bitbucket or codecommit), git.training_repo and "
    "git.inference_repo (two different repository names)",
    "evaluation": "set evaluation.metric (snake_case), evaluation.threshold (a number) and "
    "evaluation.direction (maximize or minimize)",
    "tuning": "keep 1 <= tuning.max_parallel <= tuning.max_jobs <= 500 (defaults 20 and 100)",
    "data_classification": "use one of public, internal, confidential, restricted",
    "stacks": "give stacks.dev, stacks.staging and stacks.prod, each with instance types like "
    "ml.m5.large and an endpoint: {mode: serverless, memory_mb, max_concurrency} or "
    "{mode: realtime, instance_type, min_instances, max_instances, rollout: {traffic: canary "
    "or linear or all_at_once, step_percent: 1..50 (linear 10..50), wait_seconds: 0..3600, "
    "termination_wait_seconds: 0..3600}}",
    "description": "keep the description under 256 characters",
    "analytics": "set analytics.events (required) and analytics.dashboard to <module>:<attribute> "
    "references into the use case's packages, e.g. events: remedy_core.events:REGISTRY and "
    "dashboard: remedy_core.dashboard:render",
}


def _format_error(exc: ValidationError, source: str) -> ManifestError:
    lines, fixes = [], []
    for e in exc.errors():
        loc = [str(p) for p in e["loc"]]
        # drop the discriminator tag pydantic inserts for tagged unions (endpoint.realtime.x)
        if "endpoint" in loc:
            loc = [p for p in loc if p not in ("serverless", "realtime")]
        field = ".".join(loc) or "<root>"
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "missing":
            msg = "is required but missing"
        elif e["type"] == "extra_forbidden":
            msg = "is not a known field (check the spelling; keys are snake_case)"
        elif e["type"] == "union_tag_invalid":
            msg = "endpoint.mode must be serverless or realtime"
        elif e["type"] == "string_pattern_mismatch":
            msg = f"{e.get('input')!r} has the wrong format"
        lines.append(f"{field}: {msg}")
        if loc and loc[0] in _FIXES:
            fixes.append(_FIXES[loc[0]])
    fix = "; ".join(dict.fromkeys(fixes)) or f"edit {source}"
    return ManifestError(f"invalid use-case manifest {source}:\n  " + "\n  ".join(lines), fix)


def parse_manifest(data: Any, source: str = "<manifest>") -> UseCaseManifest:
    if not isinstance(data, dict):
        raise ManifestError(
            f"{source} must be a YAML mapping of fields, got {type(data).__name__}",
            "start from usecases/remedy.yaml",
        )
    try:
        return UseCaseManifest.model_validate(data)
    except ValidationError as exc:
        raise _format_error(exc, source) from None


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def load_manifest(path: Path) -> UseCaseManifest:
    """Load one manifest; its `name` must equal the file stem."""
    source = _display(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ManifestError(f"{source} not found", "run `mlops onboard` to create it") from None
    except yaml.YAMLError as exc:
        raise ManifestError(f"{source} is not valid YAML: {exc}", "fix the YAML syntax") from None
    manifest = parse_manifest(data, source)
    if manifest.name != path.stem:
        raise ManifestError(
            f"{source}: name {manifest.name!r} does not match the file name {path.name!r}",
            f"rename the file to {manifest.name}.yaml or set name: {path.stem}",
        )
    return manifest


def usecases_dir() -> Path:
    """`usecases/`, or the folder named by $MLOPS_USECASES_DIR when it is set."""
    override = os.environ.get(USECASES_DIR_ENV)
    return Path(override) if override else USECASES_DIR


def manifest_paths(directory: Path | None = None) -> list[Path]:
    directory = directory or usecases_dir()
    return sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])


def load_manifests(directory: Path | None = None) -> list[UseCaseManifest]:
    """Every manifest in `directory` (default: `usecases_dir()`), sorted by name; duplicate names
    are rejected."""
    seen: dict[str, Path] = {}
    manifests = []
    for path in manifest_paths(directory):
        manifest = load_manifest(path)
        if manifest.name in seen:
            raise ManifestError(
                f"use case {manifest.name!r} is defined twice: {_display(seen[manifest.name])} "
                f"and {_display(path)}",
                "keep one manifest per use case (delete the duplicate file)",
            )
        seen[manifest.name] = path
        manifests.append(manifest)
    check_prefix_free([m.name for m in manifests])
    check_artifact_prefixes([m.name for m in manifests])
    return sorted(manifests, key=lambda m: m.name)


def check_prefix_free(names: Iterable[str]) -> None:
    """No use-case name may be another's name plus `-...` (`remedy`, `remedy-v2`): IAM statements
    scope a use case to `mlops-<env>-<name>-*`, which would otherwise reach the other use case."""
    ordered = sorted(names)
    for a in ordered:
        for b in ordered:
            if b.startswith(a + "-"):
                raise ManifestError(
                    f"use-case names {a!r} and {b!r} overlap: {b!r} starts with {a!r}-, so "
                    f"permissions scoped to {a}-* would also reach {b}",
                    f"rename {b!r} so it does not start with {a!r}- (e.g. {b.replace('-', '', 1)})",
                )


def check_manifests_against_stack(manifests: Iterable[UseCaseManifest], cfg: StackConfig) -> None:
    for manifest in manifests:
        manifest.check_against_stack(cfg)


def dump_manifest(manifest: UseCaseManifest) -> str:
    """YAML for ``usecases/<name>.yaml`` (what `mlops onboard` writes); round-trips through load."""
    data = manifest.model_dump(
        mode="json", exclude={"analytics"} if not manifest.analytics else None
    )
    header = f"# Use case {manifest.name}. Schema: mlops/usecases.py (UseCaseManifest).\n"
    return header + yaml.safe_dump(data, sort_keys=False, default_flow_style=False)


def is_valid_name(name: str) -> bool:
    return len(name) <= NAME_MAX and re.fullmatch(NAME_PATTERN, name) is not None


__all__ = [
    "ENVIRONMENTS",
    "AnalyticsEntryPoints",
    "Evaluation",
    "GitSettings",
    "Owners",
    "RealtimeEndpoint",
    "Rollout",
    "ServerlessEndpoint",
    "StackSettings",
    "Tuning",
    "UseCaseManifest",
    "check_manifest_against_template",
    "dump_manifest",
    "load_manifest",
    "load_manifests",
    "parse_manifest",
]


def check_artifact_prefixes(names: Iterable[str]) -> None:
    """The key prefixes use cases own in the shared pipeline-artifacts bucket are distinct
    (CodePipeline keeps only the first 20 characters of a pipeline's name: `mlops-dev-` and ten of
    `<usecase>-build` / `<usecase>-deploy`), so one use case's builds never reach another's."""
    from mlops.naming import NameContext, artifact_prefixes

    ctx = NameContext("dev", "000000000000", "eu-west-2")  # prefixes depend on the name only
    owner: dict[str, str] = {}
    for name in sorted(names):
        for prefix in artifact_prefixes(ctx, name):
            other = owner.setdefault(prefix, name)
            if other != name:
                raise ManifestError(
                    f"use cases {other!r} and {name!r} would share the artifact prefix "
                    f"{prefix!r} (CodePipeline keeps 20 characters of a pipeline's name), so "
                    "each could read and overwrite the other's build artifacts",
                    f"rename {name!r} so its first ten characters differ from {other!r}'s",
                )
