"""What the CrossGuard pack is made of. ``policy/__main__.py`` only passes this to PolicyPack,
because constructing a PolicyPack starts a gRPC server and waits for the Pulumi engine."""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, Policy

from mlops.policy import iam_rules as _iam_rules  # noqa: F401  (registers the IAM rules)
from mlops.policy import rules as _rules  # noqa: F401  (registers the resource rules)
from mlops.policy import stack_rules as _stack_rules  # noqa: F401  (registers the stack rules)
from mlops.policy.base import REGISTRY

PACK_NAME = "mlops-platform"


def policies() -> list[Policy]:
    return [rule.policy for rule in REGISTRY.values() if rule.policy is not None]


def pack_arguments() -> dict[str, Any]:
    """Keyword arguments for ``pulumi_policy.PolicyPack``."""
    return {
        "name": PACK_NAME,
        "policies": policies(),
        # Rules carry their own level; anything without one blocks.
        "enforcement_level": EnforcementLevel.MANDATORY,
        "description": "Security and governance guardrails for the mlops-platform stacks.",
        "provider": "aws",
        "tags": ["aws", "sagemaker", "security"],
    }
