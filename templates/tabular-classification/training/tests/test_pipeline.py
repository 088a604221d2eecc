"""The SageMaker pipeline definition, built offline (no AWS calls)."""

from __future__ import annotations

import os

import pytest
from mlops.naming import usecase_name

from tabular_core import usecase
from tabular_training import estimator

os.environ.setdefault("AWS_DEFAULT_REGION", usecase.AWS_REGION)
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ["SAGEMAKER_VALIDATE_ROLE"] = "false"

from tabular_training.pipeline import PipelineSettings, pipeline_definition

SETTINGS = PipelineSettings(
    environment="dev",
    account_id="111111111111",
    role_arn="arn:aws:iam::111111111111:role/mlops-dev-pipeline",
    bucket="mlops-dev-111111111111-euw2-data",
    kms_key_id="arn:aws:kms:eu-west-2:111111111111:key/1234",
    subnet_ids=("subnet-0abc",),
    security_group_ids=("sg-0abc",),
)


@pytest.fixture(scope="module")
def definition() -> dict:
    return pipeline_definition(SETTINGS)


def _steps(definition: dict) -> dict[str, dict]:
    steps = {}
    for step in definition["Steps"]:
        steps[step["Name"]] = step
        for branch in ("IfSteps", "ElseSteps"):
            for inner in step.get("Arguments", {}).get(branch, []):
                steps[inner["Name"]] = inner
    return steps


def test_steps_and_order(definition) -> None:
    assert [s["Name"] for s in definition["Steps"]] == ["Preprocess", "Tune", "Evaluate", "Gate"]
    steps = _steps(definition)
    assert steps["Register"]["Type"] == "RegisterModel"
    assert steps["GateFailed"]["Type"] == "Fail"


def test_tuning_uses_the_use_case_limits_and_search_space(definition) -> None:
    config = _steps(definition)["Tune"]["Arguments"]["HyperParameterTuningJobConfig"]
    assert config["ResourceLimits"] == {
        "MaxParallelTrainingJobs": usecase.TUNING_MAX_PARALLEL,
        "MaxNumberOfTrainingJobs": usecase.TUNING_MAX_JOBS,
    }
    assert config["HyperParameterTuningJobObjective"]["MetricName"] == (
        f"validation:{usecase.EVAL_METRIC}"
    )
    ranges = config["ParameterRanges"]
    names = {r["Name"] for kind in ranges.values() for r in kind}
    assert names == set(estimator.SEARCH_SPACE)


def test_gate_compares_the_metric_with_the_threshold(definition) -> None:
    params = {p["Name"]: p for p in definition["Parameters"]}
    assert params["EvalThreshold"]["DefaultValue"] == usecase.EVAL_THRESHOLD
    (condition,) = _steps(definition)["Gate"]["Arguments"]["Conditions"]
    assert condition["Type"] == "GreaterThanOrEqualTo"
    assert condition["LeftValue"]["Std:JsonGet"]["Path"] == f"metrics.{usecase.EVAL_METRIC}.value"
    assert condition["RightValue"] == {"Get": "Parameters.EvalThreshold"}


def test_registration_uses_the_platform_name_and_waits_for_approval(definition) -> None:
    register = _steps(definition)["Register"]["Arguments"]
    expected = usecase_name(SETTINGS.names, usecase.USECASE_NAME, "models", kind="sagemaker")
    assert register["ModelPackageGroupName"] == expected
    assert expected.startswith("mlops-dev-")
    assert register["ModelApprovalStatus"] == {"Get": "Parameters.ModelApprovalStatus"}
    assert params_default(definition, "ModelApprovalStatus") == "PendingManualApproval"
    assert "ModelQuality" in register["ModelMetrics"]


def test_jobs_run_in_the_vpc_with_kms(definition) -> None:
    steps = _steps(definition)
    training = steps["Tune"]["Arguments"]["TrainingJobDefinition"]
    assert training["VpcConfig"]["Subnets"] == ["subnet-0abc"]
    assert training["OutputDataConfig"]["KmsKeyId"] == SETTINGS.kms_key_id
    assert training["ResourceConfig"]["VolumeKmsKeyId"] == SETTINGS.kms_key_id
    assert training["EnableNetworkIsolation"] is True
    assert training["EnableInterContainerTrafficEncryption"] is True
    channels = {c["ChannelName"] for c in training["InputDataConfig"]}
    assert channels == {"train", "validation", "code"}
    for name in ("Preprocess", "Evaluate"):
        args = steps[name]["Arguments"]
        assert args["NetworkConfig"]["VpcConfig"]["Subnets"] == ["subnet-0abc"]
        assert args["NetworkConfig"]["EnableNetworkIsolation"] is True
        assert args["NetworkConfig"]["EnableInterContainerTrafficEncryption"] is True
        assert args["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == SETTINGS.kms_key_id


def params_default(definition: dict, name: str):
    return next(p["DefaultValue"] for p in definition["Parameters"] if p["Name"] == name)
