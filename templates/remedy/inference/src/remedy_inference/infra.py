"""Pulumi program of this use case's inference stack (dev, staging, prod).

Everything is built by the platform's reusable ``InferenceService`` component
(``mlops.components.serving``); this repo supplies settings from its stack config and the
platform stack's outputs (network, keys, buckets). With no approved model package yet
(``modelPackageArn`` unset) the stack deploys without an endpoint and every decision answers
``investigate`` (MODEL_NOT_DEPLOYED). The deploy pipeline sets ``modelPackageArn``.

Config (``Pulumi.<stack>.yaml``):
  accountId               this stack's AWS account (physical names are built from it)
  platformStack           StackReference of the platform stack (e.g. org/mlops-platform/dev)
  modelPackageArn         approved model package (optional)
  endpointMode            serverless | realtime     (+ serverlessMemoryMb, maxConcurrency |
                          instanceType, minInstances, maxInstances)
  functionConcurrency     reserved concurrency of each serving Lambda (manifest, default 10)
  lambdaLayerArns         extra layers (optional; the dependency layer is this program's own)
  valuationUrl            the external valuation API (https); required in staging and prod:
                          without it the deploy fails (dev without it: synthetic market)
  valuationSecretId, pseudonymisationSecretId   existing secrets to use instead of the ones
                          this program creates (mlops-<env>-<usecase>-valuation-api-key,
                          mlops-<env>-<usecase>-pseudonymisation-key; values set out of band)
  alarmTopicArn (optional)
  modelHealth             prod: {retrainPipelineArn: arn:aws:sagemaker:...:pipeline/...} starts
                          the training pipeline when a model-health alarm fires (the manifest's
                          monitoring.retrain_on_breach; the pipeline must be in this account)
  analytics               decision analytics (mlops.analytics.settings.AnalyticsSettings, e.g.
                          {transformLambda: true, snowflake: {account: MYORG-ANALYTICS, ...}}):
                          naming a Snowflake account wires the Snowflake ingest (off by default)

Egress: the market-data function runs on Lambda's own network (outside the VPC) so it can reach
the valuation API with no NAT; its role may only log, decrypt its environment and read the
valuation key secret. Encode and decide stay in the VPC (X-Ray and Secrets Manager endpoints).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlops.inference.stack_settings import InferenceStackSettings, common_settings

from remedy_core.claims import Claim
from remedy_inference import usecase

#: what the functions run on; the dependency layer is built for exactly this (handlers/package.py)
LAMBDA_ARCHITECTURE = "arm64"
LAMBDA_RUNTIME = "python3.12"
#: where ``lambda-package build/lambda`` (the deploy build, before ``pulumi up``) writes the
#: function package (byte-compiled for LAMBDA_RUNTIME: Lambda's read-only file system cannot cache
#: pycs, so source alone is compiled again on every cold start) and the layer
FUNCTION_DIR = "build/lambda/function"
LAYER_DIR = "build/lambda/layer"
#: the model-health job's own layer (duckdb, pandas): kept off the decide path's layers
HEALTH_LAYER_DIR = "build/lambda/health-layer"
HEALTH_HANDLER = "remedy_inference.handlers.health.handler"

HANDLERS = {
    "encode": "remedy_inference.handlers.encode.handler",
    "market": "remedy_inference.handlers.market.handler",
    "decide": "remedy_inference.handlers.decide.handler",
}


#: what the decision API answers when it cannot decide: ``investigate``, so a handler assesses
#: the claim (never a 5xx; ``mlops.inference.fallback``). The decide step failed after its retries:
FALLBACK_DECISION = {
    "recommendation": "investigate",
    "decided_by": "MISSING_EVIDENCE",
    "confidence": 1.0,
    "reasons": [
        {
            "rule": "MISSING_EVIDENCE",
            "code": "DECISION_SERVICE_ERROR",
            "sentence": "The decision service failed: a handler must assess this claim.",
        }
    ],
}
#: the workflow did not complete (timed out, aborted): API Gateway's answer, $r.status its status
WORKFLOW_INCOMPLETE_TEMPLATE = """{"recommendation": "investigate", "decided_by": "MISSING_EVIDENCE", "confidence": 1.0,
 "reasons": [{"rule": "MISSING_EVIDENCE", "code": "WORKFLOW_$r.status",
 "sentence": "The decision workflow did not complete: a handler must assess this claim."}]}"""  # noqa: E501
#: the body fails the request model (API Gateway's 400, with the failing properties)
INVALID_REQUEST_DETAIL = "invalid claim"


def fallback_responses() -> Any:
    """The platform's ``FallbackResponses`` with Remedy's answers (validated there)."""
    from mlops.inference.fallback import FallbackResponses

    return FallbackResponses(
        decide_failed=FALLBACK_DECISION,
        incomplete_template=WORKFLOW_INCOMPLETE_TEMPLATE,
        invalid_request_detail=INVALID_REQUEST_DETAIL,
    )


@dataclass(frozen=True, kw_only=True)
class InferenceSettings(InferenceStackSettings):
    """The platform's common inference-stack settings plus Remedy's own."""

    cost_centre: str = "claims"
    log_retention_days: int = 365
    valuation_url: str | None = None
    valuation_secret_id: str | None = None
    pseudonymisation_secret_id: str | None = None
    alarm_topic_arn: str | None = None
    retrain_pipeline_arn: str | None = None
    analytics: Any = None
    """``mlops.analytics.settings.AnalyticsSettings`` (validated in ``settings_from_config``)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        url = self.valuation_url
        if url is not None and not url.startswith("https://"):
            raise ValueError(f"valuationUrl {url!r} must be an https:// URL")
        if url is None and self.environment != "dev":
            raise ValueError(
                f"valuationUrl is required in {self.environment}: without it the market-data "
                "step would serve synthetic values; fix: pulumi config set valuationUrl "
                "https://<valuation-api> (and put the API key in the valuation-api-key secret)"
            )


