"""Pure helpers the rules use: plain data in, findings out. No Pulumi, no AWS.

The real policy engine hands rules read-only proxies (``Mapping``/``Sequence`` wrappers that raise
``UnknownValueError`` on values unknown during preview); ``plain`` turns them back into dicts and
lists, touching every value so an unknown still raises where the engine expects it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any


def plain(value: Any) -> Any:
    """Policy proxies (or anything Mapping/Sequence-like) -> dicts and lists."""
    if isinstance(value, Mapping):
        return {k: plain(value[k]) for k in value}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [plain(v) for v in value]
    return value


def get(props: Any, *path: str | int, default: Any = None) -> Any:
    """Nested lookup that tolerates missing keys and one-element lists (Terraform blocks)."""
    node = props
    for key in path:
        if isinstance(node, Sequence) and not isinstance(node, str) and isinstance(key, str):
            node = node[0] if len(node) else None
        if node is None:
            return default
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return default
    return default if node is None else node


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str | bytes | Mapping):
        return [value]
    return list(value)


def load_json(value: Any) -> Any:
    """A JSON string (or an already-parsed document) -> plain data; None when not JSON."""
    value = plain(value)
    if isinstance(value, dict | list):
        return value
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return None
    return None


# --- IAM ---------------------------------------------------------------------------------------


def statements(document: Any) -> list[dict[str, Any]]:
    doc = load_json(document)
    if not isinstance(doc, dict):
        return []
    return [s for s in as_list(doc.get("Statement")) if isinstance(s, dict)]


def _matches_any(patterns: list[Any], target: str) -> bool:
    return any(isinstance(p, str) and fnmatchcase(target.lower(), p.lower()) for p in patterns)


STAR_ON_STAR = "star-on-star"
PASSROLE_ON_STAR = "passrole-on-star"
PUBLIC_PRINCIPAL = "public-principal"


def _is_public(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        return any("*" in as_list(v) for v in principal.values())
    return False


def iam_findings(document: Any) -> list[tuple[str, str]]:
    """(kind, message) for statements that are too broad.

    - STAR_ON_STAR: Allow with Action ``*`` (or any NotAction) on Resource ``*``.
    - PASSROLE_ON_STAR: Allow with an action matching ``iam:PassRole`` (``iam:PassRole``,
      ``iam:*``, ``iam:Pass*``) on Resource ``*`` (``*`` itself is reported as STAR_ON_STAR).
    - PUBLIC_PRINCIPAL: Allow to Principal ``*`` without any Condition (resource policies).
    """
    findings = []
    for index, st in enumerate(statements(document)):
        if st.get("Effect") != "Allow":
            continue
        sid = st.get("Sid") or f"#{index}"
        if "Principal" in st and _is_public(st["Principal"]) and not st.get("Condition"):
            findings.append(
                (PUBLIC_PRINCIPAL, f"statement {sid} allows Principal '*' unconditionally")
            )
        if "*" not in as_list(st.get("Resource")):
            continue
        actions = as_list(st.get("Action"))
        if "NotAction" in st:
            findings.append(
                (
                    STAR_ON_STAR,
                    f"statement {sid} allows NotAction {st['NotAction']!r} on Resource '*'",
                )
            )
        elif any(a in ("*", "*:*") for a in actions):
            findings.append((STAR_ON_STAR, f"statement {sid} allows Action '*' on Resource '*'"))
        elif _matches_any(actions, "iam:PassRole"):
            findings.append(
                (PASSROLE_ON_STAR, f"statement {sid} allows iam:PassRole on Resource '*'")
            )
    return findings


# --- SageMaker pipeline definitions ------------------------------------------------------------


def pipeline_steps(definition: Any) -> Iterator[dict[str, Any]]:
    """Every step of a pipeline definition, including steps nested in Condition branches."""
    doc = load_json(definition)
    stack = list(as_list(doc.get("Steps"))) if isinstance(doc, dict) else []
    while stack:
        step = stack.pop(0)
        if not isinstance(step, dict):
            continue
        yield step
        args = step.get("Arguments") or {}
        if isinstance(args, dict):
            stack += as_list(args.get("IfSteps")) + as_list(args.get("ElseSteps"))


def _literal_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _vpc_findings(step_name: str, vpc: Any) -> list[str]:
    if not isinstance(vpc, dict) or not vpc.get("Subnets") or not vpc.get("SecurityGroupIds"):
        return [f"step {step_name!r} has no VpcConfig with Subnets and SecurityGroupIds"]
    return []


def pipeline_findings(definition: Any) -> list[str]:
    """Training, tuning and processing steps must run in the VPC with inter-container encryption."""
    findings = []
    for step in pipeline_steps(definition):
        name, kind = step.get("Name", "?"), step.get("Type")
        args = step.get("Arguments") or {}
        if kind == "Training":
            job = args
        elif kind == "Tuning":
            job = args.get("TrainingJobDefinition") or {}
        elif kind == "Processing":
            job = args.get("NetworkConfig") or {}
        else:
            continue
        findings += _vpc_findings(name, job.get("VpcConfig"))
        if not _literal_true(job.get("EnableInterContainerTrafficEncryption")):
            findings.append(f"step {name!r} ({kind}) lacks EnableInterContainerTrafficEncryption")
    return findings


# --- EventBridge -------------------------------------------------------------------------------

MODEL_PACKAGE_STATE_CHANGE = "SageMaker Model Package State Change"


def is_model_package_rule(pattern: Any) -> bool:
    doc = load_json(pattern)
    if not isinstance(doc, dict):
        return False
    return MODEL_PACKAGE_STATE_CHANGE in as_list(doc.get("detail-type"))


def approval_statuses(pattern: Any) -> list[Any]:
    """The ModelApprovalStatus values a model-package rule matches ([] when unfiltered)."""
    doc = load_json(pattern) or {}
    return as_list(get(doc, "detail", "ModelApprovalStatus"))
