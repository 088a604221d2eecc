"""The governed training pipeline every use case runs (sagemaker v3 SDK), as `InferenceService` is
for serving: one definition, with the network, encryption and isolation settings in one place.

    Preprocess (processing) -> Tune (Bayesian, rounds x parallel from the manifest)
      |                        -> Evaluate (processing on the best job's model, evaluation.json)
      -> Baseline (processing on the train split: Model Monitor statistics.json + constraints.json)
      -> Backtest (when the template has a backtest script: the candidate, and the current
         approved model if `CurrentModelUri` names one, on the test split: backtest.json/.html)
      -> Gate (the manifest's metric vs its threshold, in its direction)
      -> Publish (the best model into the registry bucket, with its SHA-256)
         -> Register (PendingManualApproval, fixed here; records the SHA-256; the baseline
            attached as the package's drift-check baselines and model-data metrics; the
            backtest's report URIs as `backtest_report`/`backtest_json` metadata) | GateFailed

Registered models follow the artifact contract (`mlops.delivery.artifacts`, docs/artifacts.md):
only a model that passed the gate is published, to `s3://<dev model-artifacts>/<usecase>/models/
<execution>/model.tar.gz`, which the stages' model roles may read; the package records its SHA-256
(`CustomerMetadataProperties`), which the deploy checks before it serves the model. Tuning jobs
keep writing their candidates to the pipeline-artifacts bucket.

Two inputs, kept apart:
- `PipelineSettings`: what the platform decides — names, role, bucket, key, subnets, security
  groups, image digests, the code version, and the use case's manifest settings (instance types,
  tuning budget, gate metric/threshold/direction). The TrainingPipeline build reads them from the
  environment the platform sets on its CodeBuild project (`PipelineSettings.from_env`).
- `TrainingRecipe`: what a template decides — its scripts and their arguments, the search space,
  the tuner's objective and metric definitions, the serving program, and the metrics it reports.

Every job runs in the use case's VPC subnets and security groups with network isolation,
inter-container traffic encryption and KMS-encrypted volumes and outputs; the code arrives as S3
inputs at the content-addressed version the build uploaded (`mlops.delivery.training_code`); trials
are grouped under an experiment per pipeline and a trial per execution. Imported only by the
training build and rendered repos (lazily: the platform program never imports sagemaker).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from mlops.naming import NameContext, usecase_name

APPROVAL_STATUS = "PendingManualApproval"
"""Every registered model waits for the lead's approval: fixed in the definition, no parameter."""
PROCESSING = "/opt/ml/processing"
CODE_CHANNEL = "/opt/ml/input/data/code"
SPLITS = ("train", "validation", "test")
SYNTHETIC_MARKER = "SYNTHETIC"
"""Object the build writes under `<code version>/input/`: a S3 input needs one object; templates
that can generate data (`TrainingRecipe.synthetic_input`) read it as "no input data given:
generate it"."""
_DIRECTIONS = ("maximize", "minimize")
BACKTEST_PROPERTIES = {"backtest_report": "backtest.html", "backtest_json": "backtest.json"}
"""CustomerMetadataProperties of a package whose pipeline ran a backtest: key -> file."""
CURRENT_MODEL_PARAMETER = "CurrentModelUri"


@dataclass(frozen=True)
class Param:
    """A reference to a pipeline parameter in a script's arguments (`TrainingRecipe.parameters`)."""

    name: str


@dataclass(frozen=True)
class Range:
    """One tuned hyperparameter."""

    name: str
    kind: Literal["continuous", "integer"]
    low: float
    high: float
    log: bool = False

    def __post_init__(self) -> None:
        if self.kind not in ("continuous", "integer"):
            raise ValueError(f"{self.name}: kind must be continuous or integer")
        if not self.low < self.high:
            raise ValueError(f"{self.name}: low must be below high")


Argument = str | Param


