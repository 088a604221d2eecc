"""The platform's governed training pipeline (mlops.sagemaker_pipelines): the same
Preprocess -> Tune -> Evaluate -> Gate -> Register | GateFailed for every template, with network,
encryption and isolation fixed here, the budget, instance types and gate from the manifest (via the
build's environment) and only scripts, search space and objective from the template.

The definitions are built with the sagemaker SDK in a subprocess (its import-time state stays out
of the test process), as the rehearsal does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from mlops.sagemaker_pipelines import Param, PipelineSettings, Range, TrainingRecipe

KMS = "arn:aws:kms:eu-west-2:111111111111:key/1234"
IMAGE = "111111111111.dkr.ecr.eu-west-2.amazonaws.com/mlops-dev-demo-training@sha256:" + "a" * 64
INFERENCE_IMAGE = (
    "111111111111.dkr.ecr.eu-west-2.amazonaws.com/mlops-dev-demo-inference@sha256:" + "c" * 64
)
CODE = "demo/code/" + "b" * 64
ENV = {
    "USECASE": "demo",
    "ENVIRONMENT": "dev",
    "ACCOUNT_ID": "111111111111",
    "AWS_REGION": "eu-west-2",
    "SM_PIPELINE_ROLE_ARN": "arn:aws:iam::111111111111:role/mlops-dev-demo-sm-pipeline",
    "ARTIFACT_BUCKET": "mlops-dev-pipeline-artifacts-111111111111-eu-west-2",
    "KMS_KEY_ARN": KMS,
    "SUBNET_IDS": "subnet-a,subnet-b",
    "SECURITY_GROUP_IDS": "sg-a",
    "CODE_PREFIX": CODE,
    "EVAL_METRIC": "error_rate",
    "EVAL_THRESHOLD": "0.2",
    "EVAL_DIRECTION": "minimize",
    "TUNING_MAX_JOBS": "30",
    "TUNING_MAX_PARALLEL": "6",
    "TRAINING_INSTANCE_TYPE": "ml.c5.2xlarge",
    "PROCESSING_INSTANCE_TYPE": "ml.t3.medium",
    "TRAINING_IMAGE_URI": IMAGE,
    "INFERENCE_IMAGE_URI": INFERENCE_IMAGE,
}
RECIPE = dict(
    package="demo_training",
    search_space=[{"name": "depth", "kind": "integer", "low": 2, "high": 8}],
    objective_metric="validation:loss",
    objective_type="Minimize",
    metric_definitions=[{"Name": "validation:loss", "Regex": "loss=([0-9.]+)"}],
    serving_program="demo_inference/serve.py",
    gate_metrics={"error_rate": "minimize", "auc": "maximize"},
    preprocess_arguments=["--rows", {"param": "Rows"}],
    evaluate_arguments=["--metric", "{eval_metric}", "--threshold", "{eval_threshold}"],
    parameters={"Rows": 1000},
)
_SCRIPT = """
import json, sys
from mlops.sagemaker_pipelines import Param, PipelineSettings, Range, TrainingRecipe, \\
    pipeline_definition
import os
raw = json.loads(sys.argv[1])
raw["search_space"] = tuple(Range(**r) for r in raw["search_space"])
for key in ("preprocess_arguments", "evaluate_arguments"):
    raw[key] = tuple(Param(a["param"]) if isinstance(a, dict) else a for a in raw[key])
