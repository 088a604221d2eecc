"""Checks of the knowledge base against the Service Authorization Reference ("Actions,
resources, and condition keys"), through the rehearsal's IAM action catalogue
(:mod:`mlops.rehearsal.catalogue`, parliament's ``iam_definition.json``): every call must name a
real action, a resource the action takes (``*`` only where it takes no resource type), and
condition keys the action documents (global ``aws:*`` keys and the per-request KMS encryption
context aside).
"""

from __future__ import annotations

import functools
import re

from mlops.rehearsal import catalogue as reference


@functools.cache
def _key_patterns(action: str) -> tuple[re.Pattern[str], ...]:
    out = []
    for template in reference.condition_keys(action):
        parts = re.split(r"(\$\{[^}]+\})", template)
        rx = "".join(".+" if p.startswith("${") else re.escape(p) for p in parts)
        out.append(re.compile(rx, re.IGNORECASE))
    return tuple(out)


def problems(action: str, resource: str, context_keys: tuple[str, ...] = ()) -> list[str]:
    """What is wrong with one call against the reference (empty: nothing)."""
    try:
        reference.action_info(action)
    except reference.UnknownActionError as exc:
        return [str(exc)]
    out: list[str] = []
    if not reference.accepts_resource(action, resource):
        formats = ", ".join(reference.resource_arn_formats(action)) or "*"
        out.append(f"{action}: resource {resource} fits none of {formats}")
    for key in context_keys:
        if key.lower().startswith(("aws:", "kms:encryptioncontext:")):
            continue
        if not any(p.fullmatch(key) for p in _key_patterns(action)):
            out.append(f"{action}: condition key {key} is not documented for it")
    return out