def settings_from_config(config: Any, environment: str) -> InferenceSettings:
    """Read settings from a ``pulumi.Config`` (or anything with get/require/get_int/get_object)."""
    return InferenceSettings(
        **common_settings(config, environment, instance_type="ml.c6i.large", prod_instances=(2, 6)),
        cost_centre=config.get("costCentre") or "claims",
        log_retention_days=config.get_int("logRetentionDays") or 365,
        valuation_url=config.get("valuationUrl"),
        valuation_secret_id=config.get("valuationSecretId"),
        pseudonymisation_secret_id=config.get("pseudonymisationSecretId"),
        alarm_topic_arn=config.get("alarmTopicArn"),
        retrain_pipeline_arn=(config.get_object("modelHealth") or {}).get("retrainPipelineArn"),
        analytics=analytics_settings(config.get_object("analytics")),
    )


def analytics_settings(raw: Any) -> Any:
    """The ``analytics`` config object, validated; errors name the key (analytics.<field>)."""
    from mlops.analytics.settings import AnalyticsSettings
    from pydantic import ValidationError

    try:
        return AnalyticsSettings.model_validate(raw or {})
    except ValidationError as exc:
        problems = "; ".join(
            "analytics." + ".".join(str(p) for p in e["loc"]) + ": " + e["msg"]
            for e in exc.errors()
        )
        raise ValueError(f"invalid analytics config: {problems}") from None


def response_schema() -> dict[str, Any]:
    """JSON Schema of the decision API's answer (what the workflow's decide step returns); the
    platform checks its smoke test against it."""
    from remedy_core.decision import Decision

    return Decision.model_json_schema()


def lambda_code(function_dir: str = FUNCTION_DIR) -> Any:
    """The deployment package: this repo's two packages, as ``lambda-package`` built them with
    their pycs (dependencies come from the layers); ``pulumi up`` fails naming the path when
    absent."""
    import pulumi

    return pulumi.AssetArchive(
        {
            "remedy_inference": pulumi.FileArchive(f"{function_dir}/remedy_inference"),
            "remedy_core": pulumi.FileArchive(f"{function_dir}/remedy_core"),
        }
    )


