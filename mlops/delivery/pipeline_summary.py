"""`mlops pipeline show`: what a training pipeline definition runs — its images and code version.

Reads a SageMaker Pipeline definition (the JSON `upsert` sends; `aws sagemaker describe-pipeline`
returns it as `PipelineDefinition`) and reports, per step, the image each job and the model
package run and the S3 code location each job reads, plus the gate and the tuning budget. The
governed pipeline (`mlops.sagemaker_pipelines`) runs only digest-pinned images and one
content-addressed code version (`mlops.delivery.training_code`); a definition that does not is
reported with its problems (a tag instead of a digest, two code versions, a training image that
differs between steps), and `mlops pipeline show` exits 1.

Without a definition file, the command builds the use case's definition offline exactly as the
rehearsal does (`mlops.rehearsal.training.pipeline_definition`: the platform's dev stack under
mocks, the rendered training repo, stand-in digests `mlops.components.images.EXAMPLE_DIGESTS`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops.errors import MlopsError

DIGEST_PINNED = re.compile(r"[^@\s]+@sha256:[0-9a-f]{64}")
_CODE_VERSION = re.compile(r"(s3://[^/]+/[^/]+/code/[0-9a-f]{64})/")


@dataclass(frozen=True)
class ImageUse:
    step: str
    kind: str
    """`processing`, `training` (the tuning jobs) or `model package` (the registered container)."""
    uri: str

    @property
    def pinned(self) -> bool:
        return bool(DIGEST_PINNED.fullmatch(self.uri))

    @property
    def digest(self) -> str | None:
        return self.uri.rsplit("@", 1)[1] if self.pinned else None


@dataclass(frozen=True)
class CodeUse:
    step: str
    input: str
    uri: str


@dataclass
class PipelineSummary:
    steps: list[str]
    images: list[ImageUse]
    code: list[CodeUse]
    gate: str | None = None
    tuning: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def code_versions(self) -> list[str]:
        """The distinct `s3://<bucket>/<usecase>/code/<sha256>` prefixes the steps read."""
        found = {m.group(1) for c in self.code if (m := _CODE_VERSION.match(c.uri + "/"))}
        return sorted(found)

    def to_json(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "images": [
                {"step": i.step, "kind": i.kind, "uri": i.uri, "digest": i.digest}
                for i in self.images
            ],
            "code": [{"step": c.step, "input": c.input, "uri": c.uri} for c in self.code],
            "code_versions": self.code_versions,
            "gate": self.gate,
            "tuning": self.tuning,
            "problems": self.problems,
        }

    def lines(self) -> list[str]:
        out = [f"steps: {' -> '.join(self.steps)}"]
        for kind in ("training", "processing", "model package"):
            uris = sorted({i.uri for i in self.images if i.kind == kind})
            steps = [i.step for i in self.images if i.kind == kind]
            for uri in uris:
                out.append(f"{kind} image: {uri}  ({', '.join(steps)})")
        for version in self.code_versions:
            out.append(f"code: {version}/  (src/ and source.tar.gz)")
        if self.gate:
            out.append(f"gate: {self.gate}")
        if self.tuning:
            out.append(f"tuning: {self.tuning}")
        return out


def _all_steps(steps: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for step in steps:
        yield step
        args = step.get("Arguments") or {}
        yield from _all_steps([*args.get("IfSteps", []), *args.get("ElseSteps", [])])


def _text(value: Any) -> str:
    """A definition value as text: literal strings as they are, expressions as compact JSON."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _gate(args: Mapping[str, Any]) -> str | None:
    ops = {"GreaterThanOrEqualTo": ">=", "LessThanOrEqualTo": "<=", "GreaterThan": ">"}
    ops |= {"LessThan": "<", "Equals": "=="}
    parts = []
    for cond in args.get("Conditions", []):
        left = cond.get("LeftValue")
        path = left.get("Std:JsonGet", {}).get("Path") if isinstance(left, dict) else None
        metric = path.removeprefix("metrics.").removesuffix(".value") if path else _text(left)
        op = ops.get(cond.get("Type"), cond.get("Type"))
        parts.append(f"{metric} {op} {cond.get('RightValue')}")
    return " and ".join(parts) or None


