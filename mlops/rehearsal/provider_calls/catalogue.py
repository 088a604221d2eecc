"""The Service Authorization Reference ("Actions, resources, and condition keys"), as shipped by
``parliament`` (its ``iam_definition.json``): used to check that every call of the knowledge base
names a real action, a resource ARN of a type that action takes, and condition keys it documents.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ActionInfo:
    action: str
    resource_patterns: tuple[re.Pattern[str], ...]
    """ARN patterns of the resource types the action takes (empty: only ``*``)."""
    resource_types: tuple[str, ...]
    condition_keys: frozenset[str]
    dependent_actions: frozenset[str]


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\$\{[^}]+\})", template)
    out = ""
    for part in parts:
        if part.startswith("${"):
            name = part[2:-1]
            out += r"[^:]*" if name in ("Region", "Account", "Partition") else r".+"
        else:
            out += re.escape(part)
    return re.compile(out + r"$")


@functools.cache
def _catalogue() -> dict[str, ActionInfo]:
    spec = importlib.util.find_spec("parliament")  # its import warns (pkg_resources): read the file
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("parliament (the IAM action catalogue) is not installed")
    path = Path(spec.origin).with_name("iam_definition.json")
    services = json.loads(path.read_text())
    out: dict[str, ActionInfo] = {}
    for svc in services:
        arns = {r["resource"].lower(): r["arn"] for r in svc["resources"]}
        for p in svc["privileges"]:
            key = f"{svc['prefix']}:{p['privilege']}".lower()
            patterns, types, conds, deps = [], [], set(), set()
            for rt in p["resource_types"]:
                name = rt["resource_type"].rstrip("*").lower()
                conds.update(k.lower() for k in rt["condition_keys"])
                deps.update(d.lower() for d in rt["dependent_actions"])
                if name and name in arns:
                    patterns.append(_pattern(arns[name]))
                    types.append(name)
            prev = out.get(key)
            if prev is not None:  # a prefix shared by two services (e.g. old and new names)
                patterns += list(prev.resource_patterns)
                types += list(prev.resource_types)
                conds |= prev.condition_keys
                deps |= prev.dependent_actions
            out[key] = ActionInfo(
                action=f"{svc['prefix']}:{p['privilege']}",
                resource_patterns=tuple(patterns),
                resource_types=tuple(types),
                condition_keys=frozenset(conds),
                dependent_actions=frozenset(deps),
            )
    return out


def info(action: str) -> ActionInfo | None:
    return _catalogue().get(action.lower())


def problems(action: str, resource: str, context_keys: tuple[str, ...] = ()) -> list[str]:
    """What is wrong with one call against the reference (empty: nothing)."""
    i = info(action)
    if i is None:
        return [f"{action}: not an action in the Service Authorization Reference"]
    out: list[str] = []
    if (
        resource != "*"
        and i.resource_patterns
        and not any(p.match(resource) for p in i.resource_patterns)
    ):
        out.append(f"{action}: resource {resource} matches none of {i.resource_types}")
    documented = i.condition_keys
    for key in context_keys:
        k = key.lower()
        if k.startswith("aws:") or k.startswith("kms:encryptioncontext:"):
            continue  # global keys, and the per-request encryption context keys
        base = re.sub(r"/.*$", "/${tagkey}", k)
        if k not in documented and base not in documented:
            out.append(f"{action}: condition key {key} is not documented for it")
    return out