def function_settings(settings: InferenceSettings, role: str) -> dict[str, Any]:
    """Each step's environment, secrets and network (pure).

    market: the valuation URL and API key secret, outside the VPC (its only egress is the
    valuation API); decide: the pseudonymisation key secret. A configured secret id replaces the
    secret this program would create. ``REMEDY_STAGE`` makes the handlers refuse, outside dev,
    to fall back to the synthetic market or the local pseudonymisation key.
    """
    env = {"REMEDY_JURISDICTION": usecase.JURISDICTION, "REMEDY_STAGE": settings.environment}
    managed: dict[str, str] = {}
    arns: list[str] = []

    def secret(var: str, configured: str | None, purpose: str) -> None:
        if configured:
            env[var] = configured
            arns.extend([configured] if configured.startswith("arn:") else [])
        else:
            managed[var] = purpose

    if role == "market" and settings.valuation_url:
        env["REMEDY_VALUATION_URL"] = settings.valuation_url
        secret("REMEDY_VALUATION_SECRET_ID", settings.valuation_secret_id, "valuation-api-key")
    if role == "decide":
        secret(
            "REMEDY_PSEUDONYMISATION_SECRET_ID",
            settings.pseudonymisation_secret_id,
            "pseudonymisation-key",
        )
    return {
        "memory_mb": 1024 if role == "encode" else 512,
        # the valuation client's deadline is 4 s; with one retry per step the workflow's slowest
        # path (3 + 5 + 3 s, doubled, plus waits: 25 s) fits under API Gateway's 29 s
        "timeout_s": 5 if role == "market" else 3,
        "environment": env,
        "secret_arns": tuple(arns),
        "managed_secrets": managed,
        "in_vpc": role != "market",
    }


def lambda_layer(layer_dir: str = LAYER_DIR) -> Any:
    """The dependency layer: manylinux wheels for ``LAMBDA_ARCHITECTURE``, built by the deploy
    build (``lambda-package build/lambda``); ``pulumi up`` fails naming the path when absent."""
    import pulumi

    return pulumi.FileArchive(layer_dir)


def build(settings: InferenceSettings, code: Any = None, layer: Any = None) -> Any:
    """Create the use case's decision service (the platform component does the work)."""
    import pulumi
    from mlops.analytics.settings import AnalyticsSettings
    from mlops.components.analytics import DecisionAnalytics, DecisionAnalyticsArgs
    from mlops.components.analytics_snowflake import snowflake_args
    from mlops.components.serving import FunctionSpec, InferenceService, InferenceServiceArgs
    from mlops.naming import NameContext

    from remedy_core.events import REGISTRY

    platform = pulumi.StackReference(settings.platform_stack)
    tags = {
        "owner": usecase.OWNER_EMAIL,
        "cost-centre": settings.cost_centre,
        "data-classification": "confidential",
        "environment": settings.environment,
        "managed-by": "pulumi",
    }
    # physical names are needed while building, so the account id is plain config
    names = NameContext(settings.environment, settings.account_id, usecase.AWS_REGION)
    functions = [
        FunctionSpec(role=role, handler=handler, **function_settings(settings, role))
        for role, handler in HANDLERS.items()
    ]
    service = InferenceService(
        usecase.USECASE_NAME,
        InferenceServiceArgs(
            usecase=usecase.USECASE_NAME,
            names=names,
            tags=tags,
            endpoint=settings.endpoint(),
            functions=functions,
            code=code if code is not None else lambda_code(),
            layer_code=layer if layer is not None else lambda_layer(),
            architecture=LAMBDA_ARCHITECTURE,
            runtime=LAMBDA_RUNTIME,
            kms_key_arn=platform.require_output("artifacts_key_arn"),
            subnet_ids=platform.require_output("private_subnet_ids"),
            security_group_ids=platform.require_output("sagemaker_security_group_id").apply(
                lambda sg: [sg]
            ),
            model_package_arn=settings.model_package_arn,
            # registered models live in dev's model-artifacts bucket (the artifact contract)
            model_artifact_bucket_arn=platform.require_output("registered_models_bucket").apply(
                lambda b: f"arn:aws:s3:::{b}"
            ),
            model_artifact_kms_key_arn=platform.require_output("registered_models_key_arn"),
            data_capture_bucket=platform.require_output("data_bucket"),
            data_capture_kms_key_arn=platform.require_output("data_key_arn"),
            log_kms_key_arn=platform.require_output("logs_key_arn"),
            layers=list(settings.lambda_layer_arns),
            request_schema=Claim.model_json_schema(),
            alarm_topic_arn=settings.alarm_topic_arn,
            # Remedy recommends investigate: above this hourly share, handlers cannot keep up;
            # the alarm also rolls a real-time rollout back
            decision_events=True,
            dashboard=True,  # the stage's operations dashboard (docs/rollout.md)
            health_metrics=HEALTH_METRICS,
            investigate_alarm_share=0.25,
            log_retention_days=settings.log_retention_days,
            reserved_concurrency=settings.function_concurrency,
            fallback=fallback_responses(),
        ),
    )
    health = model_health(settings, names, service, platform, tags)
    health_job(settings, names, service, platform, tags, code)
    analytics = settings.analytics or AnalyticsSettings()
    # Decision monitoring: the decide Lambda's audit events (its log group) -> subscription ->
    # Firehose -> the platform's analytics landing bucket -> warehouse / Snowflake.
    DecisionAnalytics(
        f"{usecase.USECASE_NAME}-analytics",
        DecisionAnalyticsArgs(
            names=names,
            usecase=usecase.USECASE_NAME,
            events=REGISTRY,  # Remedy's events, tables and views
            log_group_name=service.function_log_groups["decide"].name,
            kms_key_arn=platform.require_output("data_key_arn"),
            log_kms_key_arn=platform.require_output("logs_key_arn"),
            access_logs_bucket=platform.require_output("access_logs_bucket"),
            landing_bucket_name=platform.require_output("analytics_landing_bucket"),
            landing_bucket_arn=platform.require_output("analytics_landing_bucket").apply(
                lambda b: f"arn:aws:s3:::{b}"
            ),
            tags=tags,
            log_retention_days=settings.log_retention_days,
            transform_lambda=analytics.transform_lambda,
            data_retention_days=analytics.data_retention_days,
            buffer_interval_seconds=analytics.buffer_interval_seconds,
            snowflake=snowflake_args(usecase.USECASE_NAME, analytics.snowflake),
            monitoring=data_quality_monitor(settings, names, service, platform, tags, health),
        ),
        opts=pulumi.ResourceOptions(depends_on=[service]),
    )
    return service


