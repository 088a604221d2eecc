"""The rule registry: every rule is a real ``pulumi_policy`` Policy plus the metadata we print.

A rule module declares its checks with ``resource_rule`` / ``stack_rule``. Each decorator builds the
``ResourceValidationPolicy`` / ``StackValidationPolicy`` the Pulumi engine runs (via the pack in
``policy/``) and that ``mlops check`` runs offline: both paths execute the same validate function.

A check returns messages; the wrapper filters by resource type, merges the policy-pack config over
the documented defaults (the engine only passes what the user configured), and reports each message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from mlops.policy.documents import plain

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY

# A resource check gets (inputs, config) — or (inputs, config, ResourceValidationArgs) with
# pass_args=True (for the resource type or the provider).
ResourceCheck = Callable[..., Iterable[str]]
# A stack check yields (message, urn or None for the stack as a whole).
StackCheck = Callable[
    [Sequence[PolicyResource], Mapping[str, Any]], Iterable[tuple[str, str | None]]
]


@dataclass(frozen=True)
class Option:
    """One configuration property of a rule: JSON-schema type, default, description."""

    default: Any
    schema: Mapping[str, Any]
    description: str


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    kind: str  # "resource" | "stack"
    level: EnforcementLevel
    severity: Severity
    fix: str
    types: tuple[str, ...] = ()
    options: Mapping[str, Option] = field(default_factory=dict)
    policy: Policy | None = None

    def defaults(self) -> dict[str, Any]:
        return {key: opt.default for key, opt in self.options.items()}


REGISTRY: dict[str, Rule] = {}


def effective_config(
    rule_options: Mapping[str, Option], given: Mapping[str, Any]
) -> dict[str, Any]:
    """Documented defaults overlaid with what the pack config sets (enforcementLevel dropped)."""
    cfg = {key: opt.default for key, opt in rule_options.items()}
    cfg.update({k: v for k, v in plain(given or {}).items() if k != "enforcementLevel"})
    return cfg


def _schema(options: Mapping[str, Option]) -> PolicyConfigSchema | None:
    if not options:
        return None
    return PolicyConfigSchema(
        properties={
            key: {**opt.schema, "default": opt.default, "description": opt.description}
            for key, opt in options.items()
        }
    )


def _register(rule: Rule) -> None:
    if rule.name in REGISTRY:
        raise ValueError(f"policy rule {rule.name!r} registered twice")
    REGISTRY[rule.name] = rule


def resource_rule(
    name: str,
    *,
    description: str,
    types: Iterable[str] = (),
    applies_to: Callable[[str, Mapping[str, Any]], bool] | None = None,
    fix: str,
    level: EnforcementLevel = MANDATORY,
    severity: Severity = Severity.HIGH,
    options: Mapping[str, Option] | None = None,
    pass_args: bool = False,
) -> Callable[[ResourceCheck], ResourceCheck]:
    """Register a per-resource rule for the given types (or every type `applies_to` accepts)."""
    types = tuple(types)
    options = dict(options or {})
    if not types and applies_to is None:
        raise ValueError(f"policy rule {name!r} needs types or applies_to")

    def decorate(check: ResourceCheck) -> ResourceCheck:
        def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
            if types and args.resource_type not in types:
                return
            if applies_to is not None and not applies_to(args.resource_type, args.props):
                return
            cfg = effective_config(options, args.get_config())
            extra = (args,) if pass_args else ()
            for message in check(plain(args.props), cfg, *extra):
                report(message, None)

        policy = ResourceValidationPolicy(
            name=name,
            description=description,
            validate=validate,
            enforcement_level=level,
            config_schema=_schema(options),
            severity=severity,
            remediation_steps=fix,
        )
        _register(Rule(name, description, "resource", level, severity, fix, types, options, policy))
        return check

    return decorate


def stack_rule(
    name: str,
    *,
    description: str,
    fix: str,
    level: EnforcementLevel = MANDATORY,
    severity: Severity = Severity.HIGH,
    options: Mapping[str, Option] | None = None,
) -> Callable[[StackCheck], StackCheck]:
    options = dict(options or {})

    def decorate(check: StackCheck) -> StackCheck:
        def validate(args: StackValidationArgs, report: ReportViolation) -> None:
            cfg = effective_config(options, args.get_config())
            for message, urn in check(args.resources, cfg):
                report(message, urn)

        policy = StackValidationPolicy(
            name=name,
            description=description,
            validate=validate,
            enforcement_level=level,
            config_schema=_schema(options),
            severity=severity,
            remediation_steps=fix,
        )
        _register(Rule(name, description, "stack", level, severity, fix, (), options, policy))
        return check

    return decorate
