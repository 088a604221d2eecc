"""Tables and JSON for `mlops rehearse`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlops.rehearsal.runner import ExpectedFailure, ScenarioResult, StepResult

_MARK = {
    "ok": "ok",
    "failed": "FAIL",
    "known-failure": "known",
    "stale-expected": "STALE",
}


def short_principal(arn: str) -> str:
    if arn.startswith("service:"):
        return arn.removeprefix("service:")
    if ":role/" in arn:
        account = arn.split(":")[4]
        return f"{arn.rsplit('/', 1)[-1]} ({account})"
    return arn


def short_resource(arn: str, width: int = 70) -> str:
    text = arn.removeprefix("arn:aws:")
    return text if len(text) <= width else text[: width - 1] + "…"


def step_json(step: StepResult) -> dict[str, Any]:
    out: dict[str, Any] = {
        "program": step.program,
        "step": step.step,
        "principal": step.principal,
        "action": step.action,
        "resource": step.resource,
        "expect": step.expect,
        "verdict": step.verdict.outcome,
        "reason": step.verdict.reason,
        "via": step.verdict.via,
        "status": step.status,
        "source": step.source,
        "why": step.why,
    }
    if step.expected_failure:
        out["expected_failure"] = {
            "issue": step.expected_failure.issue,
            "why": step.expected_failure.why,
        }
    return out


def to_json(results: Sequence[ScenarioResult], unused: Sequence[ExpectedFailure]) -> dict:
    return {
        "scenarios": {
            r.name: {
                "status": r.status,
                "steps": [step_json(s) for s in r.steps],
                "counts": {
                    status: sum(1 for s in r.steps if s.status == status) for status in _MARK
                },
            }
            for r in results
        },
        "unused_expected_failures": [
            {"match": e.id, "issue": e.issue, "why": e.why} for e in unused
        ],
        "passed": passed(results, unused),
    }


def passed(results: Sequence[ScenarioResult], unused: Sequence[ExpectedFailure]) -> bool:
    return not unused and all(r.status != "failed" for r in results)


def render(console: Any, results: Sequence[ScenarioResult], unused: Sequence[ExpectedFailure],
           *, verbose: bool = False) -> None:  # fmt: skip
    from rich.table import Table
    from rich.text import Text

    for result in results:
        table = Table(
            title=f"scenario {result.name}: {result.status} ({len(result.steps)} calls, "
            f"{len(result.failed)} failed, {len(result.known)} known, "
            f"{len(result.stale)} stale)",
            title_justify="left",
            show_lines=False,
        )
        for column in ("#", "step", "principal", "call", "verdict", "reason"):
            table.add_column(column, overflow="fold")
        for i, step in enumerate(result.steps, 1):
            if not verbose and step.status == "ok":
                continue
            verdict = step.verdict.outcome
            if step.expect == "deny":
                verdict = f"{verdict} (attack)"
            mark = _MARK[step.status]
            reason = step.verdict.reason or step.verdict.via
            if step.expected_failure:
                reason = f"[{step.expected_failure.issue}] {reason}"
            cells = (
                str(i),
                step.step,
                short_principal(step.principal),
                f"{step.action} {short_resource(step.resource)}",
                f"{mark}: {verdict}",
                reason,
            )
            table.add_row(*(Text(c) for c in cells))  # never parse ARNs or [issue] as markup
        console.print(table)
    if unused:
        console.print(
            "expected failures that no longer fail (remove them from "
            "mlops/rehearsal/expected.yaml):",
            markup=False,
        )
        for entry in unused:
            console.print(f"  - {entry.id} [{entry.issue}]", markup=False)