#: Remedy's drift-monitored inputs: model-health alarms (all) and Model Monitor (the first 3)
HEALTH_FEATURES = (
    "vehicle_age_years", "mileage", "delta_v_kph", "zones_hit_count", "max_zone_severity",
    "powertrain",
)  # fmt: skip
MONITOR_FEATURES = ("vehicle_age_years", "mileage", "delta_v_kph")
#: the model-health job's metrics (``remedy_core.monitoring.METRICS``) on the dashboard
HEALTH_METRICS = (
    "RepairCostIntervalCoverage", "RepairCostBias", "RepairCostMAE", "PavWithin10Pct",
    "WrongWriteOffRate", "TotalLossECE",
)  # fmt: skip


#: Remedy's model-health alarms (role, metric, comparison, threshold, statistic, description):
#: thresholds after the domain reference (docs/monitoring.md)
HEALTH_CHECKS = (
    ("coverage-low", "RepairCostIntervalCoverage", "LessThanThreshold", 0.72,
     "Minimum", "80% repair-cost interval covers under 72% of final costs"),
    ("coverage-high", "RepairCostIntervalCoverage", "GreaterThanThreshold", 0.88,
     "Maximum", "80% repair-cost interval covers over 88% of final costs (too wide)"),
    ("bias-low", "RepairCostBias", "LessThanThreshold", -0.07, "Minimum",
     "repair cost under-predicted by more than 7% against the final cost"),
    ("bias-high", "RepairCostBias", "GreaterThanThreshold", 0.07, "Maximum",
     "repair cost over-predicted by more than 7% against the final cost"),
    ("pav", "PavWithin10Pct", "LessThanThreshold", 0.85, "Minimum",
     "under 85% of PAVs within 10% of the settlement"),
    ("wrong-write-offs", "WrongWriteOffRate", "GreaterThanThreshold", 0.03, "Maximum",
     "over 3% of closed claims were wrong write-offs"),
    ("calibration", "TotalLossECE", "GreaterThanThreshold", 0.08, "Maximum",
     "total-loss probability miscalibrated (ECE above 0.08)"),
)  # fmt: skip


