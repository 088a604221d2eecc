"""The SageMaker pipeline of this Remedy use case (sagemaker v3 SDK).

    Preprocess (processing) -> Tune (Bayesian HyperparameterTuner over train.py)
      -> Evaluate (processing on the best job's bundle, writes evaluation.json)
      -> Gate (eval metric vs threshold) -> Register (PendingManualApproval + metrics)
                                          | GateFailed (FailStep)

Every job runs in the use case's VPC subnets and security groups, with KMS-encrypted volumes
and outputs, network isolation and inter-container traffic encryption. Code is shipped as S3
inputs (not downloaded by the container), which is what makes network isolation possible:
the training image runs `remedy_training/train.py` from the `code` channel. The pipeline runs
under an experiment config (pipeline name / execution id), so every tuning trial is grouped
and comparable in Studio. Physical names come from the platform library (`mlops.naming`).
`pipeline_definition()` works fully offline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mlops.naming import NameContext, usecase_name

from remedy_training import usecase
from remedy_training.metrics import METRIC_DIRECTIONS
from remedy_training.search_space import sagemaker_ranges
from remedy_training.train import METRIC_DEFINITIONS, OBJECTIVE_METRIC

PROCESSING_INSTANCE_TYPE = "ml.m5.xlarge"
TRAINING_INSTANCE_TYPE = "ml.m5.2xlarge"
INFERENCE_INSTANCES = ["ml.m5.large", "ml.c5.large"]
SPLITS = ("train", "validation", "test")
CODE_CHANNEL = "/opt/ml/input/data/code"


@dataclass(frozen=True, kw_only=True)
class PipelineSettings:
    environment: str
    account_id: str
    role_arn: str
    bucket: str
    kms_key_id: str
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]
    image_uri: str | None = None  # training/processing image with this repo's dependencies
    inference_image_uri: str | None = None  # serving image built from the inference repo
    code_prefix: str = "code"
    claims: int = 200_000

    def __post_init__(self) -> None:
        if not self.subnet_ids or not self.security_group_ids:
            raise ValueError(
                "subnet_ids and security_group_ids are required: every job runs in the VPC "
                "(take them from the platform stack outputs of this use case)"
            )
        if not self.kms_key_id:
            raise ValueError("kms_key_id is required: volumes and outputs are KMS-encrypted")

    @property
    def names(self) -> NameContext:
        return NameContext(self.environment, self.account_id, usecase.AWS_REGION)

    @property
    def pipeline_name(self) -> str:
        return usecase_name(self.names, usecase.USECASE_NAME, "training", kind="sagemaker")

    @property
    def model_package_group(self) -> str:
        return usecase_name(self.names, usecase.USECASE_NAME, "models", kind="sagemaker")

    @property
    def image(self) -> str:
        if self.image_uri:
            return self.image_uri
        repo = usecase_name(self.names, usecase.USECASE_NAME, "training")
        return f"{self.account_id}.dkr.ecr.{usecase.AWS_REGION}.amazonaws.com/{repo}:latest"

    @property
    def inference_image(self) -> str:
        if self.inference_image_uri:
            return self.inference_image_uri
        repo = usecase_name(self.names, usecase.USECASE_NAME, "inference")
        return f"{self.account_id}.dkr.ecr.{usecase.AWS_REGION}.amazonaws.com/{repo}:latest"

    def s3(self, *parts: str) -> str:
        return "/".join([f"s3://{self.bucket}", *parts])


def _session(settings: PipelineSettings) -> Any:
    from sagemaker.core.workflow.pipeline_context import PipelineSession

    class _Session(PipelineSession):
        """Never looks up or creates a default bucket: the platform owns the bucket."""

        def default_bucket(self) -> str:
            return settings.bucket

    return _Session()


def gate_condition(metric: str, left: Any, right: Any) -> Any:
    """The registration condition in the metric's direction of 'better'."""
    from sagemaker.core.workflow.conditions import (
        ConditionGreaterThanOrEqualTo,
        ConditionLessThanOrEqualTo,
    )

    if metric not in METRIC_DIRECTIONS:
        raise ValueError(f"unknown eval metric {metric!r}; use one of {list(METRIC_DIRECTIONS)}")
    if METRIC_DIRECTIONS[metric] == "higher":
        return ConditionGreaterThanOrEqualTo(left=left, right=right)
    if METRIC_DIRECTIONS[metric] == "lower":
        return ConditionLessThanOrEqualTo(left=left, right=right)
    raise ValueError(f"metric {metric!r} has no one-sided gate; choose a higher/lower metric")


