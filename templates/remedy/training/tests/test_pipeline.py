"""This repo's recipe in the platform's governed SageMaker pipeline, built fully offline (no AWS
calls). The pipeline itself (VPC, KMS, isolation, gate, registration) is the platform's
(`mlops.sagemaker_pipelines`); these tests check what this template adds to it."""

import os

import pytest

from remedy_training import usecase
from remedy_training.search_space import SEARCH_SPACE

os.environ.setdefault("AWS_DEFAULT_REGION", usecase.AWS_REGION)
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ["SAGEMAKER_VALIDATE_ROLE"] = "false"

KMS = "arn:aws:kms:eu-west-2:111111111111:key/1234"
ECR = f"111111111111.dkr.ecr.{usecase.AWS_REGION}.amazonaws.com/mlops-dev-{usecase.USECASE_NAME}"
CODE = f"{usecase.USECASE_NAME}/code/{'0' * 64}"


def _settings(**changes):
    from mlops.sagemaker_pipelines import PipelineSettings

    from remedy_training.recipe import RECIPE

    values = dict(
        usecase=usecase.USECASE_NAME,
        environment="dev",
        account_id="111111111111",
        region=usecase.AWS_REGION,
        role_arn="arn:aws:iam::111111111111:role/mlops-dev-claims-sm-pipeline",
        bucket="mlops-dev-pipeline-artifacts-111111111111-eu-west-2",
        kms_key_id=KMS,
        subnet_ids=("subnet-0abc", "subnet-0def"),
        security_group_ids=("sg-0abc",),
        code_prefix=CODE,
        eval_metric=usecase.EVAL_METRIC,
        eval_threshold=usecase.EVAL_THRESHOLD,
        eval_direction=RECIPE.gate_metrics[usecase.EVAL_METRIC],
        tuning_max_jobs=usecase.TUNING_MAX_JOBS,
        tuning_max_parallel=usecase.TUNING_MAX_PARALLEL,
        image_uri=f"{ECR}-training@sha256:{'7d' * 32}",
        inference_image_uri=f"{ECR}-inference@sha256:{'1f' * 32}",
    )
    return PipelineSettings(**{**values, **changes})


@pytest.fixture(scope="module")
def definition() -> dict:
    from mlops.sagemaker_pipelines import pipeline_definition

    from remedy_training.recipe import RECIPE

    return pipeline_definition(_settings(), RECIPE)


def _steps(definition: dict) -> dict[str, dict]:
    steps = {}
    for step in definition["Steps"]:
        steps[step["Name"]] = step
        for branch in ("IfSteps", "ElseSteps"):
            for inner in step.get("Arguments", {}).get(branch, []):
                steps[inner["Name"]] = inner
    return steps


def test_the_scripts_of_this_repo_run_from_the_uploaded_code_version(definition):
    steps = _steps(definition)
    prefix = f"s3://mlops-dev-pipeline-artifacts-111111111111-eu-west-2/{CODE}"
    for step, script in (("Preprocess", "preprocess.py"), ("Evaluate", "evaluate.py")):
        inputs = {i["InputName"]: i for i in steps[step]["Arguments"]["ProcessingInputs"]}
        assert inputs["code"]["S3Input"]["S3Uri"] == f"{prefix}/src/remedy_training/{script}"
        assert inputs["src"]["S3Input"]["S3Uri"] == f"{prefix}/src/"
    job = steps["Tune"]["Arguments"]["TrainingJobDefinition"]
    assert job["StaticHyperParameters"]["sagemaker_program"].strip('"') == (
        "remedy_training/train.py"
    )
    channels = {c["ChannelName"]: c for c in job["InputDataConfig"]}
    assert channels["code"]["DataSource"]["S3DataSource"]["S3Uri"] == f"{prefix}/source.tar.gz"


def test_bayesian_tuning_over_this_search_space_and_objective(definition):
    config = _steps(definition)["Tune"]["Arguments"]["HyperParameterTuningJobConfig"]
    assert config["Strategy"] == "Bayesian"
    objective = config["HyperParameterTuningJobObjective"]
    assert objective == {"Type": "Minimize", "MetricName": "validation:repair_mdape"}
    names = {r["Name"] for kind in config["ParameterRanges"].values() for r in kind}
    assert names == {p.name for p in SEARCH_SPACE}
    job = _steps(definition)["Tune"]["Arguments"]["TrainingJobDefinition"]
    regexes = {m["Name"] for m in job["AlgorithmSpecification"]["MetricDefinitions"]}
    assert "validation:repair_mdape" in regexes


def test_synthetic_claims_by_default_and_the_gate_passed_to_evaluate(definition):
    params = {p["Name"]: p for p in definition["Parameters"]}
    assert params["InputDataUri"]["DefaultValue"].endswith(f"{CODE}/input/")
    assert params["SyntheticClaims"]["DefaultValue"] == 200_000
    args = _steps(definition)["Evaluate"]["Arguments"]["AppSpecification"]["ContainerArguments"]
    assert args[args.index("--eval-metric") + 1] == usecase.EVAL_METRIC
    assert float(args[args.index("--eval-threshold") + 1]) == usecase.EVAL_THRESHOLD


def test_every_candidate_is_backtested_against_the_current_model(definition):
    steps = _steps(definition)
    assert [s["Name"] for s in definition["Steps"]][:-1] == [
        "Preprocess", "Tune", "Evaluate", "Baseline", "Backtest"
    ]  # fmt: skip
    args = steps["Backtest"]["Arguments"]
    prefix = f"s3://mlops-dev-pipeline-artifacts-111111111111-eu-west-2/{CODE}"
    inputs = {i["InputName"]: i for i in args["ProcessingInputs"]}
    assert inputs["code"]["S3Input"]["S3Uri"] == f"{prefix}/src/remedy_training/backtest.py"
    # backtest.py reads each input where the step puts it
    argv = args["AppSpecification"]["ContainerArguments"]
    for flag, channel in (("--model", "model"), ("--current", "current"), ("--test", "test")):
        assert argv[argv.index(flag) + 1] == inputs[channel]["S3Input"]["LocalPath"]
    (out,) = args["ProcessingOutputConfig"]["Outputs"]
    assert argv[argv.index("--output") + 1] == out["S3Output"]["LocalPath"]
    params = {p["Name"]: p for p in definition["Parameters"]}
    assert params["CurrentModelUri"]["DefaultValue"] == f"{prefix}/input/", "default: none"
    meta = steps["Register"]["Arguments"]["CustomerMetadataProperties"]
    assert {"backtest_report", "backtest_json"} <= set(meta)


def test_registers_for_the_inference_repo_handler(definition):
    reg = _steps(definition)["Register"]["Arguments"]
    assert reg["ModelApprovalStatus"] == "PendingManualApproval"
    container = reg["InferenceSpecification"]["Containers"][0]
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "remedy_inference/inference.py"
    assert reg["CustomerMetadataProperties"]["jurisdiction"] == usecase.JURISDICTION


def test_a_gate_on_a_metric_remedy_does_not_report_is_refused():
    from mlops.sagemaker_pipelines import governed_pipeline

    from remedy_training.recipe import RECIPE

    with pytest.raises(ValueError, match="'macro_f1' is not reported by remedy_training"):
        governed_pipeline(_settings(eval_metric="macro_f1"), RECIPE)
