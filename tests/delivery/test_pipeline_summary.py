"""`mlops pipeline show`: a training pipeline definition's images (by digest), code version, gate
and tuning budget, and the problems that stop it running exactly one build's images and code."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from test_sagemaker_pipelines import ENV, IMAGE, INFERENCE_IMAGE, RECIPE, _build, _steps
from typer.testing import CliRunner

from mlops.cli import app
from mlops.delivery.pipeline_summary import summarize

CODE = f"s3://{ENV['ARTIFACT_BUCKET']}/{ENV['CODE_PREFIX']}"


@pytest.fixture(scope="module")
def definition() -> dict[str, Any]:
    return _build(ENV, RECIPE)


def test_the_governed_definition_runs_one_builds_digests_and_code(definition) -> None:
    summary = summarize(definition)
    assert summary.problems == []
    by_kind = {(i.kind, i.uri) for i in summary.images}
    assert by_kind == {
        ("training", IMAGE),
        ("processing", IMAGE),
        ("model package", INFERENCE_IMAGE),
    }
    assert [i.step for i in summary.images if i.kind == "model package"] == ["Register"]
    assert {i.digest for i in summary.images} == {"sha256:" + "a" * 64, "sha256:" + "c" * 64}
    assert summary.code_versions == [CODE]
    assert {(c.step, c.input) for c in summary.code} >= {("Preprocess", "src"), ("Tune", "code")}
    assert summary.gate == "error_rate <= 0.2"
    assert summary.tuning == "Bayesian, 30 jobs, 6 in parallel, minimize validation:loss"
    text = "\n".join(summary.lines())
    assert f"model package image: {INFERENCE_IMAGE}  (Register)" in text
    assert f"code: {CODE}/" in text


def test_a_tagged_image_or_a_second_code_version_is_a_problem(definition) -> None:
    tagged = copy.deepcopy(definition)
    spec = _steps(tagged)["Tune"]["Arguments"]["TrainingJobDefinition"]["AlgorithmSpecification"]
    spec["TrainingImage"] = IMAGE.split("@")[0] + ":latest"
    found = summarize(tagged).problems
    assert any(p.startswith("Tune: the training image is not pinned by digest") for p in found)
    assert any("2 different images" in p for p in found), found

    other = copy.deepcopy(definition)
    [src] = [
        i
        for i in _steps(other)["Evaluate"]["Arguments"]["ProcessingInputs"]
        if i["InputName"] == "src"
    ]
    src["S3Input"]["S3Uri"] = src["S3Input"]["S3Uri"].replace("b" * 64, "e" * 64)
    assert any("2 code versions" in p for p in summarize(other).problems)

    unregistered = copy.deepcopy(definition)
    container = _steps(unregistered)["Register"]["Arguments"]["InferenceSpecification"]
    container["Containers"][0]["Image"] = INFERENCE_IMAGE.split("@")[0] + ":v1"
    [problem] = summarize(unregistered).problems
    assert problem.startswith("Register: the model package image is not pinned by digest")


def test_cli_reads_a_describe_pipeline_response_and_exits_1_on_a_problem(
    definition, tmp_path
) -> None:
    response = tmp_path / "describe.json"
    response.write_text(json.dumps({"PipelineDefinition": json.dumps(definition)}))
    result = CliRunner().invoke(app, ["pipeline", "show", "--definition", str(response)])
    assert result.exit_code == 0, result.output
    assert INFERENCE_IMAGE in result.output and f"{CODE}/" in result.output

    as_json = CliRunner().invoke(app, ["pipeline", "show", "--json", "--definition", str(response)])
    data = json.loads(as_json.output)
    assert data["code_versions"] == [CODE] and data["problems"] == []

    tagged = copy.deepcopy(definition)
    _steps(tagged)["Preprocess"]["Arguments"]["AppSpecification"]["ImageUri"] = "repo:latest"
    bad = tmp_path / "tagged.json"
    bad.write_text(json.dumps(tagged))
    result = CliRunner().invoke(app, ["pipeline", "show", "--definition", str(bad)])
    assert result.exit_code == 1
    assert "Preprocess: the processing image is not pinned by digest" in result.output


def test_a_file_that_is_not_a_definition_is_refused_by_name(tmp_path) -> None:
    from mlops.delivery.pipeline_summary import load_definition
    from mlops.errors import MlopsError

    path = tmp_path / "x.json"
    path.write_text(json.dumps({"Pipelines": []}))
    with pytest.raises(MlopsError, match="no Steps list"):
        summarize(load_definition(path))
    with pytest.raises(MlopsError, match="no such file"):
        load_definition(tmp_path / "missing.json")
