"""The SageMaker pipeline of this use case, built with the sagemaker v3 SDK.

    Preprocess (processing) -> Tune (hyperparameter tuning of train.py)
      -> Evaluate (processing, writes evaluation.json) -> Gate (metric >= threshold)
      -> Register (model package, PendingManualApproval) | GateFailed

Code runs in the SageMaker scikit-learn container in script mode: CI uploads `src/` as
`<code prefix>/source.tar.gz` (training, given to the network-isolated job as the `code`
channel) and as `<code prefix>/src/` (processing). Physical names
(pipeline, model package group) come from the platform library (`mlops.naming`), so they match
what the platform's `pulumi up` created for this use case. Jobs run in the use case's VPC subnets
with KMS-encrypted volumes and outputs when those settings are given.
`pipeline_definition()` works offline (the tests build it with no AWS access).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mlops.naming import NameContext, usecase_name

from tabular_core import usecase
from tabular_training import estimator

SKLEARN_FRAMEWORK_VERSION = "1.2-1"
PROCESSING_INSTANCE_TYPE = "ml.m5.large"
INFERENCE_INSTANCES = ["ml.m5.large", "ml.c5.large"]
SERVING_PROGRAM = "tabular_inference/serve.py"  # the inference repo's SageMaker handler
SPLITS = ("train", "validation", "test")
CODE_CHANNEL = "/opt/ml/input/data/code"


@dataclass(frozen=True, kw_only=True)
class PipelineSettings:
    environment: str
    account_id: str
    role_arn: str
    bucket: str
    code_prefix: str = "code"
    kms_key_id: str | None = None
    subnet_ids: tuple[str, ...] = field(default_factory=tuple)
    security_group_ids: tuple[str, ...] = field(default_factory=tuple)

    @property
    def names(self) -> NameContext:
        return NameContext(self.environment, self.account_id, usecase.AWS_REGION)

    @property
    def pipeline_name(self) -> str:
        return usecase_name(self.names, usecase.USECASE_NAME, "training", kind="sagemaker")

    @property
    def model_package_group(self) -> str:
        return usecase_name(self.names, usecase.USECASE_NAME, "models", kind="sagemaker")

    def s3(self, *parts: str) -> str:
        return "/".join([f"s3://{self.bucket}", *parts])


def _session(settings: PipelineSettings) -> Any:
    from sagemaker.core.workflow.pipeline_context import PipelineSession

    class _Session(PipelineSession):
        """Never looks up or creates a default bucket: the platform owns the bucket."""

        def default_bucket(self) -> str:
            return settings.bucket

    return _Session()


def build_pipeline(settings: PipelineSettings, session: Any = None) -> Any:
    """The Pipeline object (call `.definition()` for JSON, `.upsert()` to deploy)."""
    from mlops.sagemaker_pipelines import secure_tuner
    from sagemaker.core import image_uris
    from sagemaker.core.model_metrics import MetricsSource, ModelMetrics
    from sagemaker.core.network import NetworkConfig
    from sagemaker.core.parameter import ContinuousParameter, IntegerParameter
    from sagemaker.core.processing import ScriptProcessor
    from sagemaker.core.shapes import (
        ProcessingInput,
        ProcessingOutput,
        ProcessingS3Input,
        ProcessingS3Output,
    )
    from sagemaker.core.training.configs import Networking, OutputDataConfig
    from sagemaker.core.workflow.conditions import ConditionGreaterThanOrEqualTo
    from sagemaker.core.workflow.functions import Join, JsonGet
    from sagemaker.core.workflow.parameters import ParameterFloat, ParameterString
    from sagemaker.core.workflow.properties import PropertyFile
    from sagemaker.mlops.workflow.condition_step import ConditionStep
    from sagemaker.mlops.workflow.fail_step import FailStep
    from sagemaker.mlops.workflow.model_step import ModelStep
    from sagemaker.mlops.workflow.pipeline import Pipeline
    from sagemaker.mlops.workflow.steps import ProcessingStep, TuningStep
    from sagemaker.serve.model_builder import ModelBuilder
    from sagemaker.train import ModelTrainer
    from sagemaker.train.configs import Compute, InputData

    session = session or _session(settings)
    image = image_uris.retrieve(
        "sklearn",
        region=usecase.AWS_REGION,
        version=SKLEARN_FRAMEWORK_VERSION,
        instance_type=PROCESSING_INSTANCE_TYPE,
    )
    input_data = ParameterString("InputDataUri", default_value=settings.s3("input/"))
    threshold = ParameterFloat("EvalThreshold", default_value=float(usecase.EVAL_THRESHOLD))
    approval = ParameterString("ModelApprovalStatus", default_value="PendingManualApproval")
    processing_instance = ParameterString(
        "ProcessingInstanceType", default_value=PROCESSING_INSTANCE_TYPE
    )
    training_instance = ParameterString(
        "TrainingInstanceType", default_value=usecase.TRAINING_INSTANCE_TYPE
    )
    in_vpc = bool(settings.subnet_ids)
    subnets = list(settings.subnet_ids) or None
    groups = list(settings.security_group_ids) or None

    def s3_input(name: str, uri: Any, path: str) -> Any:
        return ProcessingInput(
            input_name=name,
            s3_input=ProcessingS3Input(s3_uri=uri, local_path=path, s3_data_type="S3Prefix"),
        )

    def s3_output(name: str) -> Any:
        return ProcessingOutput(
            output_name=name,
            s3_output=ProcessingS3Output(
                s3_uri=settings.s3("pipeline", name),
                local_path=f"/opt/ml/processing/output/{name}",
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
            volume_kms_key=settings.kms_key_id,
            output_kms_key=settings.kms_key_id,
            base_job_name=f"{usecase.USECASE_NAME}-{job}",
            sagemaker_session=session,
            env={"PYTHONPATH": "/opt/ml/processing/src"},
            # inputs are fetched by SageMaker, so the container needs no network at all
            network_config=NetworkConfig(
                enable_network_isolation=True,
                encrypt_inter_container_traffic=True,
                subnets=subnets,
                security_group_ids=groups,
            ),
        )

    code = s3_input("src", settings.s3(settings.code_prefix, "src/"), "/opt/ml/processing/src")
    preprocess = ProcessingStep(
        name="Preprocess",
        step_args=processor("preprocess").run(
            code=settings.s3(settings.code_prefix, "src/tabular_training/preprocess.py"),
            inputs=[code, s3_input("raw", input_data, "/opt/ml/processing/input")],
            outputs=[s3_output(name) for name in SPLITS],
            arguments=["--output-dir", "/opt/ml/processing/output"],
        ),
    )
    split_uri = {
        name: preprocess.properties.ProcessingOutputConfig.Outputs[name].S3Output.S3Uri
        for name in SPLITS
    }

    trainer = ModelTrainer(
        training_image=image,
        compute=Compute(
            instance_type=training_instance, instance_count=1, volume_kms_key_id=settings.kms_key_id
        ),
        networking=Networking(subnets=subnets, security_group_ids=groups) if in_vpc else None,
        output_data_config=OutputDataConfig(
            s3_output_path=settings.s3("tuning"), kms_key_id=settings.kms_key_id
        ),
        role=settings.role_arn,
        base_job_name=f"{usecase.USECASE_NAME}-train",
        sagemaker_session=session,
        # Script mode of the framework container: the code arrives as the `code` channel (the
        # network-isolated container cannot download it) and the program gets the tuned
        # hyperparameters as `--name value` arguments.
        hyperparameters={
            "sagemaker_program": "tabular_training/train.py",
            "sagemaker_submit_directory": f"{CODE_CHANNEL}/source.tar.gz",
        },
        environment={"PYTHONPATH": "/opt/ml/code"},
    )

    ranges = {
        name: ContinuousParameter(low, high)
        if kind == "continuous"
        else IntegerParameter(int(low), int(high))
        for name, (kind, low, high) in estimator.SEARCH_SPACE.items()
    }
    metric = f"validation:{usecase.EVAL_METRIC}"
    tuner = secure_tuner(
        volume_kms_key_id=settings.kms_key_id,
        model_trainer=trainer,
        objective_metric_name=metric,
        hyperparameter_ranges=ranges,
        metric_definitions=[{"Name": metric, "Regex": f"{metric}=([0-9\\.]+)"}],
        strategy="Bayesian",
        objective_type="Maximize",
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
    evaluate = ProcessingStep(
        name="Evaluate",
        step_args=processor("evaluate").run(
            code=settings.s3(settings.code_prefix, "src/tabular_training/evaluate.py"),
            inputs=[
                code,
                s3_input("model", best_model, "/opt/ml/processing/model"),
                s3_input("test", split_uri["test"], "/opt/ml/processing/test"),
            ],
            outputs=[s3_output("evaluation")],
            arguments=["--output-dir", "/opt/ml/processing/output/evaluation"],
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
        image_uri=image,
        role_arn=settings.role_arn,
        sagemaker_session=session,
        env_vars={"SAGEMAKER_PROGRAM": SERVING_PROGRAM},
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
        ),
    )
    fail = FailStep(
        name="GateFailed",
        error_message=Join(
            on=" ",
            values=[usecase.EVAL_METRIC, "is below the registration threshold", threshold],
        ),
    )
    gate = ConditionStep(
        name="Gate",
        conditions=[
            ConditionGreaterThanOrEqualTo(
                left=JsonGet(
                    step_name=evaluate.name,
                    property_file=report,
                    json_path=f"metrics.{usecase.EVAL_METRIC}.value",
                ),
                right=threshold,
            )
        ],
        if_steps=[register],
        else_steps=[fail],
    )
    return Pipeline(
        name=settings.pipeline_name,
        parameters=[input_data, threshold, approval, processing_instance, training_instance],
        steps=[preprocess, tune, evaluate, gate],
        sagemaker_session=session,
    )


def pipeline_definition(settings: PipelineSettings, session: Any = None) -> dict[str, Any]:
    """The pipeline definition as JSON data (what `upsert` would send)."""
    return json.loads(build_pipeline(settings, session).definition())