def health_checks() -> tuple[Any, ...]:
    """:data:`HEALTH_CHECKS` as the platform's ``HealthCheck`` values."""
    from mlops.components.analytics_health import HealthCheck

    return tuple(HealthCheck(*check) for check in HEALTH_CHECKS)


def model_health(settings, names, service, platform, tags) -> Any:
    """Prod: the model-health alarms (quality against claim outcomes, drift per input) notifying
    the use case's lead on a KMS-encrypted topic; other stages: none (outcomes are prod's)."""
    if settings.environment != "prod":
        return None
    from mlops.components.analytics_health import ModelHealthAlarms, ModelHealthAlarmsArgs

    return ModelHealthAlarms(
        f"{usecase.USECASE_NAME}-health",
        ModelHealthAlarmsArgs(
            names=names,
            usecase=usecase.USECASE_NAME,
            stage=settings.environment,
            kms_key_arn=platform.require_output("logs_key_arn"),
            lead_emails=[usecase.OWNER_EMAIL],
            tags=tags,
            checks=health_checks(),
            features=HEALTH_FEATURES,
            retrain_pipeline_arn=settings.retrain_pipeline_arn,
        ),
    )


def health_job(settings, names, service, platform, tags, code=None) -> Any:
    """Prod: the scheduled, in-VPC job that computes monthly quality and drift from the landed
    decision and outcome events and puts the ``mlops/model-health`` metrics the alarms watch."""
    if settings.environment != "prod":
        return None
    import pulumi
    from mlops.components.analytics_health_job import ModelHealthJob, ModelHealthJobArgs

    landing = platform.require_output("analytics_landing_bucket")
    return ModelHealthJob(
        f"{usecase.USECASE_NAME}-health-job",
        ModelHealthJobArgs(
            names=names,
            usecase=usecase.USECASE_NAME,
            stage=settings.environment,
            handler=HEALTH_HANDLER,
            code=code if code is not None else lambda_code(),
            layer_code=pulumi.FileArchive(HEALTH_LAYER_DIR),
            layers=[service.layer.arn] if service.layer is not None else [],
            architecture=LAMBDA_ARCHITECTURE,
            runtime=LAMBDA_RUNTIME,
            landing_bucket_name=landing,
            landing_bucket_arn=landing.apply(lambda b: f"arn:aws:s3:::{b}"),
            data_kms_key_arn=platform.require_output("data_key_arn"),
            log_kms_key_arn=platform.require_output("logs_key_arn"),
            subnet_ids=platform.require_output("private_subnet_ids"),
            security_group_ids=platform.require_output("sagemaker_security_group_id").apply(
                lambda sg: [sg]
            ),
            tags=tags,
            log_retention_days=settings.log_retention_days,
        ),
    )


def data_quality_monitor(settings, names, service, platform, tags, health) -> Any:
    """Prod real-time endpoints: a Model Monitor data-quality schedule over the captured requests
    against the training baseline, run as the endpoint's model role (which the data bucket's
    need-to-know policy admits); its drift alarms notify the model-health topic."""
    from mlops.components.analytics_monitor import ModelMonitorArgs
    from mlops.usecases import RealtimeEndpoint

    endpoint = service.model_endpoint
    if settings.environment != "prod" or endpoint is None:
        return None
    if not isinstance(settings.endpoint(), RealtimeEndpoint):
        return None  # serverless endpoints have no data capture
    return ModelMonitorArgs(
        names=names,
        usecase=usecase.USECASE_NAME,
        endpoint_name=endpoint.endpoint.name,
        data_bucket_name=platform.require_output("data_bucket"),
        data_bucket_arn=platform.require_output("data_bucket").apply(lambda b: f"arn:aws:s3:::{b}"),
        kms_key_arn=platform.require_output("data_key_arn"),
        subnet_ids=platform.require_output("private_subnet_ids"),
        security_group_ids=[platform.require_output("sagemaker_security_group_id")],
        tags=tags,
        features=MONITOR_FEATURES,
        role_arn=endpoint.role.arn,
        alarm_topic_arns=[health.topic.arn] if health is not None else [],
    )