def build_pipeline(settings: PipelineSettings, session: Any = None) -> Any:
    """The Pipeline object (`.definition()` for JSON, `.upsert()` to deploy)."""
    from mlops.sagemaker_pipelines import secure_tuner
    from sagemaker.core.model_metrics import MetricsSource, ModelMetrics
    from sagemaker.core.network import NetworkConfig
    from sagemaker.core.processing import ScriptProcessor
    from sagemaker.core.shapes import (
        ProcessingInput,
        ProcessingOutput,
        ProcessingS3Input,
        ProcessingS3Output,
    )
    from sagemaker.core.training.configs import Networking, OutputDataConfig
    from sagemaker.core.workflow.execution_variables import ExecutionVariables
    from sagemaker.core.workflow.functions import Join, JsonGet
    from sagemaker.core.workflow.parameters import (
        ParameterFloat,
        ParameterInteger,
        ParameterString,
    )
    from sagemaker.core.workflow.properties import PropertyFile
    from sagemaker.mlops.workflow.condition_step import ConditionStep
    from sagemaker.mlops.workflow.fail_step import FailStep
    from sagemaker.mlops.workflow.model_step import ModelStep
    from sagemaker.mlops.workflow.pipeline import Pipeline
    from sagemaker.mlops.workflow.pipeline_experiment_config import PipelineExperimentConfig
    from sagemaker.mlops.workflow.steps import ProcessingStep, TuningStep
    from sagemaker.serve.model_builder import ModelBuilder
    from sagemaker.train import ModelTrainer
    from sagemaker.train.configs import Compute, InputData

    session = session or _session(settings)
    image = settings.image
    kms = settings.kms_key_id
    subnets, groups = list(settings.subnet_ids), list(settings.security_group_ids)

    input_data = ParameterString("InputDataUri", default_value=settings.s3("input/"))
    claims = ParameterInteger("SyntheticClaims", default_value=settings.claims)
    threshold = ParameterFloat("EvalThreshold", default_value=float(usecase.EVAL_THRESHOLD))
    approval = ParameterString("ModelApprovalStatus", default_value="PendingManualApproval")
    processing_instance = ParameterString(
        "ProcessingInstanceType", default_value=PROCESSING_INSTANCE_TYPE
    )
    training_instance = ParameterString(
        "TrainingInstanceType", default_value=TRAINING_INSTANCE_TYPE
    )

    def s3_input(name: str, uri: Any, path: str) -> Any:
        return ProcessingInput(
            input_name=name,
            s3_input=ProcessingS3Input(s3_uri=uri, local_path=path, s3_data_type="S3Prefix"),
        )

    def s3_output(name: str) -> Any:
        return ProcessingOutput(
            output_name=name,
            s3_output=ProcessingS3Output(
                s3_uri=Join(
                    on="/",
                    values=[
                        settings.s3("pipeline"),
                        ExecutionVariables.PIPELINE_EXECUTION_ID,
                        name,
                    ],
                ),
                local_path=f"/opt/ml/processing/{name}",
                s3_upload_mode="EndOfJob",
            ),
        )

    def processor(job: str) -> Any:
        return ScriptProcessor(
            role=settings.role_arn,
            image_uri=image,
            command=["python3"],
            instance_count=1,
            instance_type=processing_instance,
            volume_kms_key=kms,
            output_kms_key=kms,
            base_job_name=f"{usecase.USECASE_NAME}-{job}",
            sagemaker_session=session,
            env={"PYTHONPATH": "/opt/ml/processing/src"},
            network_config=NetworkConfig(
                enable_network_isolation=True,
                subnets=subnets,
                security_group_ids=groups,
                encrypt_inter_container_traffic=True,
            ),
        )

    code = s3_input("src", settings.s3(settings.code_prefix, "src/"), "/opt/ml/processing/src")
    preprocess = ProcessingStep(
        name="Preprocess",
        step_args=processor("preprocess").run(
            code=settings.s3(settings.code_prefix, "src/remedy_training/preprocess.py"),
            inputs=[code, s3_input("input", input_data, "/opt/ml/processing/input")],
            outputs=[s3_output(name) for name in SPLITS],
            arguments=["--base-dir", "/opt/ml/processing", "--claims", claims.to_string()],
            kms_key=kms,
        ),
    )
    split_uri = {
        name: preprocess.properties.ProcessingOutputConfig.Outputs[name].S3Output.S3Uri
        for name in SPLITS
    }

    trainer = ModelTrainer(
        training_image=image,
        compute=Compute(instance_type=training_instance, instance_count=1, volume_kms_key_id=kms),
        networking=Networking(
            subnets=subnets,
            security_group_ids=groups,
            enable_network_isolation=True,
            enable_inter_container_traffic_encryption=True,
        ),
        output_data_config=OutputDataConfig(s3_output_path=settings.s3("tuning"), kms_key_id=kms),
        role=settings.role_arn,
        base_job_name=f"{usecase.USECASE_NAME}-train",
        sagemaker_session=session,
        # Script mode: the code arrives as the `code` channel (no download from inside the
        # isolated container); tuned hyperparameters come as `--name value` arguments.
        hyperparameters={
            "sagemaker_program": "remedy_training/train.py",
            "sagemaker_submit_directory": f"{CODE_CHANNEL}/source.tar.gz",
        },
        environment={"PYTHONPATH": "/opt/ml/code"},
    )

    tuner = secure_tuner(
        volume_kms_key_id=kms,
        model_trainer=trainer,
        objective_metric_name=OBJECTIVE_METRIC,
        hyperparameter_ranges=sagemaker_ranges(),
        metric_definitions=METRIC_DEFINITIONS,
        strategy="Bayesian",
        objective_type="Minimize",
        # the tuner's resource limits must be plain ints (not pipeline parameters)
        max_jobs=usecase.TUNING_MAX_JOBS,
        max_parallel_jobs=usecase.TUNING_MAX_PARALLEL,
    )
    tune = TuningStep(
        name="Tune",
        step_args=tuner.tune(
            inputs=[
                InputData(channel_name="train", data_source=split_uri["train"]),
                InputData(channel_name="validation", data_source=split_uri["validation"]),
                InputData(
                    channel_name="code",
                    data_source=settings.s3(settings.code_prefix, "source.tar.gz"),
                ),
            ],
        ),
    )
    best_model = tune.get_top_model_s3_uri(top_k=0, s3_bucket=settings.bucket, prefix="tuning")

    report = PropertyFile(name="Evaluation", output_name="evaluation", path="evaluation.json")
    metric = usecase.EVAL_METRIC
    evaluate = ProcessingStep(
        name="Evaluate",
        step_args=processor("evaluate").run(
            code=settings.s3(settings.code_prefix, "src/remedy_training/evaluate.py"),
            inputs=[
                code,
                s3_input("model", best_model, "/opt/ml/processing/model"),
                s3_input("test", split_uri["test"], "/opt/ml/processing/test"),
            ],
            outputs=[s3_output("evaluation")],
            arguments=[
                "--model",
                "/opt/ml/processing/model",
                "--test",
                "/opt/ml/processing/test",
                "--output",
                "/opt/ml/processing/evaluation",
                "--eval-metric",
                metric,
                "--eval-threshold",
                threshold.to_string(),
            ],
            kms_key=kms,
        ),
        property_files=[report],
    )
    report_uri = Join(
        on="/",
        values=[
            evaluate.properties.ProcessingOutputConfig.Outputs["evaluation"].S3Output.S3Uri,
            "evaluation.json",
        ],
    )
    builder = ModelBuilder(
        s3_model_data_url=best_model,
        image_uri=settings.inference_image,
        role_arn=settings.role_arn,
        sagemaker_session=session,
        env_vars={"SAGEMAKER_PROGRAM": "remedy_inference/inference.py"},
    )
    register = ModelStep(
        name="Register",
        step_args=builder.register(
            model_package_group_name=settings.model_package_group,
            content_types=["application/json"],
            response_types=["application/json"],
            inference_instances=INFERENCE_INSTANCES,
            approval_status=approval,
            description=usecase.DESCRIPTION,
            model_metrics=ModelMetrics(
                model_statistics=MetricsSource(s3_uri=report_uri, content_type="application/json")
            ),
            customer_metadata_properties={
                "usecase": usecase.USECASE_NAME,
                "eval_metric": metric,
                "owner": usecase.OWNER_EMAIL,
                "jurisdiction": usecase.JURISDICTION,
            },
        ),
    )
    fail = FailStep(
        name="GateFailed",
        error_message=Join(
            on=" ", values=[metric, "did not pass the registration threshold", threshold]
        ),
    )
    gate = ConditionStep(
        name="Gate",
        conditions=[
            gate_condition(
                metric,
                JsonGet(
                    step_name=evaluate.name,
                    property_file=report,
                    json_path=f"metrics.{metric}.value",
                ),
                threshold,
            )
        ],
        if_steps=[register],
        else_steps=[fail],
    )
    return Pipeline(
        name=settings.pipeline_name,
        parameters=[
            input_data,
            claims,
            threshold,
            approval,
            processing_instance,
            training_instance,
        ],
        steps=[preprocess, tune, evaluate, gate],
        pipeline_experiment_config=PipelineExperimentConfig(
            ExecutionVariables.PIPELINE_NAME, ExecutionVariables.PIPELINE_EXECUTION_ID
        ),
        sagemaker_session=session,
    )


def pipeline_definition(settings: PipelineSettings, session: Any = None) -> dict[str, Any]:
    """The pipeline definition as JSON data (what `upsert` would send)."""
    return json.loads(build_pipeline(settings, session).definition())
