"""The SageMaker pipeline definition, built fully offline (no AWS calls)."""

import os

import pytest

from remedy_training import usecase
from remedy_training.search_space import SEARCH_SPACE

os.environ.setdefault("AWS_DEFAULT_REGION", usecase.AWS_REGION)
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ["SAGEMAKER_VALIDATE_ROLE"] = "false"

KMS = "arn:aws:kms:eu-west-2:111111111111:key/1234"


@pytest.fixture(scope="module")
def definition() -> dict:
    from remedy_training.pipeline import PipelineSettings, pipeline_definition

    settings = PipelineSettings(
        environment="dev",
        account_id="111111111111",
        role_arn="arn:aws:iam::111111111111:role/mlops-dev-claims-pipeline",
        bucket="mlops-dev-data-111111111111-eu-west-2",
        kms_key_id=KMS,
        subnet_ids=("subnet-0abc", "subnet-0def"),
        security_group_ids=("sg-0abc",),
    )
    return pipeline_definition(settings)


def _steps(definition: dict) -> dict[str, dict]:
    steps = {}
    for step in definition["Steps"]:
        steps[step["Name"]] = step
        for branch in ("IfSteps", "ElseSteps"):
            for inner in step.get("Arguments", {}).get(branch, []):
                steps[inner["Name"]] = inner
    return steps


def test_steps_and_branches(definition):
    assert [s["Name"] for s in definition["Steps"]] == ["Preprocess", "Tune", "Evaluate", "Gate"]
    steps = _steps(definition)
    gate = steps["Gate"]["Arguments"]
    assert [s["Name"] for s in gate["IfSteps"]] == ["Register"]
    assert [s["Name"] for s in gate["ElseSteps"]] == ["GateFailed"]
    assert steps["GateFailed"]["Type"] == "Fail"
    cond = gate["Conditions"][0]
    assert cond["LeftValue"]["Std:JsonGet"]["Path"] == f"metrics.{usecase.EVAL_METRIC}.value"
    assert cond["RightValue"] == {"Get": "Parameters.EvalThreshold"}


def test_bayesian_tuning_with_use_case_limits_and_the_search_space(definition):
    config = _steps(definition)["Tune"]["Arguments"]["HyperParameterTuningJobConfig"]
    assert config["Strategy"] == "Bayesian"
    assert config["ResourceLimits"] == {
        "MaxParallelTrainingJobs": usecase.TUNING_MAX_PARALLEL,
        "MaxNumberOfTrainingJobs": usecase.TUNING_MAX_JOBS,
    }
    objective = config["HyperParameterTuningJobObjective"]
    assert objective == {"Type": "Minimize", "MetricName": "validation:repair_mdape"}
    ranges = config["ParameterRanges"]
    names = {r["Name"] for kind in ranges.values() for r in kind}
    assert names == {p.name for p in SEARCH_SPACE}
    job = _steps(definition)["Tune"]["Arguments"]["TrainingJobDefinition"]
    regexes = {m["Name"] for m in job["AlgorithmSpecification"]["MetricDefinitions"]}
    assert "validation:repair_mdape" in regexes


def test_every_job_is_in_the_vpc_encrypted_and_isolated(definition):
    steps = _steps(definition)
    for name in ("Preprocess", "Evaluate"):
        args = steps[name]["Arguments"]
        net = args["NetworkConfig"]
        assert net["EnableNetworkIsolation"] is True, name
        assert net["EnableInterContainerTrafficEncryption"] is True, name
        assert net["VpcConfig"]["Subnets"] == ["subnet-0abc", "subnet-0def"], name
        assert net["VpcConfig"]["SecurityGroupIds"] == ["sg-0abc"], name
        assert args["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == KMS, name
        assert args["ProcessingOutputConfig"]["KmsKeyId"] == KMS, name
    job = steps["Tune"]["Arguments"]["TrainingJobDefinition"]
    assert job["VpcConfig"]["Subnets"] == ["subnet-0abc", "subnet-0def"]
    assert job["VpcConfig"]["SecurityGroupIds"] == ["sg-0abc"]
    assert job["ResourceConfig"]["VolumeKmsKeyId"] == KMS
    assert job["OutputDataConfig"]["KmsKeyId"] == KMS
    assert job["EnableNetworkIsolation"] is True
    assert job["EnableInterContainerTrafficEncryption"] is True


def test_register_is_pending_manual_approval_with_metrics(definition):
    reg = _steps(definition)["Register"]["Arguments"]
    assert reg["ModelPackageGroupName"] == f"mlops-dev-{usecase.USECASE_NAME}-models"
    assert reg["ModelApprovalStatus"] == {"Get": "Parameters.ModelApprovalStatus"}
    params = {p["Name"]: p for p in definition["Parameters"]}
    assert params["ModelApprovalStatus"]["DefaultValue"] == "PendingManualApproval"
    assert params["EvalThreshold"]["DefaultValue"] == usecase.EVAL_THRESHOLD
    stats = reg["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert stats["ContentType"] == "application/json"
    container = reg["InferenceSpecification"]["Containers"][0]
    assert container["Image"].endswith(f"mlops-dev-{usecase.USECASE_NAME}-inference:latest")
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "remedy_inference/inference.py"
    model_url = container["ModelDataUrl"]["Std:Join"]
    assert {"Get": "Steps.Tune.TrainingJobSummaries[0].TrainingJobName"} in model_url["Values"]


def test_trials_are_grouped_under_an_experiment(definition):
    assert definition["PipelineExperimentConfig"] == {
        "ExperimentName": {"Get": "Execution.PipelineName"},
        "TrialName": {"Get": "Execution.PipelineExecutionId"},
    }


def test_settings_without_vpc_are_refused():
    from remedy_training.pipeline import PipelineSettings

    with pytest.raises(ValueError, match="subnet_ids"):
        PipelineSettings(
            environment="dev",
            account_id="1",
            role_arn="r",
            bucket="b",
            kms_key_id=KMS,
            subnet_ids=(),
            security_group_ids=(),
        )