print(json.dumps(pipeline_definition(PipelineSettings.from_env(os.environ), TrainingRecipe(**raw))))
"""


def _build(env: dict[str, str], recipe: dict[str, Any]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT, json.dumps(recipe)],
        env={
            **os.environ,
            **env,
            "AWS_DEFAULT_REGION": "eu-west-2",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "SAGEMAKER_VALIDATE_ROLE": "false",
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def definition() -> dict[str, Any]:
    return _build(ENV, RECIPE)


def _steps(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    steps = {}
    for step in definition["Steps"]:
        steps[step["Name"]] = step
        for branch in ("IfSteps", "ElseSteps"):
            for inner in step.get("Arguments", {}).get(branch, []):
                steps[inner["Name"]] = inner
    return steps


def test_preprocess_tune_evaluate_gate_register_or_fail(definition) -> None:
    assert [s["Name"] for s in definition["Steps"]] == ["Preprocess", "Tune", "Evaluate", "Gate"]
    gate = _steps(definition)["Gate"]["Arguments"]
    assert [s["Name"] for s in gate["IfSteps"]] == ["Publish", "Register"]
    assert [(s["Name"], s["Type"]) for s in gate["ElseSteps"]] == [("GateFailed", "Fail")]
    assert definition["PipelineExperimentConfig"] == {
        "ExperimentName": {"Get": "Execution.PipelineName"},
        "TrialName": {"Get": "Execution.PipelineExecutionId"},
    }


def test_registration_waits_for_approval_and_nobody_can_start_it_otherwise(definition) -> None:
    reg = _steps(definition)["Register"]["Arguments"]
    assert reg["ModelApprovalStatus"] == "PendingManualApproval"
    assert reg["ModelPackageGroupName"] == "mlops-dev-demo-models"
    # the status, the gate and the budget are not parameters a starter could override
    assert [p["Name"] for p in definition["Parameters"]] == ["InputDataUri", "Rows"]


def test_only_a_model_past_the_gate_is_published_to_the_registry_with_its_sha256(definition):
    """The artifact contract: the Publish step copies the best model into dev's model-artifacts
    bucket under `<usecase>/models/<execution>/`, hashing it; the package points there and
    records the hash (the deploy verifies it)."""
    steps = _steps(definition)
    publish = steps["Publish"]["Arguments"]
    (out,) = publish["ProcessingOutputConfig"]["Outputs"]
    assert out["S3Output"]["S3Uri"]["Std:Join"]["Values"] == [
        "s3://mlops-dev-model-artifacts-111111111111-eu-west-2/demo/models",
        {"Get": "Execution.PipelineExecutionId"},
    ]
    assert publish["ProcessingOutputConfig"]["KmsKeyId"] == KMS
    assert publish["NetworkConfig"]["EnableNetworkIsolation"] is True
    (model_in,) = publish["ProcessingInputs"]
    assert "demo/tuning" in model_in["S3Input"]["S3Uri"]["Std:Join"]["Values"]
    assert steps["Publish"]["PropertyFiles"] == [
        {"PropertyFileName": "Checksum", "OutputName": "model", "FilePath": "checksum.json"}
    ]
    register = steps["Register"]["Arguments"]
    (container,) = register["InferenceSpecification"]["Containers"]
    assert container["Image"] == INFERENCE_IMAGE  # the package pins the inference digest
    assert container["ModelDataUrl"]["Std:Join"]["Values"] == [
        {"Get": "Steps.Publish.ProcessingOutputConfig.Outputs['model'].S3Output.S3Uri"},
        "model.tar.gz",
    ]
    checksum = register["CustomerMetadataProperties"]["mlops:model-data-sha256"]["Std:JsonGet"]
    assert checksum == {
        "PropertyFile": {"Get": "Steps.Publish.PropertyFiles.Checksum"},
        "Path": "sha256",
    }


def test_the_gate_is_the_manifests_metric_threshold_and_direction(definition) -> None:
    (condition,) = _steps(definition)["Gate"]["Arguments"]["Conditions"]
    assert condition["Type"] == "LessThanOrEqualTo"
    assert condition["LeftValue"]["Std:JsonGet"]["Path"] == "metrics.error_rate.value"
    assert condition["RightValue"] == 0.2
    args = _steps(definition)["Evaluate"]["Arguments"]["AppSpecification"]["ContainerArguments"]
    assert args == ["--metric", "error_rate", "--threshold", "0.2"]


def test_bayesian_tuning_in_rounds_of_the_manifests_parallel_jobs(definition) -> None:
    tune = _steps(definition)["Tune"]["Arguments"]
    config = tune["HyperParameterTuningJobConfig"]
    assert config["Strategy"] == "Bayesian"
    assert config["ResourceLimits"] == {"MaxParallelTrainingJobs": 6, "MaxNumberOfTrainingJobs": 30}
    assert config["HyperParameterTuningJobObjective"] == {
        "Type": "Minimize",
        "MetricName": "validation:loss",
    }
    assert tune["TrainingJobDefinition"]["ResourceConfig"]["InstanceType"] == "ml.c5.2xlarge"


def test_every_job_is_isolated_in_the_vpc_encrypted_and_runs_the_pinned_image(definition) -> None:
    steps = _steps(definition)
    for name in ("Preprocess", "Evaluate"):
        args = steps[name]["Arguments"]
        net = args["NetworkConfig"]
        assert net["EnableNetworkIsolation"] is True, name
        assert net["EnableInterContainerTrafficEncryption"] is True, name
        assert net["VpcConfig"] == {
            "Subnets": ["subnet-a", "subnet-b"],
            "SecurityGroupIds": ["sg-a"],
        }
        cluster = args["ProcessingResources"]["ClusterConfig"]
        assert cluster["VolumeKmsKeyId"] == KMS and cluster["InstanceType"] == "ml.t3.medium"
        assert args["ProcessingOutputConfig"]["KmsKeyId"] == KMS, name
        assert args["AppSpecification"]["ImageUri"] == IMAGE, name
    job = steps["Tune"]["Arguments"]["TrainingJobDefinition"]
    assert job["VpcConfig"] == {"Subnets": ["subnet-a", "subnet-b"], "SecurityGroupIds": ["sg-a"]}
    assert job["ResourceConfig"]["VolumeKmsKeyId"] == KMS
    assert job["OutputDataConfig"]["KmsKeyId"] == KMS
    assert job["EnableNetworkIsolation"] is True
    assert job["EnableInterContainerTrafficEncryption"] is True
    assert job["AlgorithmSpecification"]["TrainingImage"] == IMAGE


def test_jobs_read_the_uploaded_code_version_and_write_under_the_use_case(definition) -> None:
    steps = _steps(definition)
    bucket = ENV["ARTIFACT_BUCKET"]
    inputs = {i["InputName"]: i for i in steps["Preprocess"]["Arguments"]["ProcessingInputs"]}
    assert inputs["code"]["S3Input"]["S3Uri"] == (
        f"s3://{bucket}/{CODE}/src/demo_training/preprocess.py"
    )
    job = steps["Tune"]["Arguments"]["TrainingJobDefinition"]
    channels = {c["ChannelName"]: c for c in job["InputDataConfig"]}
    assert channels["code"]["DataSource"]["S3DataSource"]["S3Uri"] == (
        f"s3://{bucket}/{CODE}/source.tar.gz"
    )
    assert job["OutputDataConfig"]["S3OutputPath"] == f"s3://{bucket}/demo/tuning"
    params = {p["Name"]: p["DefaultValue"] for p in definition["Parameters"]}
    assert params["InputDataUri"] == f"s3://{bucket}/demo/input/"


def test_settings_come_from_the_build_environment() -> None:
    settings = PipelineSettings.from_env(ENV)
    assert settings.subnet_ids == ("subnet-a", "subnet-b")
    assert (settings.tuning_max_jobs, settings.tuning_max_parallel) == (30, 6)
    assert settings.eval_threshold == 0.2 and settings.image == IMAGE
    assert settings.pipeline_name == "mlops-dev-demo-training"
    with pytest.raises(ValueError, match="CODE_PREFIX"):
        PipelineSettings.from_env({k: v for k, v in ENV.items() if k != "CODE_PREFIX"})
    with pytest.raises(ValueError, match="every job runs in the VPC"):
        PipelineSettings.from_env({**ENV, "SUBNET_IDS": ","})


@pytest.mark.parametrize("variable", ["TRAINING_IMAGE_URI", "INFERENCE_IMAGE_URI"])
def test_an_image_without_its_digest_stops_the_build_naming_the_variable(variable) -> None:
    """No tag fallback: a missing digest, or a tag instead of one, is refused by name."""
    kind = variable.split("_")[0].lower()
    image = "image" if kind == "training" else "inference_image"
    missing = PipelineSettings.from_env({k: v for k, v in ENV.items() if k != variable})
    with pytest.raises(ValueError, match=f"^{variable} is not set: the pipeline runs only"):
        getattr(missing, image)
    tagged = PipelineSettings.from_env({**ENV, variable: ENV[variable].split("@")[0] + ":latest"})
    with pytest.raises(ValueError, match=f"^{variable} must be <repository>@sha256:<64 hex>"):
        getattr(tagged, image)


def test_a_recipe_cannot_gate_on_what_it_does_not_report() -> None:
    from mlops.sagemaker_pipelines import check_gate

    recipe = TrainingRecipe(
        **{
            **RECIPE,
            "search_space": (Range("depth", "integer", 2, 8),),
            "preprocess_arguments": ("--rows", Param("Rows")),
        }
    )
    settings = PipelineSettings.from_env(ENV)
    check_gate(settings, recipe)
    with pytest.raises(ValueError, match="'f1' is not reported by demo_training"):
        check_gate(PipelineSettings.from_env({**ENV, "EVAL_METRIC": "f1"}), recipe)
    with pytest.raises(ValueError, match="better when minimized"):
        check_gate(PipelineSettings.from_env({**ENV, "EVAL_DIRECTION": "maximize"}), recipe)
    with pytest.raises(ValueError, match="is not one of parameters"):
        TrainingRecipe(**{**RECIPE, "search_space": recipe.search_space,
                          "preprocess_arguments": (Param("Nope"),)})  # fmt: skip


@pytest.fixture(scope="module")
def with_baseline() -> dict[str, Any]:
    recipe = {**RECIPE, "baseline_script": "baseline.py",
              "baseline_arguments": ["--output", "{processing}/baseline"]}  # fmt: skip
    return _build(ENV, recipe)


def test_the_baseline_is_produced_from_the_train_split_and_attached_to_the_package(
    with_baseline,
) -> None:
    names = [s["Name"] for s in with_baseline["Steps"]]
    assert names == ["Preprocess", "Tune", "Evaluate", "Baseline", "Gate"]
    steps = _steps(with_baseline)
    args = steps["Baseline"]["Arguments"]
    inputs = {i["InputName"]: i["S3Input"]["S3Uri"] for i in args["ProcessingInputs"]}
    assert inputs["train"] == {
        "Get": "Steps.Preprocess.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"
    }
    assert args["AppSpecification"]["ContainerArguments"] == [
        "--output", "/opt/ml/processing/baseline"
    ]  # fmt: skip
    net = args["NetworkConfig"]
    assert net["EnableNetworkIsolation"] is True and args["ProcessingOutputConfig"]["KmsKeyId"]
    reg = steps["Register"]["Arguments"]
    out = "Steps.Baseline.ProcessingOutputConfig.Outputs['baseline'].S3Output.S3Uri"

    def file_of(source: dict[str, Any]) -> tuple[str, str]:
        join = source["S3Uri"]["Std:Join"]["Values"]
        return join[0]["Get"], join[1]

    drift = reg["DriftCheckBaselines"]["ModelDataQuality"]
    assert file_of(drift["Statistics"]) == (out, "statistics.json")
    assert file_of(drift["Constraints"]) == (out, "constraints.json")
    quality = reg["ModelMetrics"]["ModelDataQuality"]
    assert file_of(quality["Statistics"]) == (out, "statistics.json")
    assert reg["ModelMetrics"]["ModelQuality"]["Statistics"]["ContentType"] == "application/json"


def test_without_a_baseline_script_there_is_no_baseline_step(definition) -> None:
    assert "Baseline" not in _steps(definition)
    assert "DriftCheckBaselines" not in _steps(definition)["Register"]["Arguments"]


@pytest.fixture(scope="module")
def with_backtest() -> dict[str, Any]:
    recipe = {**RECIPE, "backtest_script": "backtest.py",
              "backtest_arguments": ["--output", "{processing}/backtest"]}  # fmt: skip
    return _build(ENV, recipe)


def test_the_backtest_scores_the_candidate_and_the_current_model_isolated_and_encrypted(
    with_backtest,
) -> None:
    names = [s["Name"] for s in with_backtest["Steps"]]
    assert names == ["Preprocess", "Tune", "Evaluate", "Backtest", "Gate"]
    args = _steps(with_backtest)["Backtest"]["Arguments"]
    bucket = ENV["ARTIFACT_BUCKET"]
    inputs = {i["InputName"]: i["S3Input"]["S3Uri"] for i in args["ProcessingInputs"]}
    assert inputs["code"] == f"s3://{bucket}/{CODE}/src/demo_training/backtest.py"
    assert inputs["test"] == {
        "Get": "Steps.Preprocess.ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri"
    }
    evaluate = _steps(with_backtest)["Evaluate"]["Arguments"]["ProcessingInputs"]
    assert (
        inputs["model"]
        == next(i for i in evaluate if i["InputName"] == "model")["S3Input"]["S3Uri"]
    ), "the backtest must score the model Evaluate scores (the best tuning job's)"
    assert inputs["current"] == {"Get": "Parameters.CurrentModelUri"}
    params = {p["Name"]: p["DefaultValue"] for p in with_backtest["Parameters"]}
    assert params["CurrentModelUri"] == f"s3://{bucket}/{CODE}/input/", "default: no model"
    net = args["NetworkConfig"]
    assert net["EnableNetworkIsolation"] is True
    assert net["EnableInterContainerTrafficEncryption"] is True
    assert net["VpcConfig"] == {"Subnets": ["subnet-a", "subnet-b"], "SecurityGroupIds": ["sg-a"]}
    assert args["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == KMS
    assert args["ProcessingOutputConfig"]["KmsKeyId"] == KMS
    assert args["AppSpecification"]["ImageUri"] == IMAGE
    (out,) = args["ProcessingOutputConfig"]["Outputs"]
    assert out["S3Output"]["S3Uri"]["Std:Join"]["Values"] == [
        f"s3://{bucket}/demo/pipeline",
        {"Get": "Execution.PipelineExecutionId"},
        "backtest",
    ], "the report lies under the use case's own prefix"
    assert args["AppSpecification"]["ContainerArguments"] == [
        "--output", "/opt/ml/processing/backtest"
    ]  # fmt: skip


def test_the_package_records_the_backtest_report_for_the_approval(with_backtest) -> None:
    meta = _steps(with_backtest)["Register"]["Arguments"]["CustomerMetadataProperties"]
    out = {"Get": "Steps.Backtest.ProcessingOutputConfig.Outputs['backtest'].S3Output.S3Uri"}
    assert meta["backtest_report"] == {"Std:Join": {"On": "/", "Values": [out, "backtest.html"]}}
    assert meta["backtest_json"] == {"Std:Join": {"On": "/", "Values": [out, "backtest.json"]}}


def test_without_a_backtest_script_there_is_no_backtest_step(definition) -> None:
    assert "Backtest" not in _steps(definition)
    assert "CurrentModelUri" not in {p["Name"] for p in definition["Parameters"]}
    meta = _steps(definition)["Register"]["Arguments"]["CustomerMetadataProperties"]
    assert "backtest_report" not in meta and "backtest_json" not in meta
