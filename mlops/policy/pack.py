"""What the CrossGuard pack is made of. ``policy/__main__.py`` only passes this to PolicyPack,
because constructing a PolicyPack starts a gRPC server and waits for the Pulumi engine.

Repos that consume the platform as a package (a use case's inference repo, whose stacks the deploy
pipeline ``pulumi up``s) get the same pack without a checkout of this repo::

    pulumi up --policy-pack "$(python -m mlops.policy.pack /tmp/mlops-policy)"

``materialize`` writes a pack directory whose program imports the installed ``mlops.policy``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pulumi_policy import EnforcementLevel, Policy

from mlops.policy import iam_rules as _iam_rules  # noqa: F401  (registers the IAM rules)
from mlops.policy import rules as _rules  # noqa: F401  (registers the resource rules)
from mlops.policy import stack_rules as _stack_rules  # noqa: F401  (registers the stack rules)
from mlops.policy.base import REGISTRY

PACK_NAME = "mlops-platform"
PACK_VERSION = "0.1.0"

_PROGRAM = '''"""mlops-platform CrossGuard pack, materialized from the installed mlops package."""

from pulumi_policy import PolicyPack

from mlops.policy.pack import pack_arguments

PolicyPack(**pack_arguments())
'''


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


def materialize(dest: Path) -> Path:
    """Write a runnable pack (PulumiPolicy.yaml + __main__.py) that uses this Python environment."""
    dest.mkdir(parents=True, exist_ok=True)
    lines = ["runtime:", "  name: python"]
    if sys.prefix != sys.base_prefix:  # inside a virtualenv: make Pulumi use it (mlops lives here)
        lines += ["  options:", f"    virtualenv: {sys.prefix}"]
    lines += [f"version: {PACK_VERSION}", f"description: {pack_arguments()['description']}"]
    (dest / "PulumiPolicy.yaml").write_text("\n".join(lines) + "\n")
    (dest / "__main__.py").write_text(_PROGRAM)
    return dest


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "mlops-policy-pack").resolve()
    sys.stdout.write(f"{materialize(target)}\n")
