"""Contracts between programs that IAM does not see: what the smoke test expects of the decision
API's answer versus what the inference repo's decide step returns."""

from __future__ import annotations

import importlib
from pathlib import Path

from mlops.rehearsal.programs import ProgramRun, _import_path
from mlops.rehearsal.runner import Verdict


def response_schema(repo: Path) -> dict | None:
    """The inference repo's `infra.response_schema()` (None when it declares none)."""
    found = sorted((repo / "src").glob("*_inference/infra.py"))
    if len(found) != 1:
        return None
    package = found[0].parent.name
    isolate = [p.name for p in (repo / "src").iterdir() if p.is_dir()]
    with _import_path([repo / "src"], isolate):
        infra = importlib.import_module(f"{package}.infra")
        build = getattr(infra, "response_schema", None)
        return build() if build else None


def smoke_contract(run: ProgramRun) -> Verdict:
    from mlops.delivery.deploy import SMOKE_REQUIRED_FIELDS

    repo = Path(run.program_path).parent.parent if run.program_path else None
    schema = response_schema(repo) if repo else None
    if schema is None:
        return Verdict("invalid", f"{run.name}: the inference repo declares no response_schema()")
    fields = set(schema.get("properties", {}))
    missing = [f for f in SMOKE_REQUIRED_FIELDS if f not in fields]
    if missing:
        return Verdict(
            "denied",
            f"the smoke test (mlops/delivery/deploy.py) requires {missing} in the answer, but the "
            f"decision response has no such field (it has: {', '.join(sorted(fields)[:8])}, ...): "
            "every smoke test would fail",
        )
    return Verdict("allowed", f"answer fields {list(SMOKE_REQUIRED_FIELDS)} are in the schema")