@dataclass(frozen=True, kw_only=True)
class TrainingRecipe:
    """What a template passes: scripts (paths inside its `src/`), search space and objective.

    Strings in `preprocess_arguments`/`evaluate_arguments` may use `{eval_metric}`,
    `{eval_threshold}` and `{processing}` (the processing base folder); `Param(name)` stands for
    one of `parameters` (extra pipeline parameters, typed by their default).
    """

    package: str
    search_space: Sequence[Range]
    objective_metric: str
    objective_type: Literal["Minimize", "Maximize"]
    metric_definitions: Sequence[Mapping[str, str]]
    serving_program: str
    gate_metrics: Mapping[str, str]
    """{metric: maximize|minimize} the evaluation reports (= copier.yml template_gate_metrics)."""
    preprocess_script: str = "preprocess.py"
    train_program: str = "train.py"
    evaluate_script: str = "evaluate.py"
    baseline_script: str | None = None
    """When given, the Baseline step runs it: it writes the data-quality baseline of the model's
    inputs (``statistics.json`` and ``constraints.json`` in SageMaker Model Monitor's format) from
    the train split (read from ``{processing}/train``) into ``{processing}/baseline``."""
    backtest_script: str | None = None
    """When given, the Backtest step runs it on every candidate: it scores the held-out test split
    (``{processing}/test``) with the candidate (``{processing}/model``, the best tuning job's
    model) and, where one is given, the current approved model (``{processing}/current``: the
    `CurrentModelUri` parameter; by default the build's marker prefix, meaning "none"), and writes
    ``backtest.json`` and ``backtest.html`` into ``{processing}/backtest``. Their S3 URIs are
    recorded on the model package (`BACKTEST_PROPERTIES`) for the lead to open before approving."""
    preprocess_arguments: Sequence[Argument] = ()
    evaluate_arguments: Sequence[Argument] = ()
    baseline_arguments: Sequence[Argument] = ()
    backtest_arguments: Sequence[Argument] = ()
    parameters: Mapping[str, int | float | str] = field(default_factory=dict)
    synthetic_input: bool = False
    inference_instances: Sequence[str] = ("ml.m5.large", "ml.c5.large")
    description: str = ""
    customer_metadata: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.search_space:
            raise ValueError("search_space: give at least one Range to tune")
        bad = {k: v for k, v in self.gate_metrics.items() if v not in _DIRECTIONS}
        if not self.gate_metrics or bad:
            raise ValueError(f"gate_metrics: give {{metric: maximize|minimize}}, got {bad or {}}")
        for arg in (*self.preprocess_arguments, *self.evaluate_arguments,
                    *self.baseline_arguments, *self.backtest_arguments):  # fmt: skip
            if isinstance(arg, Param) and arg.name not in self.parameters:
                raise ValueError(f"argument Param({arg.name!r}) is not one of parameters")


# the build's environment variable of each field (set by mlops.components.build_pipeline)
SETTINGS_ENV: dict[str, str] = {
    "usecase": "USECASE",
    "environment": "ENVIRONMENT",
    "account_id": "ACCOUNT_ID",
    "region": "AWS_REGION",
    "role_arn": "SM_PIPELINE_ROLE_ARN",
    "bucket": "ARTIFACT_BUCKET",
    "model_bucket": "MODEL_ARTIFACT_BUCKET",
    "kms_key_id": "KMS_KEY_ARN",
    "subnet_ids": "SUBNET_IDS",
    "security_group_ids": "SECURITY_GROUP_IDS",
    "code_prefix": "CODE_PREFIX",
    "eval_metric": "EVAL_METRIC",
    "eval_threshold": "EVAL_THRESHOLD",
    "eval_direction": "EVAL_DIRECTION",
    "tuning_max_jobs": "TUNING_MAX_JOBS",
    "tuning_max_parallel": "TUNING_MAX_PARALLEL",
    "training_instance_type": "TRAINING_INSTANCE_TYPE",
    "processing_instance_type": "PROCESSING_INSTANCE_TYPE",
    "image_uri": "TRAINING_IMAGE_URI",
    "inference_image_uri": "INFERENCE_IMAGE_URI",
}


