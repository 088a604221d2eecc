"""Run the CrossGuard rules offline against what the mocks recorded.

Each recorded resource becomes the ``ResourceValidationArgs`` the Pulumi engine would build (inputs,
camelCase, wrapped in pulumi_policy's unknown-checking proxy); the stack as a whole becomes
``StackValidationArgs`` over ``PolicyResource``s carrying outputs and parents. Both are fed to the
real ``validate`` functions of the registered policies, and every report becomes a ``Violation``.

Config has the shape of ``pulumi preview --policy-pack-config``:
``{"all": "advisory", "<rule>": "disabled", "<rule>": {"enforcementLevel": "mandatory", ...}}``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from inspect import isawaitable
from pathlib import Path
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.policy import _NotApplicableError
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from mlops.errors import MlopsError
from mlops.policy import iam_rules as _iam_rules  # noqa: F401  (registers the IAM rules)
from mlops.policy import rules as _rules  # noqa: F401  (registers the resource rules)
from mlops.policy import stack_rules as _stack_rules  # noqa: F401  (registers the stack rules)
from mlops.policy.base import REGISTRY, Rule
from mlops.testing.mocks import RecordedResource

STACK = "<stack>"
LEVELS = {level.value: level for level in EnforcementLevel}


class PolicyConfigError(MlopsError):
    """The policy config names an unknown rule or level."""


class PolicyRuleError(MlopsError):
    """A rule crashed on a resource: a bug in the rule or an unexpected resource shape."""


@dataclass(frozen=True)
class Violation:
    rule: str
    level: str  # "mandatory" | "advisory"
    severity: str
    resource: str  # logical name, or "<stack>"
    resource_type: str
    message: str
    fix: str

    @property
    def mandatory(self) -> bool:
        return self.level == EnforcementLevel.MANDATORY.value


@dataclass
class CheckResult:
    """Policy violations (and linter findings) for one stack."""

    stack: str
    resource_count: int
    violations: list[Violation] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # unknown during preview / not applicable
    lint: list[Any] = field(default_factory=list)  # mlops.policy.linters.LintResult

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.mandatory]

    @property
    def advisory(self) -> list[Violation]:
        return [v for v in self.violations if not v.mandatory]

    @property
    def lint_failures(self) -> list[Any]:
        return [r for r in self.lint if r.failed]

    @property
    def ok(self) -> bool:
        return not self.mandatory and not self.lint_failures

    def rule_names(self, mandatory_only: bool = True) -> set[str]:
        return {v.rule for v in (self.mandatory if mandatory_only else self.violations)}

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "resources": self.resource_count,
            "ok": self.ok,
            "violations": [asdict(v) for v in self.violations],
            "skipped": self.skipped,
            "lint": [r.to_json() for r in self.lint],
        }


# --- config ---------------------------------------------------------------------------------------


def load_policy_config(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise PolicyConfigError(
            f"cannot read policy config {path}: {exc}",
            'give a JSON object such as {"log-group-retention": {"minimumRetentionDays": 90}}',
        ) from None


def resolve(config: Mapping[str, Any] | None) -> dict[str, tuple[EnforcementLevel, dict[str, Any]]]:
    """Per rule: the effective enforcement level and the config properties passed to it."""
    config = dict(config or {})
    unknown = sorted(set(config) - set(REGISTRY) - {"all"})
    if unknown:
        raise PolicyConfigError(
            f"policy config names unknown rules: {', '.join(unknown)}",
            f"use rule names from `mlops check --list-rules`: {', '.join(sorted(REGISTRY))}",
        )

    def split(key: str, value: Any) -> tuple[EnforcementLevel | None, dict[str, Any]]:
        if isinstance(value, str):
            value = {"enforcementLevel": value}
        if not isinstance(value, Mapping):
            raise PolicyConfigError(
                f"policy config {key!r} must be a level or an object",
                'e.g. {"enforcementLevel": "advisory"}',
            )
        props = {k: v for k, v in value.items() if k != "enforcementLevel"}
        level = value.get("enforcementLevel")
        if level is not None and level not in LEVELS:
            raise PolicyConfigError(
                f"policy config {key}.enforcementLevel is {level!r}",
                f"use one of {', '.join(LEVELS)}",
            )
        return (LEVELS[level] if level else None), props

    all_level, _ = split("all", config["all"]) if "all" in config else (None, {})
    resolved = {}
    for name, rule in REGISTRY.items():
        level, props = split(name, config[name]) if name in config else (None, {})
        resolved[name] = (level or all_level or rule.level, props)
    return resolved


# --- running the policies ------------------------------------------------------------------------

_NO_TIMEOUTS = PolicyCustomTimeouts(0, 0, 0)


def _options(resource: RecordedResource) -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], _NO_TIMEOUTS, [], resource.parent_urn or None)


def _level_name(level: EnforcementLevel) -> str:
    # Remediation policies that still report are downgraded to mandatory by the engine, too.
    return "mandatory" if level == EnforcementLevel.REMEDIATE else level.value


class _Collector:
    def __init__(self, rule: Rule, level: EnforcementLevel, by_urn: Mapping[str, RecordedResource]):
        self.rule, self.level, self.by_urn = rule, level, by_urn
        self.found: list[Violation] = []
        self.current: RecordedResource | None = None

    def __call__(self, message: str, urn: str | None = None) -> None:
        resource = self.by_urn.get(urn or "") or self.current
        self.found.append(
            Violation(
                rule=self.rule.name,
                level=_level_name(self.level),
                severity=self.rule.severity.value,
                resource=resource.name if resource else STACK,
                resource_type=resource.type if resource else "",
                message=message or self.rule.description,
                fix=self.rule.fix,
            )
        )


def _run(validate: Any, args: Any, report: _Collector, where: str, skipped: list[str]) -> None:
    try:
        result = validate(args, report)
        if isawaitable(result):
            import asyncio

            asyncio.run(result)
    except UnknownValueError as exc:
        skipped.append(f"{report.rule.name} on {where}: {exc.message}")
    except _NotApplicableError as exc:
        skipped.append(f"{report.rule.name} not applicable to {where}: {exc.reason or ''}")
    except Exception as exc:
        raise PolicyRuleError(
            f"policy rule {report.rule.name!r} crashed on {where}: {type(exc).__name__}: {exc}",
            "fix the rule in mlops/policy/ (or the resource's inputs) and run `mlops check` again",
        ) from exc


def policy_resources(resources: Sequence[RecordedResource]) -> list[PolicyResource]:
    """The stack as StackValidationArgs sees it: outputs as props, parents linked."""
    built: dict[str, PolicyResource] = {}
    for r in resources:
        props = unknown_checking_proxy(dict(r.state or r.inputs))
        built[r.urn] = PolicyResource(r.type, props, r.urn, r.name, _options(r), None, None, [], {})
    for r in resources:
        built[r.urn].parent = built.get(r.parent_urn)
    return list(built.values())


def check_resources(
    resources: Iterable[RecordedResource],
    config: Mapping[str, Any] | None = None,
    stack: str = "",
    stack_tags: Mapping[str, str] | None = None,
) -> CheckResult:
    """Feed every resource, then the stack, to every enabled rule."""
    resources = [r for r in resources if r.type != "pulumi:pulumi:Stack"]
    by_urn = {r.urn: r for r in resources}
    result = CheckResult(stack=stack, resource_count=sum(r.custom for r in resources))
    stack_view = policy_resources(resources)
    inputs = {r.urn: unknown_checking_proxy(dict(r.inputs)) for r in resources}  # read-only
    for name, (level, props) in resolve(config).items():
        rule = REGISTRY[name]
        if level == EnforcementLevel.DISABLED or rule.policy is None:
            continue
        report = _Collector(rule, level, by_urn)
        if rule.kind == "resource":
            # The policy filters by type itself; skipping here only saves building the args.
            for r in (r for r in resources if not rule.types or r.type in rule.types):
                report.current = r
                args = ResourceValidationArgs(
                    r.type,
                    inputs[r.urn],
                    r.urn,
                    r.name,
                    _options(r),
                    None,
                    props,
                    stack_tags,
                )
                _run(rule.policy.validate, args, report, r.name, result.skipped)
        else:
            report.current = None
            args = StackValidationArgs(stack_view, props, stack_tags)
            _run(rule.policy.validate, args, report, STACK, result.skipped)
        result.violations += report.found
    result.violations.sort(key=lambda v: (not v.mandatory, v.rule, v.resource))
    return result


def check_stack(
    stack: str, config: Mapping[str, Any] | None = None, lint: bool = True
) -> CheckResult:
    """Build the real program for `stack` under mocks and check it; optionally run the linters."""
    from mlops.program import build_stack

    mocks = build_stack(stack)
    result = check_resources(mocks.resources, config, stack=stack)
    if lint:
        from mlops.policy.linters import lint_resources

        result.lint = lint_resources(mocks.resources, mocks.region)
    return result


# --- presentation -------------------------------------------------------------------------------


def summary_line(result: CheckResult) -> str:
    lint = ""
    if result.lint:
        lint = f", {len(result.lint)} lint runs ({len(result.lint_failures)} failed)"
    verdict = "ok" if result.ok else "FAILED"
    return (
        f"stack {result.stack}: {verdict} — {result.resource_count} resources, {len(REGISTRY)} "
        f"rules, {len(result.mandatory)} mandatory and {len(result.advisory)} advisory "
        f"violations{lint}"
    )


def format_result(result: CheckResult) -> list[str]:
    """Violations grouped by rule: level, severity, description, each resource and the fix."""
    lines = [summary_line(result)]
    by_rule: dict[str, list[Violation]] = {}
    for v in result.violations:
        by_rule.setdefault(v.rule, []).append(v)
    for name, found in by_rule.items():
        first = found[0]
        lines.append(f"  [{first.level}/{first.severity}] {name}: {REGISTRY[name].description}")
        for v in found:
            lines.append(f"    - {v.resource} ({v.resource_type or 'stack'}): {v.message}")
        lines.append(f"    fix: {first.fix}")
    for lint in result.lint:
        if lint.failed or lint.skipped:
            lines.append(f"  [{lint.status}] {lint.tool} {lint.artifact}: {lint.summary}")
    for note in result.skipped:
        lines.append(f"  [skipped] {note}")
    return lines


def rules_table() -> list[tuple[str, str, str, str, str]]:
    """(name, kind, level, severity, description) for every registered rule."""
    return [
        (r.name, r.kind, r.level.value, r.severity.value, r.description)
        for r in sorted(REGISTRY.values(), key=lambda r: r.name)
    ]


def run_check_command(
    stack: str | None,
    all_stacks: bool,
    config_path: Path | None = None,
    as_json: bool = False,
    list_rules: bool = False,
    lint: bool = True,
) -> int:
    """`mlops check`: print results grouped by rule; the exit code is 1 on a mandatory violation
    or a failed lint, else 0."""
    from mlops import console
    from mlops.config import stack_names
    from mlops.errors import UsageError

    if list_rules:
        for name, kind, level, severity, description in rules_table():
            line = f"{name:36} {kind:8} {level:9} {severity:8} {description}"
            console.out.print(line, markup=False, soft_wrap=True)
        return 0
    if all_stacks == bool(stack):
        raise UsageError("give exactly one of --stack <name> and --all", "mlops check --all")
    config = load_policy_config(config_path) if config_path else None
    resolve(config)  # a bad config fails before any stack is built
    stacks = stack_names() if all_stacks else [stack or ""]
    results = []
    for name in stacks:
        if as_json:
            results.append(check_stack(name, config, lint=lint))
            continue
        with console.status(f"checking stack {name} offline under Pulumi mocks"):
            results.append(check_stack(name, config, lint=lint))
        for line in format_result(results[-1]):
            console.out.print(line, markup=False, soft_wrap=True)
    if as_json:
        console.out.print_json(json.dumps([r.to_json() for r in results]))
    failed = [r.stack for r in results if not r.ok]
    if failed:
        if not as_json:
            console.error(
                f"mandatory policy violations or lint failures in: {', '.join(failed)}",
                "apply each fix above, or (with a reason in the PR) set the rule to advisory "
                "in a policy config passed with --policy-config",
            )
        return 1
    if not as_json:
        console.success(f"{len(results)} stack(s) pass {len(REGISTRY)} policy rules")
    return 0
