"""Typed stack configuration.

One pydantic model holds everything a stack needs. The Pulumi program loads it from
``pulumi.Config`` (``load_from_pulumi``); tools and tests load the same model from
``Pulumi.<stack>.yaml`` (``load_stack_config``). Keys are camelCase in YAML, as Pulumi users expect.
Every validation error names the full config key and says how to fix it.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from mlops.errors import ConfigError

PROJECT = "mlops-platform"
ENVIRONMENTS: tuple[str, ...] = ("dev", "staging", "prod")
"""The environment kinds. A stack's kind (`mlops-platform:environment`) is separate from its name:
`Pulumi.dev.yaml`, `Pulumi.staging.yaml` and `Pulumi.prod.yaml` are the canonical stacks, and any
other `Pulumi.<name>.yaml` (a prod stack in another region, a business unit's own accounts) is
just another stack of one of these kinds."""
Environment = Literal["dev", "staging", "prod"]
STACK_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
# CloudWatch Logs accepts only these retention values (days).
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
)  # fmt: skip

REPO_ROOT = Path(__file__).resolve().parent.parent


SSO_ADMIN = "AWSReservedSSO_PlatformAdministrator"
"""The landing zone's administrator permission set role (docs/deploy.md, prerequisites): runs
`pulumi up` where no deployRoleArn is configured."""


class FieldError(ValueError):
    """A validation error about a nested setting: `path` (camelCase keys) is appended to the
    location pydantic reports, so the message names the exact key."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


def _account_id(value: str) -> str:
    value = str(value)
    if not (len(value) == 12 and value.isdigit()):
        raise ValueError(f"must be a 12-digit AWS account id (quoted in YAML), got {value!r}")
    return value


class Accounts(_Model):
    """One AWS account per stack; dev also hosts governance (registry, CI/CD, Service Catalog)."""

    dev: str
    staging: str
    prod: str

    _check = field_validator("dev", "staging", "prod", mode="before")(lambda cls, v: _account_id(v))

    @model_validator(mode="after")
    def _distinct(self) -> Accounts:
        ids = [self.dev, self.staging, self.prod]
        if len(set(ids)) != len(ids):
            raise ValueError("dev, staging and prod must be three different AWS accounts")
        return self

    def for_env(self, env: str) -> str:
        return getattr(self, env)


class NetworkConfig(_Model):
    vpc_cidr: ipaddress.IPv4Network
    az_count: int = Field(2, ge=1, le=6)
    nat_gateway: bool = False
    existing_vpc_id: str | None = Field(None, pattern=r"^vpc-[0-9a-f]{8,17}$")
    existing_private_subnet_ids: list[str] = Field(default_factory=list)

    @field_validator("vpc_cidr")
    @classmethod
    def _private_and_sized(cls, v: ipaddress.IPv4Network) -> ipaddress.IPv4Network:
        if not v.is_private:
            raise ValueError(f"{v} is not a private (RFC 1918) range")
        if not 16 <= v.prefixlen <= 24:
            raise ValueError(f"{v} must be between /16 and /24 to fit the private subnets")
        return v

    @model_validator(mode="after")
    def _existing_vpc_needs_subnets(self) -> NetworkConfig:
        if self.existing_vpc_id and len(self.existing_private_subnet_ids) < self.az_count:
            raise ValueError(
                "existingVpcId needs existingPrivateSubnetIds with at least azCount subnets"
            )
        return self


class GitConfig(_Model):
    provider: Literal["github", "gitlab", "bitbucket", "codecommit"] = "github"
    owner: str = Field(min_length=1, description="organisation or group owning use-case repos")
    connection_arn: str | None = Field(
        None, pattern=r"^arn:aws:(codeconnections|codestar-connections):"
    )


class Person(_Model):
    user: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$", description="Studio user-profile name")
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class IdentityCenter(_Model):
    """The organisation's IAM Identity Center: with an instance, the dev stack creates the persona
    permission sets (docs/identity.md); without, they are created from the docs."""

    instance_arn: str = Field(pattern=r"^arn:aws:sso:::instance/(sso)?ins-[a-zA-Z0-9-.]{16}$")
    data_scientist_group_id: str | None = Field(None, min_length=1)
    lead_data_scientist_group_id: str | None = Field(None, min_length=1)


class People(_Model):
    data_scientists: list[Person] = Field(default_factory=list)
    lead_data_scientists: list[Person] = Field(min_length=1)
    identity_center: IdentityCenter | None = None

    @model_validator(mode="after")
    def _unique_users(self) -> People:
        users = [p.user for p in [*self.data_scientists, *self.lead_data_scientists]]
        dupes = sorted({u for u in users if users.count(u) > 1})
        if dupes:
            raise ValueError(f"user names must be unique across both lists: {', '.join(dupes)}")
        return self


LockMode = Literal["GOVERNANCE", "COMPLIANCE"]


class Retention(_Model):
    log_days: int = 90
    audit_years: int = Field(7, ge=1, le=10)
    data_noncurrent_days: int = Field(90, ge=1)
    audit_lock_mode: LockMode | None = None
    """Object Lock mode of the audit bucket: COMPLIANCE (no one, not even root, can shorten or
    remove the retention) outside dev; GOVERNANCE (privileged bypass) is allowed only in dev.
    Default: GOVERNANCE in dev, COMPLIANCE elsewhere."""

    @field_validator("log_days")
    @classmethod
    def _cloudwatch_value(cls, v: int) -> int:
        if v not in LOG_RETENTION_DAYS:
            raise ValueError(f"{v} is not a CloudWatch retention; use one of {LOG_RETENTION_DAYS}")
        return v


# --- landing-zone coexistence ------------------------------------------------------------------
ServiceMode = Literal["create", "adopt", "organization"]
"""create: this stack creates it (a fresh account); adopt: this stack imports the existing one
(pulumi `import_`) and manages it from then on; organization: Control Tower or a delegated
administrator owns it, this stack creates nothing for it."""


class _LandingZoneService(_Model):
    mode: ServiceMode = "create"

    def _ids(self) -> dict[str, str | None]:
        """The settings that identify the existing resource (camelCase key -> value)."""
        return {}

    @model_validator(mode="after")
    def _ids_only_when_adopting(self) -> _LandingZoneService:
        for key, value in self._ids().items():
            if self.mode == "adopt" and not value:
                raise FieldError(
                    key,
                    f"is required with mode: adopt (the existing resource to import); "
                    f"{self._where(key)}",
                )
            if self.mode != "adopt" and value:
                raise FieldError(
                    key, f"is only used with mode: adopt (mode is {self.mode}); remove it"
                )
        return self

    def _where(self, key: str) -> str:
        return "see docs/deploy.md, 'Landing zone'"


class GuardDutyLandingZone(_LandingZoneService):
    detector_id: str | None = Field(None, pattern=r"^[0-9a-f]{32}$")

    def _ids(self) -> dict[str, str | None]:
        return {"detectorId": self.detector_id}

    def _where(self, key: str) -> str:
        return "find it with `aws guardduty list-detectors`"


class ConfigLandingZone(_LandingZoneService):
    recorder_name: str | None = Field(None, min_length=1, max_length=256)
    delivery_channel_name: str | None = Field(None, min_length=1, max_length=256)

    def _ids(self) -> dict[str, str | None]:
        return {
            "recorderName": self.recorder_name,
            "deliveryChannelName": self.delivery_channel_name,
        }

    def _where(self, key: str) -> str:
        if key == "recorderName":
            return "find it with `aws configservice describe-configuration-recorders`"
        return "find it with `aws configservice describe-delivery-channels`"


class CloudTrailLandingZone(_LandingZoneService):
    trail_arn: str | None = Field(
        None, pattern=r"^arn:aws[a-z-]*:cloudtrail:[a-z0-9-]+:\d{12}:trail/[A-Za-z0-9._-]{3,128}$"
    )

    def _ids(self) -> dict[str, str | None]:
        return {"trailArn": self.trail_arn}

    def _where(self, key: str) -> str:
        return "find it with `aws cloudtrail describe-trails` (trailARN)"

    @property
    def trail_name(self) -> str | None:
        return self.trail_arn.rsplit("/", 1)[1] if self.trail_arn else None


class InspectorLandingZone(_LandingZoneService):
    """Adopting Inspector needs no id: the enabler is identified by account and resource types."""


class LandingZone(_Model):
    """Per account-and-region singleton service: who owns it (default: this stack creates it)."""

    guardduty: GuardDutyLandingZone = GuardDutyLandingZone()
    config: ConfigLandingZone = ConfigLandingZone()
    cloudtrail: CloudTrailLandingZone = CloudTrailLandingZone()
    inspector: InspectorLandingZone = InspectorLandingZone()


class Tags(_Model):
    owner: str = Field(min_length=1)
    cost_centre: str = Field(min_length=1)
    data_classification: Literal["public", "internal", "confidential", "restricted"]


class StackConfig(_Model):
    """Everything one stack (one AWS account) needs."""

    environment: Environment
    region: str = Field("eu-west-2", pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
    accounts: Accounts
    network: NetworkConfig
    git: GitConfig
    people: People
    retention: Retention = Retention()
    tags: Tags
    deploy_role_arn: str | None = Field(
        None, pattern=r"^arn:aws:iam::\d{12}:role/", description="role to assume for this account"
    )
    break_glass_role_arn: str | None = Field(
        None,
        pattern=r"^arn:aws:iam::\d{12}:role/",
        description="role that may administer the KMS keys in an MFA session (staging, prod)",
    )
    governance_stack: str | None = Field(None, pattern=STACK_NAME.pattern)
    """staging/prod kinds: the dev-kind stack whose registry, artifacts and deploy builds this
    stack serves (default `dev`). A dev stack is its own governance stack."""
    governance_region: str | None = Field(None, pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
    """staging/prod kinds in another region than their governance stack: its region (where the
    registry, the artifacts and the inference stacks' state live); default this stack's region."""
    landing_zone: LandingZone = LandingZone()

    @field_validator("governance_stack", "governance_region")
    @classmethod
    def _governance_of_targets_only(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is not None and info.data.get("environment") == "dev":
            key = _KEYS_OF.get(info.field_name or "", info.field_name)
            raise ValueError(
                f"a dev stack is its own governance stack: remove {key} (it says which dev "
                "stack a staging or prod stack belongs to, and where that stack is)"
            )
        return v

    @field_validator("landing_zone")
    @classmethod
    def _adopted_trail_in_this_account(cls, v: LandingZone, info: ValidationInfo) -> LandingZone:
        accounts, env = info.data.get("accounts"), info.data.get("environment")
        arn = v.cloudtrail.trail_arn
        if arn and accounts and env and arn.split(":")[4] != accounts.for_env(env):
            raise FieldError(
                "cloudtrail.trailArn",
                f"is in account {arn.split(':')[4]}, not this stack's {accounts.for_env(env)}: "
                "only a trail of this account can be adopted (an organisation trail of the "
                "management account is mode: organization)",
            )
        return v

    @field_validator("retention")
    @classmethod
    def _lock_mode_outside_dev(cls, v: Retention, info: ValidationInfo) -> Retention:
        env = info.data.get("environment")
        if env and env != "dev" and v.audit_lock_mode == "GOVERNANCE":
            raise FieldError(
                "auditLockMode",
                f"GOVERNANCE lets a privileged user delete {env}'s audit records before their "
                "retention ends; outside dev the audit bucket uses COMPLIANCE (remove the key or "
                "set auditLockMode: COMPLIANCE)",
            )
        return v

    @model_validator(mode="after")
    def _break_glass(self) -> StackConfig:
        arn = self.break_glass_role_arn
        if arn is None and self.environment != "dev":
            raise FieldError(
                "breakGlassRoleArn",
                f"is required in {self.environment}: the role that may repair the KMS key "
                "policies when the deployer is gone (docs/security.md, 'Keys'); e.g. "
                f"arn:aws:iam::{self.account_id}:role/mlops-break-glass",
            )
        return self

    @property
    def account_id(self) -> str:
        return self.accounts.for_env(self.environment)

    @property
    def key_admin_arns(self) -> list[str]:
        """Who administers this stack's KMS keys: the deploy role, else the landing zone's
        administrator SSO permission set (its role has a generated suffix, hence a pattern);
        never the bare account root."""
        if self.deploy_role_arn:
            return [self.deploy_role_arn]
        return [f"arn:aws:iam::{self.account_id}:role/aws-reserved/sso.amazonaws.com/*{SSO_ADMIN}*"]

    @property
    def audit_lock_mode(self) -> LockMode:
        """The audit bucket's Object Lock mode (retention.auditLockMode, defaulted per kind)."""
        if self.retention.audit_lock_mode:
            return self.retention.audit_lock_mode
        return "GOVERNANCE" if self.environment == "dev" else "COMPLIANCE"

    @property
    def is_governance(self) -> bool:
        """The dev account also hosts governance: registry, CI/CD, Service Catalog, Studio."""
        return self.environment == "dev"

    @property
    def governance(self) -> str | None:
        """Name of the governance (dev-kind) stack this stack reads; None for a dev stack."""
        return None if self.is_governance else (self.governance_stack or "dev")

    def region_of(self, kind: str) -> str:
        """Region of the `kind` account as this stack sees it: its own for its own kind, the
        governance stack's for the others (the canonical stacks share one region)."""
        if kind == self.environment:
            return self.region
        return self.governance_region or self.region


_KEYS_OF = {"governance_stack": "governanceStack", "governance_region": "governanceRegion"}

# Top-level config keys in the stack file (under the project namespace), camelCase.
_KEYS = {name: (field.alias or name) for name, field in StackConfig.model_fields.items()}
_FIXES = {
    "accounts": "give accounts as quoted 12-digit strings: accounts: {dev: '111111111111', ...}",
    "network": "see Pulumi.dev.yaml for a complete network block",
    "environment": f"use one of {', '.join(ENVIRONMENTS)}",
    "region": "use an AWS region code such as eu-west-2",
    "tags": "set owner, costCentre and dataClassification",
    "people": "list at least one lead data scientist with user and email",
    "retention": "see Pulumi.prod.yaml for a complete retention block",
    "governanceStack": "name the dev stack this stack belongs to (default dev)",
    "governanceRegion": "give the region of the governance stack, e.g. eu-west-2",
    "landingZone": "per service (guardduty, config, cloudtrail, inspector) give mode: create, "
    "adopt (with the existing resource's id) or organization; see docs/deploy.md",
}


def _format_error(exc: ValidationError, source: str) -> ConfigError:
    lines, fixes = [], []
    for e in exc.errors():
        loc = [str(p) for p in e["loc"]]
        msg = e["msg"].removeprefix("Value error, ")
        cause = (e.get("ctx") or {}).get("error")
        if isinstance(cause, FieldError):
            loc += cause.path.split(".")
            msg = cause.message
        key = f"{PROJECT}:{'.'.join(loc)}" if loc else PROJECT
        if e["type"] == "missing":
            msg = "is required but missing"
        elif e["type"] == "extra_forbidden":
            msg = "is not a known setting (check the spelling; keys are camelCase)"
        lines.append(f"{key}: {msg}")
        if loc and loc[0] in _FIXES:
            fixes.append(_FIXES[loc[0]])
    fix = "; ".join(dict.fromkeys(fixes)) or f"edit {source} and run `mlops preview` again"
    return ConfigError(f"invalid stack config in {source}:\n  " + "\n  ".join(lines), fix)


def parse_stack_config(values: Mapping[str, Any], source: str) -> StackConfig:
    """Validate a plain mapping of camelCase keys (namespace already stripped)."""
    try:
        return StackConfig.model_validate(dict(values))
    except ValidationError as exc:
        raise _format_error(exc, source) from None


def stack_file(stack: str, root: Path = REPO_ROOT) -> Path:
    return root / f"Pulumi.{stack}.yaml"


def stack_names(root: Path = REPO_ROOT) -> list[str]:
    """Every stack of the project: one `Pulumi.<name>.yaml` each, canonical names first."""
    names = [p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml")]
    names = [n for n in names if STACK_NAME.match(n)]
    return sorted(names, key=lambda n: (ENVIRONMENTS.index(n) if n in ENVIRONMENTS else 3, n))


def read_stack_file(stack: str, root: Path = REPO_ROOT) -> dict[str, Any]:
    """The raw `config:` block of Pulumi.<stack>.yaml (namespaced keys, as Pulumi stores them)."""
    path = stack_file(stack, root)
    if stack not in ENVIRONMENTS and not (STACK_NAME.match(stack) and path.is_file()):
        known = stack_names(root) or list(ENVIRONMENTS)
        raise ConfigError(
            f"unknown stack {stack!r}",
            f"use one of {', '.join(known)} (--stack dev), or add Pulumi.{stack}.yaml "
            "(docs/deploy.md, 'More stacks')",
        )
    if not path.exists():
        raise ConfigError(f"stack file {path.name} not found in {root}", "run from the repo root")
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path.name} is not valid YAML: {exc}", "fix the YAML syntax") from None
    return dict(doc.get("config") or {})


def split_namespaced(raw: Mapping[str, Any], source: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split namespaced keys into (project values, provider values such as aws:region)."""
    ours, others = {}, {}
    for key, value in raw.items():
        ns, _, short = key.partition(":")
        if ns == PROJECT:
            ours[short] = value
        else:
            others[key] = value
    if "aws:region" in others and "region" not in ours:
        ours["region"] = others["aws:region"]
    return ours, others


def _check_kind(cfg: StackConfig, stack: str, source: str) -> None:
    """A canonical stack name (dev, staging, prod) is its kind; any other name may be any kind."""
    if stack in ENVIRONMENTS and cfg.environment != stack:
        raise ConfigError(
            f"{PROJECT}:environment is {cfg.environment!r} in {source}",
            f"set {PROJECT}:environment: {stack} (the {stack} stack is of kind {stack}; a stack of "
            f"another kind gets its own name, e.g. Pulumi.{cfg.environment}-eu-west-1.yaml)",
        )


def load_stack_config(stack: str, root: Path = REPO_ROOT) -> StackConfig:
    """Load and validate one stack file (canonical stacks: the name must match the kind)."""
    source = f"Pulumi.{stack}.yaml"
    ours, _ = split_namespaced(read_stack_file(stack, root), source)
    cfg = parse_stack_config(ours, source)
    _check_kind(cfg, stack, source)
    return cfg


def _named(configs: Mapping[str, StackConfig] | Iterable[StackConfig]) -> dict[str, StackConfig]:
    if isinstance(configs, Mapping):
        return dict(configs)
    return {c.environment: c for c in configs}


def check_stack_set(configs: Mapping[str, StackConfig] | Iterable[StackConfig]) -> None:
    """Rules that span stacks (given by name): each governance stack exists and is a dev stack;
    a stack's accounts agree with its governance stack's (but for its own kind, which is its own
    account); one stack per account; VPC CIDRs that never overlap."""
    named = _named(configs)
    for name, cfg in named.items():
        gov_name = cfg.governance
        if gov_name is None:
            continue
        gov = named.get(gov_name)
        if gov is None:
            raise ConfigError(
                f"{PROJECT}:governanceStack of {name} is {gov_name!r}, which has no stack file",
                f"add Pulumi.{gov_name}.yaml or set governanceStack to one of the dev stacks: "
                + ", ".join(n for n, c in named.items() if c.is_governance),
            )
        if not gov.is_governance:
            raise ConfigError(
                f"{PROJECT}:governanceStack of {name} is {gov_name!r}, a {gov.environment} stack",
                "name a stack of kind dev (it hosts the registry, artifacts and deploy builds)",
            )
        if cfg.region_of("dev") != gov.region:
            raise ConfigError(
                f"{PROJECT}:governanceRegion of {name} is {cfg.region_of('dev')} (default: its own "
                f"region) but {gov_name} is in {gov.region}",
                f"set {PROJECT}:governanceRegion: {gov.region} in Pulumi.{name}.yaml",
            )
        for kind in ENVIRONMENTS:
            mine, theirs = cfg.accounts.for_env(kind), gov.accounts.for_env(kind)
            if kind != cfg.environment and mine != theirs:
                raise ConfigError(
                    f"{PROJECT}:accounts.{kind} differs between {gov_name} ({theirs}) and "
                    f"{name} ({mine})",
                    f"a stack lists its governance stack's accounts ({gov_name}) and only its own "
                    f"kind ({cfg.environment}) may name a different account: its own",
                )
    items = list(named.items())
    for a_index, (a_name, a) in enumerate(items):
        for b_name, b in items[a_index + 1 :]:
            if a.account_id == b.account_id:
                raise ConfigError(
                    f"{PROJECT}:accounts.{b.environment} of {b_name} is {b.account_id}, the "
                    f"account of {a_name}",
                    "one platform stack per account (role names and the account's singletons "
                    f"would collide): give {b_name} its own {b.environment} account",
                )
            if a.network.vpc_cidr.overlaps(b.network.vpc_cidr):
                raise ConfigError(
                    f"{PROJECT}:network.vpcCidr {a.network.vpc_cidr} ({a_name}) overlaps "
                    f"{b.network.vpc_cidr} ({b_name})",
                    "give each stack its own range (e.g. 10.10.0.0/16, 10.20.0.0/16, 10.30.0.0/16)"
                    " so the VPCs can be peered or joined to a transit gateway later",
                )


def deployment_order(configs: Mapping[str, StackConfig]) -> list[str]:
    """Stack names in the order they are deployed: governance (dev) stacks first, then staging,
    then prod; canonical names before the others of their kind."""
    return sorted(
        configs,
        key=lambda n: (ENVIRONMENTS.index(configs[n].environment), n not in ENVIRONMENTS, n),
    )


def load_all_stack_configs(root: Path = REPO_ROOT) -> dict[str, StackConfig]:
    """Every stack file of the project, validated together, by name in deployment order."""
    names = stack_names(root)
    for env in ENVIRONMENTS:  # the canonical stacks must exist (a clear message if not)
        if env not in names:
            read_stack_file(env, root)
    configs = {name: load_stack_config(name, root) for name in names}
    check_stack_set(configs)
    return {name: configs[name] for name in deployment_order(configs)}


def load_from_pulumi() -> StackConfig:
    """Inside the Pulumi program: read every key of our namespace through pulumi.Config."""
    import pulumi

    cfg = pulumi.Config(PROJECT)
    values: dict[str, Any] = {}
    for field_name, key in _KEYS.items():
        if field_name == "region":
            continue
        raw = cfg.get(key)
        if raw is None:
            continue
        try:
            values[key] = json.loads(raw)
        except json.JSONDecodeError:
            values[key] = raw
    region = pulumi.Config("aws").get("region") or cfg.get("region")
    if region:
        values["region"] = region
    source = f"Pulumi.{pulumi.get_stack()}.yaml"
    parsed = parse_stack_config(values, source)
    _check_kind(parsed, pulumi.get_stack(), source)
    return parsed


def flatten_for_mocks(raw: Mapping[str, Any]) -> dict[str, str]:
    """Stack-file config as pulumi.runtime.set_all_config expects it: strings, objects as JSON."""
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in raw.items()}
