"""This repo's recipe in the platform's governed SageMaker pipeline, built offline (no AWS calls).
The pipeline itself (VPC, KMS, isolation, gate, registration) is the platform's
(`mlops.sagemaker_pipelines`); these tests check what this template adds to it."""

from __future__ import annotations

import os

import pytest

from tabular_core import usecase
from tabular_training import estimator

os.environ.setdefault("AWS_DEFAULT_REGION", usecase.AWS_REGION)
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ["SAGEMAKER_VALIDATE_ROLE"] = "false"

from mlops.sagemaker_pipelines import PipelineSettings, pipeline_definition

from tabular_training.recipe import RECIPE

CODE = f"{usecase.USECASE_NAME}/code/{'0' * 64}"
ECR = f"111111111111.dkr.ecr.{usecase.AWS_REGION}.amazonaws.com/mlops-dev-{usecase.USECASE_NAME}"
SETTINGS = PipelineSettings(
    usecase=usecase.USECASE_NAME,
    environment="dev",
    account_id="111111111111",
    region=usecase.AWS_REGION,
    role_arn="arn:aws:iam::111111111111:role/mlops-dev-pipeline",
    bucket="mlops-dev-pipeline-artifacts-111111111111-eu-west-2",
    kms_key_id="arn:aws:kms:eu-west-2:111111111111:key/1234",
    subnet_ids=("subnet-0abc",),
    security_group_ids=("sg-0abc",),
    code_prefix=CODE,
    eval_metric=usecase.EVAL_METRIC,
    eval_threshold=usecase.EVAL_THRESHOLD,
    tuning_max_jobs=usecase.TUNING_MAX_JOBS,
    tuning_max_parallel=usecase.TUNING_MAX_PARALLEL,
    image_uri=f"{ECR}-training@sha256:{'7d' * 32}",
    inference_image_uri=f"{ECR}-inference@sha256:{'1f' * 32}",
)


@pytest.fixture(scope="module")
def definition() -> dict:
    return pipeline_definition(SETTINGS, RECIPE)


def _steps(definition: dict) -> dict[str, dict]:
    steps = {}
    for step in definition["Steps"]:
        steps[step["Name"]] = step
        for branch in ("IfSteps", "ElseSteps"):
            for inner in step.get("Arguments", {}).get(branch, []):
                steps[inner["Name"]] = inner
    return steps


def test_the_scripts_of_this_repo_run_from_the_uploaded_code_version(definition) -> None:
    steps = _steps(definition)
    for step, script in (("Preprocess", "preprocess.py"), ("Evaluate", "evaluate.py")):
        inputs = {i["InputName"]: i for i in steps[step]["Arguments"]["ProcessingInputs"]}
        uri = inputs["code"]["S3Input"]["S3Uri"]
        assert uri == SETTINGS.code("src", "tabular_training", script)
    job = steps["Tune"]["Arguments"]["TrainingJobDefinition"]
    assert "tabular_training/train.py" in job["StaticHyperParameters"]["sagemaker_program"]


def test_tuning_optimises_the_validation_metric_over_this_search_space(definition) -> None:
    config = _steps(definition)["Tune"]["Arguments"]["HyperParameterTuningJobConfig"]
    assert config["HyperParameterTuningJobObjective"] == {
        "Type": "Maximize",
        "MetricName": f"validation:{usecase.EVAL_METRIC}",
    }
    names = {r["Name"] for kind in config["ParameterRanges"].values() for r in kind}
    assert names == set(estimator.SEARCH_SPACE)


def test_the_scripts_write_where_the_pipeline_collects(definition) -> None:
    steps = _steps(definition)
    outputs = steps["Preprocess"]["Arguments"]["ProcessingOutputConfig"]["Outputs"]
    assert {o["S3Output"]["LocalPath"] for o in outputs} == {
        f"/opt/ml/processing/{s}" for s in ("train", "validation", "test")
    }
    preprocess = steps["Preprocess"]["Arguments"]["AppSpecification"]["ContainerArguments"]
    assert preprocess == ["--output-dir", "/opt/ml/processing"]
    evaluate = steps["Evaluate"]["Arguments"]["AppSpecification"]["ContainerArguments"]
    assert evaluate == ["--output-dir", "/opt/ml/processing/evaluation"]


def test_registers_for_the_inference_repo_handler(definition) -> None:
    reg = _steps(definition)["Register"]["Arguments"]
    assert reg["ModelApprovalStatus"] == "PendingManualApproval"
    container = reg["InferenceSpecification"]["Containers"][0]
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "tabular_inference/serve.py"