@dataclass(frozen=True, kw_only=True)
class PipelineSettings:
    """What the platform gives the pipeline (the TrainingPipeline build's environment)."""

    usecase: str
    environment: str
    account_id: str
    region: str
    role_arn: str
    bucket: str
    kms_key_id: str
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]
    code_prefix: str
    """`<usecase>/code/<sha256>`: the version the build uploaded."""
    eval_metric: str
    eval_threshold: float
    eval_direction: Literal["maximize", "minimize"] = "maximize"
    tuning_max_jobs: int = 100
    tuning_max_parallel: int = 20
    training_instance_type: str = "ml.m5.xlarge"
    processing_instance_type: str = "ml.m5.large"
    image_uri: str | None = None
    """Training/processing image, pinned by digest (`<repo>@sha256:...`) by the image build."""
    inference_image_uri: str | None = None
    model_bucket: str | None = None
    """Where registered models are published (default: the dev model-artifacts bucket's name)."""

    def __post_init__(self) -> None:
        if not self.subnet_ids or not self.security_group_ids:
            raise ValueError(
                "subnet_ids and security_group_ids are required: every job runs in the VPC "
                "(the platform sets SUBNET_IDS and SECURITY_GROUP_IDS on the build)"
            )
        if not self.kms_key_id:
            raise ValueError("kms_key_id is required: volumes and outputs are KMS-encrypted")
        if self.eval_direction not in _DIRECTIONS:
            raise ValueError(f"eval_direction must be maximize or minimize: {self.eval_direction}")
        if not 1 <= self.tuning_max_parallel <= self.tuning_max_jobs:
            raise ValueError("keep 1 <= tuning_max_parallel <= tuning_max_jobs")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PipelineSettings:
        import dataclasses

        types = {f.name: f.type for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for name, variable in SETTINGS_ENV.items():
            raw = env.get(variable) or (env.get("AWS_DEFAULT_REGION") if name == "region" else None)
            if not raw:
                continue
            kind = str(types[name])
            if "tuple" in kind:
                values[name] = tuple(v for v in raw.split(",") if v)
            elif kind == "int":
                values[name] = int(raw)
            elif kind == "float":
                values[name] = float(raw)
            else:
                values[name] = raw
        try:
            return cls(**values)
        except TypeError as exc:
            missing = [SETTINGS_ENV[f] for f in types if f in str(exc)]
            raise ValueError(f"the build environment lacks {', '.join(missing) or exc}") from None

    @property
    def names(self) -> NameContext:
        return NameContext(self.environment, self.account_id, self.region)

    @property
    def pipeline_name(self) -> str:
        return usecase_name(self.names, self.usecase, "training", kind="sagemaker")

    @property
    def model_package_group(self) -> str:
        return usecase_name(self.names, self.usecase, "models", kind="sagemaker")

    def _pinned(self, uri: str | None, variable: str) -> str:
        """An image URI pinned by digest (`<repo>@sha256:<64 hex>`), never a tag."""
        if not uri:
            raise ValueError(
                f"{variable} is not set: the pipeline runs only digest-pinned images "
                "(the build pipeline's Images stage pushes them and hands on their digests)"
            )
        if not re.fullmatch(r"[^@\s]+@sha256:[0-9a-f]{64}", uri):
            raise ValueError(f"{variable} must be <repository>@sha256:<64 hex>, got {uri!r}")
        return uri

    @property
    def image(self) -> str:
        return self._pinned(self.image_uri, "TRAINING_IMAGE_URI")

    @property
    def inference_image(self) -> str:
        return self._pinned(self.inference_image_uri, "INFERENCE_IMAGE_URI")

    def s3(self, *parts: str) -> str:
        return "/".join([f"s3://{self.bucket}", *parts])

    @property
    def registry_bucket(self) -> str:
        from mlops.delivery.artifacts import registry_bucket

        return self.model_bucket or registry_bucket(self.names)

    def models_uri(self) -> str:
        """`s3://<registry bucket>/<usecase>/models` (an execution's model goes under it)."""
        from mlops.delivery.artifacts import models_prefix

        return f"s3://{self.registry_bucket}/{models_prefix(self.usecase).rstrip('/')}"

    def code(self, *parts: str) -> str:
        return self.s3(self.code_prefix, *parts)


def secure_tuner(*, volume_kms_key_id: Any, **tuner_args: Any) -> Any:
    """A `HyperparameterTuner` whose training jobs keep the platform's security settings.

    The sagemaker 3.x tuner drops the trainer's volume KMS key, network isolation and
    inter-container traffic encryption from the training-job definition it builds; this puts
    them back, so every tuning job runs as the policy pack requires.
    """
    from sagemaker.train.tuner import HyperparameterTuner

    class SecureTuner(HyperparameterTuner):
        def _build_training_job_definition(self, inputs: Any) -> Any:
            definition = super()._build_training_job_definition(inputs)
            definition.resource_config.volume_kms_key_id = volume_kms_key_id
            definition.enable_network_isolation = True
            definition.enable_inter_container_traffic_encryption = True
            return definition

    return SecureTuner(**tuner_args)


def publish_script(base: str = PROCESSING) -> str:
    """The Publish step's program (the training image's python3): copy the best model from its
    input to the published output and write its SHA-256 next to it (`checksum.json`)."""
    from mlops.delivery.artifacts import CHECKSUM_FILE, MODEL_FILE

    return (
        "import hashlib, json, shutil\n"
        f"src, out = {base + '/model/' + MODEL_FILE!r}, {base + '/published'!r}\n"
        "digest, size = hashlib.sha256(), 0\n"
        "with open(src, 'rb') as f:\n"
        "    for block in iter(lambda: f.read(1 << 20), b''):\n"
        "        digest.update(block)\n"
        "        size += len(block)\n"
        f"shutil.copyfile(src, out + '/{MODEL_FILE}')\n"
        f"with open(out + '/{CHECKSUM_FILE}', 'w') as f:\n"
        "    json.dump({'sha256': digest.hexdigest(), 'bytes': size}, f)\n"
    )


def _session(settings: PipelineSettings) -> Any:
    from sagemaker.core.workflow.pipeline_context import PipelineSession

    class _Session(PipelineSession):
        """Never looks up or creates a default bucket: the platform owns the bucket."""

        def default_bucket(self) -> str:
            return settings.bucket

    return _Session()


def gate_condition(direction: str, left: Any, right: Any) -> Any:
    from sagemaker.core.workflow.conditions import (
        ConditionGreaterThanOrEqualTo,
        ConditionLessThanOrEqualTo,
    )

    if direction == "maximize":
        return ConditionGreaterThanOrEqualTo(left=left, right=right)
    return ConditionLessThanOrEqualTo(left=left, right=right)


def check_gate(settings: PipelineSettings, recipe: TrainingRecipe) -> None:
    """The manifest's gate must be a metric the template reports, in its direction."""
    metric = settings.eval_metric
    if metric not in recipe.gate_metrics:
        raise ValueError(
            f"gate metric {metric!r} is not reported by {recipe.package} "
            f"(it reports {', '.join(sorted(recipe.gate_metrics))}): fix evaluation.metric in "
            f"usecases/{settings.usecase}.yaml"
        )
    if recipe.gate_metrics[metric] != settings.eval_direction:
        raise ValueError(
            f"{metric} is better when {recipe.gate_metrics[metric]}d, the manifest says "
            f"{settings.eval_direction}: fix evaluation.direction"
        )


def governed_pipeline(
    settings: PipelineSettings, recipe: TrainingRecipe, session: Any = None
) -> Any:
    """The Pipeline object (`.definition()` for JSON, `.upsert()` to deploy)."""
    from sagemaker.core.drift_check_baselines import DriftCheckBaselines
    from sagemaker.core.model_metrics import MetricsSource, ModelMetrics
    from sagemaker.core.network import NetworkConfig
    from sagemaker.core.parameter import ContinuousParameter, IntegerParameter
    from sagemaker.core.processing import Processor, ScriptProcessor
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

    from mlops.delivery.artifacts import CHECKSUM_FILE, CHECKSUM_PROPERTY, MODEL_FILE

    check_gate(settings, recipe)
    session = session or _session(settings)
    image, kms, pkg = settings.image, settings.kms_key_id, recipe.package
    subnets, groups = list(settings.subnet_ids), list(settings.security_group_ids)
    metric, threshold = settings.eval_metric, settings.eval_threshold

    default_input = (
        settings.code("input/")
        if recipe.synthetic_input
        else settings.s3(settings.usecase, "input/")
    )
    input_data = ParameterString("InputDataUri", default_value=default_input)
    extra = {}
    for name, default in recipe.parameters.items():
        kind = (
            ParameterInteger
            if isinstance(default, int)
            else ParameterFloat
            if isinstance(default, float)
            else ParameterString
        )
        extra[name] = kind(name, default_value=default)

    def args(items: Sequence[Argument]) -> list[Any]:
        values = {"eval_metric": metric, "eval_threshold": str(threshold), "processing": PROCESSING}
        return [
            extra[a.name].to_string() if isinstance(a, Param) else a.format(**values) for a in items
        ]

    def s3_input(name: str, uri: Any, path: str) -> Any:
        return ProcessingInput(
            input_name=name,
            s3_input=ProcessingS3Input(s3_uri=uri, local_path=path, s3_data_type="S3Prefix"),
        )

    def s3_output(name: str) -> Any:
        uri = Join(
            on="/",
            values=[
                settings.s3(settings.usecase, "pipeline"),
                ExecutionVariables.PIPELINE_EXECUTION_ID,
                name,
            ],
        )
        return ProcessingOutput(
            output_name=name,
            s3_output=ProcessingS3Output(
                s3_uri=uri, local_path=f"{PROCESSING}/{name}", s3_upload_mode="EndOfJob"
            ),
        )

    def processor(job: str, **kind: Any) -> Any:
        kind = kind or {"command": ["python3"], "env": {"PYTHONPATH": f"{PROCESSING}/src"}}
        return (ScriptProcessor if "command" in kind else Processor)(
            role=settings.role_arn,
            image_uri=image,
            instance_count=1,
            instance_type=settings.processing_instance_type,
            volume_kms_key=kms,
            output_kms_key=kms,
            base_job_name=f"{settings.usecase}-{job}",
            sagemaker_session=session,
            # inputs are fetched by SageMaker, so the container needs no network at all
            network_config=NetworkConfig(
                enable_network_isolation=True,
                subnets=subnets,
                security_group_ids=groups,
                encrypt_inter_container_traffic=True,
            ),
            **kind,
        )

    code = s3_input("src", settings.code("src/"), f"{PROCESSING}/src")

    def script_step(
        name: str, script: str, inputs: list[Any], outputs: Sequence[str],
        arguments: Sequence[Argument], **step: Any,
    ) -> Any:  # fmt: skip
        """One of the repo's processing scripts (its code from `src/`, KMS on every output)."""
        return ProcessingStep(
            name=name,
            step_args=processor(name.lower()).run(
                code=settings.code("src", pkg, script),
                inputs=[code, *inputs],
                outputs=[s3_output(o) for o in outputs],
                arguments=args(arguments),
                kms_key=kms,
            ),
            **step,
        )

    def output_uri(step: Any, name: str) -> Any:
        return step.properties.ProcessingOutputConfig.Outputs[name].S3Output.S3Uri

    preprocess = script_step(
        "Preprocess", recipe.preprocess_script,
        [s3_input("input", input_data, f"{PROCESSING}/input")], SPLITS,
        recipe.preprocess_arguments,
    )  # fmt: skip
    split_uri = {name: output_uri(preprocess, name) for name in SPLITS}

    trainer = ModelTrainer(
        training_image=image,
        compute=Compute(
            instance_type=settings.training_instance_type, instance_count=1, volume_kms_key_id=kms
        ),
        networking=Networking(
            subnets=subnets,
            security_group_ids=groups,
            enable_network_isolation=True,
            enable_inter_container_traffic_encryption=True,
        ),
        output_data_config=OutputDataConfig(
            s3_output_path=settings.s3(settings.usecase, "tuning"), kms_key_id=kms
        ),
        role=settings.role_arn,
        base_job_name=f"{settings.usecase}-train",
        sagemaker_session=session,
        # Script mode: the code arrives as the `code` channel (the network-isolated container
        # cannot download it); tuned hyperparameters come as `--name value` arguments.
        hyperparameters={
            "sagemaker_program": f"{pkg}/{recipe.train_program}",
            "sagemaker_submit_directory": f"{CODE_CHANNEL}/source.tar.gz",
        },
        environment={"PYTHONPATH": "/opt/ml/code"},
    )
    ranges = {
        r.name: (ContinuousParameter if r.kind == "continuous" else IntegerParameter)(
            r.low if r.kind == "continuous" else int(r.low),
            r.high if r.kind == "continuous" else int(r.high),
            scaling_type="Logarithmic" if r.log else "Linear",
        )
        for r in recipe.search_space
    }
    tuner = secure_tuner(
        volume_kms_key_id=kms,
        model_trainer=trainer,
        objective_metric_name=recipe.objective_metric,
        hyperparameter_ranges=ranges,
        metric_definitions=[dict(m) for m in recipe.metric_definitions],
        strategy="Bayesian",
        objective_type=recipe.objective_type,
        # the manifest's budget: rounds of `max_parallel` jobs (plain ints, not parameters)
        max_jobs=settings.tuning_max_jobs,
        max_parallel_jobs=settings.tuning_max_parallel,
    )
    tune = TuningStep(
        name="Tune",
        step_args=tuner.tune(
            inputs=[
                InputData(channel_name="train", data_source=split_uri["train"]),
                InputData(channel_name="validation", data_source=split_uri["validation"]),
                InputData(channel_name="code", data_source=settings.code("source.tar.gz")),
            ],
        ),
    )
    best_model = tune.get_top_model_s3_uri(
        top_k=0, s3_bucket=settings.bucket, prefix=f"{settings.usecase}/tuning"
    )

    report = PropertyFile(name="Evaluation", output_name="evaluation", path="evaluation.json")
    candidate_and_test = [
        s3_input("model", best_model, f"{PROCESSING}/model"),
        s3_input("test", split_uri["test"], f"{PROCESSING}/test"),
    ]
    evaluate = script_step(
        "Evaluate", recipe.evaluate_script, candidate_and_test, ["evaluation"],
        recipe.evaluate_arguments, property_files=[report],
    )  # fmt: skip
    baseline = None
    drift_baselines, data_metrics = None, {}
    if recipe.baseline_script is not None:
        baseline = script_step(
            "Baseline", recipe.baseline_script,
            [s3_input("train", split_uri["train"], f"{PROCESSING}/train")], ["baseline"],
            recipe.baseline_arguments,
        )  # fmt: skip
        out = output_uri(baseline, "baseline")

        def baseline_file(name: str) -> Any:
            uri = Join(on="/", values=[out, name])
            return MetricsSource(s3_uri=uri, content_type="application/json")

        data_metrics = {
            "model_data_statistics": baseline_file("statistics.json"),
            "model_data_constraints": baseline_file("constraints.json"),
        }
        drift_baselines = DriftCheckBaselines(**data_metrics)

    backtest, backtest_metadata = None, {}
    if recipe.backtest_script is not None:
        # the current approved model, if the starter names one (its S3 prefix or model.tar.gz);
        # the default is the marker prefix the build uploads: "no current model"
        current_model = ParameterString(
            CURRENT_MODEL_PARAMETER, default_value=settings.code("input/")
        )
        extra[CURRENT_MODEL_PARAMETER] = current_model
        model, test = candidate_and_test
        current = s3_input("current", current_model, f"{PROCESSING}/current")
        backtest = script_step(
            "Backtest", recipe.backtest_script, [model, current, test], ["backtest"],
            recipe.backtest_arguments,
        )  # fmt: skip
        out = output_uri(backtest, "backtest")
        backtest_metadata = {
            key: Join(on="/", values=[out, file]) for key, file in BACKTEST_PROPERTIES.items()
        }

    report_uri = Join(
        on="/",
        values=[
            output_uri(evaluate, "evaluation"),
            "evaluation.json",
        ],
    )
    # Publish: only a model that passed the gate goes to the registry bucket, hashed on the way
    checksum = PropertyFile(name="Checksum", output_name="model", path=CHECKSUM_FILE)
    execution = ExecutionVariables.PIPELINE_EXECUTION_ID
    publish = ProcessingStep(
        name="Publish",
        step_args=processor("publish", entrypoint=["python3", "-c", publish_script()]).run(
            inputs=[s3_input("model", best_model, f"{PROCESSING}/model")],
            outputs=[
                ProcessingOutput(
                    output_name="model",
                    s3_output=ProcessingS3Output(
                        s3_uri=Join(on="/", values=[settings.models_uri(), execution]),
                        local_path=f"{PROCESSING}/published",
                        s3_upload_mode="EndOfJob",
                    ),
                )
            ],
            kms_key=kms,
        ),
        property_files=[checksum],
    )
    published = Join(
        on="/",
        values=[
            output_uri(publish, "model"),
            MODEL_FILE,
        ],
    )
    builder = ModelBuilder(
        s3_model_data_url=published,
        image_uri=settings.inference_image,
        role_arn=settings.role_arn,
        sagemaker_session=session,
        env_vars={"SAGEMAKER_PROGRAM": recipe.serving_program},
    )
    register = ModelStep(
        name="Register",
        step_args=builder.register(
            model_package_group_name=settings.model_package_group,
            content_types=["application/json"],
            response_types=["application/json"],
            inference_instances=list(recipe.inference_instances),
            approval_status=APPROVAL_STATUS,
            description=recipe.description or f"{settings.usecase} model",
            model_metrics=ModelMetrics(
                model_statistics=MetricsSource(s3_uri=report_uri, content_type="application/json"),
                **data_metrics,
            ),
            drift_check_baselines=drift_baselines,
            customer_metadata_properties={
                "usecase": settings.usecase,
                "eval_metric": metric,
                "eval_threshold": str(threshold),
                "code": settings.code("source.tar.gz"),
                **recipe.customer_metadata,
                # after the template's: a template cannot replace the platform's entries
                **backtest_metadata,
                # last: a template cannot replace the checksum the deploy verifies
                CHECKSUM_PROPERTY: JsonGet(
                    step_name=publish.name, property_file=checksum, json_path="sha256"
                ),
            },
        ),
    )
    word = "reach" if settings.eval_direction == "maximize" else "stay under"
    fail = FailStep(
        name="GateFailed",
        error_message=f"{metric} did not {word} the registration threshold {threshold}",
    )
    gate = ConditionStep(
        name="Gate",
        conditions=[
            gate_condition(
                settings.eval_direction,
                JsonGet(
                    step_name=evaluate.name,
                    property_file=report,
                    json_path=f"metrics.{metric}.value",
                ),
                threshold,
            )
        ],
        if_steps=[publish, register],
        else_steps=[fail],
    )
    return Pipeline(
        name=settings.pipeline_name,
        parameters=[input_data, *extra.values()],
        steps=[
            preprocess,
            tune,
            evaluate,
            *([baseline] if baseline else []),
            *([backtest] if backtest else []),
            gate,
        ],
        pipeline_experiment_config=PipelineExperimentConfig(
            ExecutionVariables.PIPELINE_NAME, ExecutionVariables.PIPELINE_EXECUTION_ID
        ),
        sagemaker_session=session,
    )


def pipeline_definition(
    settings: PipelineSettings, recipe: TrainingRecipe, session: Any = None
) -> dict[str, Any]:
    """The pipeline definition as JSON data (what `upsert` would send)."""
    return json.loads(governed_pipeline(settings, recipe, session).definition())