def summarize(definition: Mapping[str, Any]) -> PipelineSummary:
    """The images, code locations, gate and tuning budget of a pipeline definition."""
    if not isinstance(definition, Mapping) or not isinstance(definition.get("Steps"), list):
        raise MlopsError(
            "not a SageMaker Pipeline definition: it has no Steps list",
            "pass the definition JSON (describe-pipeline's PipelineDefinition, or its response)",
        )
    steps = list(_all_steps(definition["Steps"]))
    images: list[ImageUse] = []
    code: list[CodeUse] = []
    gate = tuning = None
    for step in steps:
        name, args = step.get("Name", "?"), step.get("Arguments") or {}
        kind = step.get("Type")
        if kind == "Processing":
            images.append(ImageUse(name, "processing", _text(args["AppSpecification"]["ImageUri"])))
            for i in args.get("ProcessingInputs", []):
                uri = i.get("S3Input", {}).get("S3Uri")
                if isinstance(uri, str) and "/code/" in uri:
                    code.append(CodeUse(name, i.get("InputName", "?"), uri))
        elif kind == "Training" or kind == "Tuning":
            job = args.get("TrainingJobDefinition", args)
            spec = job.get("AlgorithmSpecification", {})
            images.append(ImageUse(name, "training", _text(spec.get("TrainingImage", ""))))
            for channel in job.get("InputDataConfig", []):
                uri = channel.get("DataSource", {}).get("S3DataSource", {}).get("S3Uri")
                if isinstance(uri, str) and "/code/" in uri:
                    code.append(CodeUse(name, channel.get("ChannelName", "?"), uri))
            if kind == "Tuning":
                cfg = args.get("HyperParameterTuningJobConfig", {})
                limits = cfg.get("ResourceLimits", {})
                objective = cfg.get("HyperParameterTuningJobObjective", {})
                tuning = (
                    f"{cfg.get('Strategy')}, {limits.get('MaxNumberOfTrainingJobs')} jobs, "
                    f"{limits.get('MaxParallelTrainingJobs')} in parallel, "
                    f"{objective.get('Type', '').lower()} {objective.get('MetricName')}"
                )
        elif kind == "RegisterModel":
            for container in args.get("InferenceSpecification", {}).get("Containers", []):
                images.append(ImageUse(name, "model package", _text(container.get("Image", ""))))
        elif kind == "Condition":
            gate = _gate(args)
    summary = PipelineSummary([s.get("Name", "?") for s in steps], images, code, gate, tuning)
    summary.problems = problems(summary)
    return summary


def problems(summary: PipelineSummary) -> list[str]:
    """What keeps the definition from running exactly one build's images and code."""
    found = [
        f"{i.step}: the {i.kind} image is not pinned by digest ({i.uri}); "
        "the build pipeline's Images stage hands on <repository>@sha256:<digest>"
        for i in summary.images
        if not i.pinned
    ]
    if not any(i.kind == "model package" for i in summary.images):
        found.append("no Register step: the definition registers no model package")
    training = {i.uri for i in summary.images if i.kind != "model package"}
    if len(training) > 1:
        listed = ", ".join(sorted(training))
        found.append(f"the jobs run {len(training)} different images: {listed}")
    versions = summary.code_versions
    if not versions:
        found.append("no job reads content-addressed code (s3://<bucket>/<usecase>/code/<sha256>/)")
    elif len(versions) > 1:
        found.append(f"the jobs read {len(versions)} code versions: {', '.join(versions)}")
    stray = [c for c in summary.code if not _CODE_VERSION.match(c.uri + "/")]
    found += [f"{c.step}: input {c.input} is not a content-addressed version ({c.uri})"
              for c in stray]  # fmt: skip
    return found


def load_definition(path: Path) -> dict[str, Any]:
    """A definition file: the definition itself, or `aws sagemaker describe-pipeline`'s response
    (whose `PipelineDefinition` is the definition as a JSON string)."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise MlopsError(f"{path}: no such file", "pass --definition FILE (JSON)") from None
    except json.JSONDecodeError as exc:
        raise MlopsError(f"{path} is not JSON: {exc}", "pass the definition's JSON") from None
    if isinstance(data, dict) and isinstance(data.get("PipelineDefinition"), str):
        data = json.loads(data["PipelineDefinition"])
    return data


def offline_definition(usecase: str) -> dict[str, Any]:
    """The use case's definition as its TrainingPipeline build would upsert it (offline)."""
    from mlops.rehearsal.commands import build
    from mlops.rehearsal.training import pipeline_definition

    definition, _ = pipeline_definition(build(usecase))
    return definition
