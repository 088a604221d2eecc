"""The IAM action catalogue: which actions exist, which resources they take, which condition keys
they support.

Data: parliament's bundled ``iam_definition.json`` (BSD-3-Clause, from the AWS Service
Authorization Reference). We read the JSON file directly instead of importing ``parliament``
(its import pulls ``pkg_resources`` and warns). The file is ~10 MB; it is parsed once per process.

- ``check_action("s3:GetObjet")`` raises ``UnknownActionError`` naming the closest real actions;
- ``resource_arn_formats(action)``: the ARN templates of the resource types the action takes;
- ``accepts_resource(action, arn)``: does the ARN fit one of them (or, for ``"*"``, does the action
  take no required resource type);
- ``condition_keys(action)``: the service keys the action supports (global ``aws:*`` keys apply to
  every action and are not listed).
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from mlops.errors import MlopsError

__all__ = [
    "ActionInfo",
    "UnknownActionError",
    "accepts_resource",
    "action_info",
    "check_action",
    "condition_keys",
    "is_condition_key",
    "matching_actions",
    "resource_arn_formats",
]


class UnknownActionError(MlopsError, ValueError):
    """An IAM action that AWS does not define (typo, wrong service prefix, invented name)."""


@dataclass(frozen=True)
class ResourceType:
    name: str
    required: bool
    arn: str
    """ARN template, e.g. ``arn:${Partition}:s3:::${BucketName}/${ObjectName}``."""


@dataclass(frozen=True)
class ActionInfo:
    name: str
    """Canonical spelling, ``service:Action``."""
    resource_types: tuple[ResourceType, ...]
    condition_keys: frozenset[str]
    access_level: str

    @property
    def takes_star_only(self) -> bool:
        """True when no resource type is required: the action is granted on ``"*"``."""
        return not any(rt.required for rt in self.resource_types)


def _definition_path() -> Path:
    # find_spec locates the package without executing its __init__ (which imports pkg_resources).
    spec = importlib.util.find_spec("parliament")
    if spec is None or not spec.submodule_search_locations:
        raise MlopsError(
            "the IAM action catalogue needs the parliament package (iam_definition.json)",
            fix="install the project's dependencies: uv sync (parliament is in pyproject.toml)",
        )
    return Path(next(iter(spec.submodule_search_locations))) / "iam_definition.json"


@cache
def _catalogue() -> dict[str, dict[str, ActionInfo]]:
    """{service prefix: {lower-case action name: ActionInfo}}; one prefix may span several
    service entries (``apigateway`` v1 and v2 share a prefix): their actions are merged."""
    raw = json.loads(_definition_path().read_text(encoding="utf-8"))
    out: dict[str, dict[str, ActionInfo]] = {}
    for service in raw:
        prefix = service["prefix"].lower()
        resources = {r["resource"]: r for r in service.get("resources", [])}
        actions = out.setdefault(prefix, {})
        for priv in service.get("privileges", []):
            rtypes: list[ResourceType] = []
            keys: set[str] = set()
            for rt in priv.get("resource_types", []):
                keys.update(rt.get("condition_keys", []))
                name = rt.get("resource_type", "")
                if not name:
                    continue
                required = name.endswith("*")
                base = name.rstrip("*")
                res = resources.get(base)
                if res is None:
                    continue
                keys.update(res.get("condition_keys", []))
                rtypes.append(ResourceType(base, required, res["arn"]))
            key = priv["privilege"].lower()
            info = ActionInfo(
                name=f"{service['prefix']}:{priv['privilege']}",
                resource_types=tuple(rtypes),
                condition_keys=frozenset(keys),
                access_level=priv.get("access_level", ""),
            )
            previous = actions.get(key)
            if previous is not None:  # same action listed by two service entries: merge
                info = ActionInfo(
                    name=previous.name,
                    resource_types=previous.resource_types
                    + tuple(r for r in info.resource_types if r not in previous.resource_types),
                    condition_keys=previous.condition_keys | info.condition_keys,
                    access_level=previous.access_level,
                )
            actions[key] = info
    return out


@cache
def _condition_key_patterns() -> dict[str, tuple[re.Pattern[str], ...]]:
    """{service prefix: patterns of every condition key the service defines}."""
    raw = json.loads(_definition_path().read_text(encoding="utf-8"))
    out: dict[str, list[re.Pattern[str]]] = {}
    for service in raw:
        for cond in service.get("conditions", []):
            name = cond["condition"]
            rx = "".join(
                ".+" if part.startswith("${") else re.escape(part)
                for part in re.split(r"(\$\{[^}]+\})", name)
            )
            out.setdefault(name.split(":")[0].lower(), []).append(re.compile(rx, re.IGNORECASE))
    return {k: tuple(v) for k, v in out.items()}


def is_condition_key(key: str) -> bool:
    """Does some service define this condition key (``kms:EncryptionContext:aws:s3:arn`` fits
    ``kms:EncryptionContext:${EncryptionContextKey}``)? Names are case-insensitive."""
    prefix = key.split(":")[0].lower()
    return any(p.fullmatch(key) for p in _condition_key_patterns().get(prefix, ()))


def action_info(action: str) -> ActionInfo:
    """The catalogue entry of one action (case-insensitive); raises ``UnknownActionError``."""
    if not isinstance(action, str) or action.count(":") != 1:
        raise UnknownActionError(
            f"{action!r} is not an IAM action",
            fix="write actions as <service prefix>:<Action>, e.g. s3:GetObject",
        )
    prefix, name = action.split(":")
    if any(c in action for c in "*?"):
        raise UnknownActionError(
            f"{action!r} is a pattern, not one action",
            fix="a request names one concrete action; use matching_actions() to expand a pattern",
        )
    catalogue = _catalogue()
    actions = catalogue.get(prefix.lower())
    if actions is None:
        close = difflib.get_close_matches(prefix.lower(), list(catalogue), n=3, cutoff=0.5)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise UnknownActionError(
            f"unknown IAM service prefix {prefix!r} in action {action!r}{hint}",
            fix="use the service prefix from the AWS Service Authorization Reference",
        )
    info = actions.get(name.lower())
    if info is None:
        names = {a.name.split(":")[1]: a.name for a in actions.values()}
        close = difflib.get_close_matches(name, list(names), n=3, cutoff=0.6)
        hint = f" (did you mean {', '.join(names[c] for c in close)}?)" if close else ""
        raise UnknownActionError(
            f"unknown IAM action {action!r}: {prefix} has no action {name!r}{hint}",
            fix="check the spelling against the AWS Service Authorization Reference",
        )
    return info


def check_action(action: str) -> str:
    """Validate one action; return its canonical spelling (``S3:getobject`` -> ``s3:GetObject``)."""
    return action_info(action).name


def matching_actions(pattern: str) -> tuple[str, ...]:
    """Every catalogued action a policy pattern (``kms:ReEncrypt*``, ``s3:*Object``) matches."""
    if pattern == "*":
        return tuple(a.name for acts in _catalogue().values() for a in acts.values())
    if pattern.count(":") != 1:
        raise UnknownActionError(
            f"{pattern!r} is not an IAM action pattern",
            fix="write <service prefix>:<Action pattern>, e.g. kms:GenerateDataKey*",
        )
    rx = re.compile(_glob(pattern), re.IGNORECASE)
    prefix = pattern.split(":")[0].lower()
    pools: Iterable[dict[str, ActionInfo]] = (
        _catalogue().values() if any(c in prefix for c in "*?") else [_catalogue().get(prefix, {})]
    )
    return tuple(a.name for acts in pools for a in acts.values() if rx.fullmatch(a.name))


def _glob(pattern: str) -> str:
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)


def resource_arn_formats(action: str) -> tuple[str, ...]:
    """ARN templates of the resource types the action takes (empty: it takes only ``"*"``)."""
    return tuple(dict.fromkeys(rt.arn for rt in action_info(action).resource_types))


_VAR = re.compile(r"\$\{([^}]+)\}")
_ACCOUNT_LEVEL = {
    "Partition": r"aws[a-z-]*",
    "Region": r"[a-z0-9-]*",
    "Account": r"(?:\d{12}|aws)?",
}


@cache
def _template_regex(template: str) -> re.Pattern[str]:
    """An ARN template as a regex.

    ``${Partition}``, ``${Region}``, ``${Account}`` match their own shapes. In the resource part,
    a variable that is the whole part (``${BucketName}``, ``${TopicName}``) matches one name
    without ``/`` or ``:`` (so a bucket ARN is not an object ARN); the last variable of a longer
    part matches anything (object keys, ``log-group:/aws/x:*``, qualified function ARNs); other
    variables match up to the next ``:``.
    """
    parts = template.split(":", 5)
    out: list[str] = []
    for i, part in enumerate(parts):
        tokens = _VAR.split(part)  # literal, var, literal, var, ..., literal
        last_var = max((j for j in range(1, len(tokens), 2)), default=-1)
        alone = len(tokens) == 3 and tokens[0] == "" and tokens[2] == ""
        seg: list[str] = []
        for j, tok in enumerate(tokens):
            if j % 2 == 0:
                seg.append(re.escape(tok))
            elif tok in _ACCOUNT_LEVEL and i < 5:
                seg.append(_ACCOUNT_LEVEL[tok])
            elif i < 5:
                seg.append(r"[^:]*")
            elif alone:
                seg.append(r"[^:/]+")
            elif j == last_var:
                seg.append(r".+")
            else:
                seg.append(r"[^:]+")
        out.append("".join(seg))
    return re.compile(":".join(out))


def accepts_resource(action: str, arn: str) -> bool:
    """Does ``arn`` fit one of the action's resource types? For ``"*"``: does the action take no
    required resource type (``s3:ListAllMyBuckets``, ``sts:GetCallerIdentity``)?"""
    info = action_info(action)
    if arn == "*":
        return info.takes_star_only
    return any(_template_regex(rt.arn).fullmatch(arn) for rt in info.resource_types)


def condition_keys(action: str) -> frozenset[str]:
    """Service condition keys the action supports, as the reference writes them (templates such
    as ``kms:EncryptionContext:${EncryptionContextKey}`` included). Global keys are not listed."""
    return action_info(action).condition_keys
