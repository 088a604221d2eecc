"""Contracts between programs that IAM does not see: what the smoke test expects of the decision
API's answer versus what the inference repo's decide step returns (its response schema)."""

from __future__ import annotations

from pathlib import Path

from mlops.rehearsal.programs import ProgramRun, _import_path
from mlops.rehearsal.runner import Verdict


def response_schema(repo: Path) -> dict | None:
    """The inference repo's `infra.response_schema()` (None when it declares none), imported in
    isolation from other rendered copies (`mlops.delivery.deploy.response_schema`)."""
    from mlops.delivery.deploy import response_schema as load

    if not (repo / "src").is_dir():
        return None
    isolate = [p.name for p in (repo / "src").iterdir() if p.is_dir()]
    with _import_path([repo / "src"], isolate):
        return load(repo)


def smoke_contract(run: ProgramRun) -> Verdict:
    from mlops.delivery.deploy import SMOKE_ENUM_FIELD, SMOKE_REQUIRED_FIELDS, schema_problems

    repo = Path(run.program_path).parent.parent if run.program_path else None
    schema = response_schema(repo) if repo else None
    if schema is None:
        return Verdict("invalid", f"{run.name}: the inference repo declares no response_schema()")
    problems = schema_problems(schema)
    if problems:
        fields = sorted(schema.get("properties", {}))
        return Verdict(
            "denied",
            f"the smoke test (mlops/delivery/deploy.py) requires {list(SMOKE_REQUIRED_FIELDS)} "
            f"in the answer: {'; '.join(problems)} (it has: {', '.join(fields[:8])}, ...): every "
            "smoke test would fail",
        )
    allowed = schema["properties"][SMOKE_ENUM_FIELD]["enum"]
    return Verdict(
        "allowed",
        f"answer fields {list(SMOKE_REQUIRED_FIELDS)} are in the schema; {SMOKE_ENUM_FIELD} is "
        f"one of {', '.join(allowed)}",
    )
