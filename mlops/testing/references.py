"""StackReference resolution that follows the state-backend layout.

The engine resolves ``pulumi.StackReference(name)`` through the backend the *referencing* program
is logged in to (pulumi/pulumi ``pkg/resource/deploy/builtins.go`` ``readStackReference`` ->
``pkg/backend/backend.go`` ``GetStackOutputs``). A self-managed ("diy": ``s3://``, ``gs://``,
``azblob://``, ``file://``) backend parses the name as ``organization/<project>/<stack>`` (the
organization must be literally ``organization``; a bare ``<stack>`` takes the current project;
``pkg/backend/diy/store.go``) and looks only inside its own bucket: a stack whose state lives in
another bucket does not exist for it, and the read fails with ``unknown stack "<name>"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlops.errors import MlopsError

DIY_SCHEMES = ("s3://", "gs://", "azblob://", "file://")
DEFAULT_BACKEND = "file://~"  # `pulumi login --local`: what a bare RecordingMocks stands for


class StackReferenceError(MlopsError):
    """A StackReference the real engine could not read (same wording as the engine)."""


@dataclass(frozen=True)
class ReferenceFailure:
    """One StackReference that would fail in a real deployment."""

    referencing_stack: str
    """``organization/<project>/<stack>`` of the program that holds the reference."""
    referenced: str
    """The name as the program wrote it."""
    backend: str
    """The backend the engine searches (the referencing program's)."""
    reason: str
    found_in: str | None = None
    """The backend that does hold the referenced stack, if any."""

    def to_json(self) -> dict[str, Any]:
        return {
            "referencing_stack": self.referencing_stack,
            "referenced": self.referenced,
            "backend": self.backend,
            "reason": self.reason,
            "found_in": self.found_in,
        }


def is_diy(url: str) -> bool:
    return url.startswith(DIY_SCHEMES)


def fully_qualified(name: str, project: str, backend: str = DEFAULT_BACKEND) -> str:
    """``organization/<project>/<stack>`` as the diy backend parses ``name``.

    Raises ``StackReferenceError`` where the diy backend rejects the name.
    """
    parts = name.split("/")
    if not name or len(parts) > 3:
        raise StackReferenceError(
            f"invalid stack reference {name!r}",
            "write organization/<project>/<stack> (or <stack> within the same project)",
        )
    org, proj, stack = (
        ("", "", parts[0]) if len(parts) == 1
        else (parts[0], "", parts[1]) if len(parts) == 2
        else tuple(parts)
    )  # fmt: skip
    org = org or "organization"
    if is_diy(backend) and org != "organization":
        raise StackReferenceError(
            "organization name must be 'organization'",
            f"a self-managed backend ({backend}) has no organizations: reference "
            f"organization/{proj or project}/{stack}",
        )
    return f"{org}/{proj or project}/{stack}"


def normalise(
    backends: Mapping[str, Mapping[str, Mapping[str, Any]]], project: str
) -> dict[str, dict[str, dict[str, Any]]]:
    """Key every backend's stacks by fully-qualified name."""
    return {
        url: {fully_qualified(name, project): dict(outputs) for name, outputs in stacks.items()}
        for url, stacks in backends.items()
    }


def resolve(
    name: str,
    *,
    project: str,
    stack: str,
    backend: str,
    backends: Mapping[str, Mapping[str, Mapping[str, Any]]],
) -> tuple[dict[str, Any], ReferenceFailure | None]:
    """Outputs of the referenced stack and, when the engine could not read it, why not.

    ``backends`` maps backend URL -> fully-qualified stack name -> outputs. The outputs returned on
    failure are the referenced stack's wherever it lives (empty if nowhere), so a lenient run can
    go on and report the failure instead of stopping.
    """
    referencing = f"organization/{project}/{stack}"
    try:
        fqn = fully_qualified(name, project, backend)
    except StackReferenceError as e:
        return {}, ReferenceFailure(referencing, name, backend, e.message)
    here = backends.get(backend, {})
    if fqn in here:
        return dict(here[fqn]), None
    elsewhere = next((url for url, stacks in backends.items() if fqn in stacks), None)
    if elsewhere is None:
        reason = f'unknown stack "{name}": no backend holds {fqn}'
        return {}, ReferenceFailure(referencing, name, backend, reason)
    reason = (
        f'unknown stack "{name}": its state is in {elsewhere}, but {referencing} runs against '
        f"{backend}"
        + (", and a self-managed backend reads only its own stacks" if is_diy(backend) else "")
    )
    return dict(backends[elsewhere][fqn]), ReferenceFailure(
        referencing, name, backend, reason, found_in=elsewhere
    )


def error_for(failure: ReferenceFailure) -> StackReferenceError:
    """The error a strict run raises: the engine's message first, then the layout that causes it."""
    engine = failure.reason.split(":", 1)[0] if failure.reason.startswith("unknown stack") else ""
    message = (
        f"pulumi:pulumi:StackReference {failure.referenced} read error: "
        f"{engine or failure.reason}\n  {failure.reason}"
    )
    fix = (
        "keep the referenced stack's state in the backend the referencing program logs in to, "
        "or publish the values another way (e.g. SSM parameters read with the AWS provider)"
    )
    return StackReferenceError(message, fix)
