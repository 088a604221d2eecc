"""Lint what the program renders: CloudFormation templates (cfn-lint) and state machines
(asl-validator).

Artifacts are found through a small registry keyed by resource type, so any component can make its
rendered documents checkable without touching the runner:

    from mlops.policy.linters import Artifact, register_artifact

    @register_artifact("aws:servicecatalog/product:Product")
    def _product(resource):
        yield Artifact("cfn", resource.name, render_template(resource))

Built in: Step Functions ``definition``; CloudFormation stacks' ``templateBody``; S3 objects
whose ``content`` (or local file ``source``) is a CloudFormation template. Service Catalog products
point at a template URL and are only checkable if their owner registers an extractor for the body.

asl-validator runs from ``node_modules/.bin`` (``npm ci`` at the repo root, see package.json) or,
when that is absent, through ``npx --yes asl-validator@<pinned>``; if neither works the run is
reported as skipped, never as passed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops.config import REPO_ROOT
from mlops.testing.mocks import RecordedResource

ASL_VALIDATOR_VERSION = "4.0.0"
ASL_TIMEOUT_S = 120


@dataclass(frozen=True)
class Artifact:
    kind: str  # "cfn" | "asl"
    name: str  # the resource (and property) it came from
    body: str


@dataclass(frozen=True)
class LintResult:
    tool: str
    artifact: str
    status: str  # "passed" | "failed" | "skipped"
    summary: str
    output: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    @property
    def skipped(self) -> bool:
        return self.status == "skipped"

    def to_json(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "artifact": self.artifact,
            "status": self.status,
            "summary": self.summary,
        }


Extractor = Callable[[RecordedResource], Iterable[Artifact]]
EXTRACTORS: dict[str, list[Extractor]] = {}


def register_artifact(resource_type: str) -> Callable[[Extractor], Extractor]:
    def decorate(extractor: Extractor) -> Extractor:
        EXTRACTORS.setdefault(resource_type, []).append(extractor)
        return extractor

    return decorate


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value)
    return None


@register_artifact("aws:sfn/stateMachine:StateMachine")
def _state_machine(resource: RecordedResource) -> Iterator[Artifact]:
    body = _text(resource.inputs.get("definition"))
    if body:
        yield Artifact("asl", f"{resource.name}.definition", body)


@register_artifact("aws:cloudformation/stack:Stack")
def _cfn_stack(resource: RecordedResource) -> Iterator[Artifact]:
    body = _text(resource.inputs.get("templateBody"))
    if body:
        yield Artifact("cfn", f"{resource.name}.templateBody", body)


def looks_like_cfn(body: str) -> bool:
    return "AWSTemplateFormatVersion" in body or (
        "Resources" in body and ("Type: AWS::" in body or '"Type": "AWS::' in body)
    )


def _s3_object(resource: RecordedResource) -> Iterator[Artifact]:
    body = _text(resource.inputs.get("content"))
    source = resource.inputs.get("source")
    path = getattr(source, "path", None)
    if body is None and isinstance(path, str) and Path(path).is_file():
        body = Path(path).read_text(errors="replace")
    if body and looks_like_cfn(body):
        yield Artifact("cfn", f"{resource.name}.content", body)


for _type in ("aws:s3/bucketObjectv2:BucketObjectv2", "aws:s3/bucketObject:BucketObject"):
    register_artifact(_type)(_s3_object)


def artifacts(resources: Iterable[RecordedResource]) -> list[Artifact]:
    found = []
    for resource in resources:
        for extractor in EXTRACTORS.get(resource.type, []):
            found += list(extractor(resource))
    return found


# --- tools ---------------------------------------------------------------------------------------


def run_cfn_lint(artifact: Artifact, region: str = "eu-west-2") -> LintResult:
    from cfnlint.api import lint

    matches = lint(artifact.body, regions=[region])
    errors = [m for m in matches if str(m.rule.id).startswith("E")]
    output = "\n".join(str(m) for m in matches)
    if errors:
        return LintResult("cfn-lint", artifact.name, "failed", f"{len(errors)} errors", output)
    return LintResult("cfn-lint", artifact.name, "passed", f"{len(matches)} warnings", output)


def asl_validator_command(root: Path = REPO_ROOT) -> list[str] | None:
    local = root / "node_modules" / ".bin" / "asl-validator"
    if local.exists():
        return [str(local)]
    npx = shutil.which("npx")
    return [npx, "--yes", f"asl-validator@{ASL_VALIDATOR_VERSION}"] if npx else None


def run_asl_validator(artifact: Artifact, root: Path = REPO_ROOT) -> LintResult:
    command = asl_validator_command(root)
    if command is None:
        return LintResult("asl-validator", artifact.name, "skipped", "node/npx not installed")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "definition.json"
        path.write_text(artifact.body)
        try:
            proc = subprocess.run(  # noqa: S603 - fixed command, our own temp file
                [*command, "--json-path", str(path)],
                capture_output=True,
                text=True,
                timeout=ASL_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return LintResult("asl-validator", artifact.name, "skipped", f"could not run: {exc}")
    output = (proc.stdout + proc.stderr).replace(str(path), artifact.name).strip()
    if proc.returncode == 0:
        return LintResult("asl-validator", artifact.name, "passed", "valid", output)
    if proc.returncode == 1 and "invalid" in output:
        lines = [ln for ln in output.splitlines() if ln.strip() and "is invalid" not in ln]
        return LintResult("asl-validator", artifact.name, "failed", "; ".join(lines), output)
    return LintResult(
        "asl-validator", artifact.name, "skipped", f"tool error (exit {proc.returncode})", output
    )


def lint_resources(
    resources: Iterable[RecordedResource], region: str = "eu-west-2"
) -> list[LintResult]:
    results = []
    for artifact in artifacts(resources):
        if artifact.kind == "cfn":
            results.append(run_cfn_lint(artifact, region))
        elif artifact.kind == "asl":
            results.append(run_asl_validator(artifact))
    return results
