"""Usage assumptions behind a cost estimate: explicit, defaulted per environment, printed.

Every number a line item multiplies by a price comes from here (or from a resource's own inputs),
so an estimate can always be explained. Volume is counted in decision requests (one request:
one decision through the serving path). The defaults are the first use case's (Remedy at a large
UK motor insurer): production decides ~2,000 requests a day; dev and staging see test traffic
only.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

EndpointMode = Literal["serverless", "realtime"]


class Usage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    requests_per_day: float = Field(2000, ge=0, description="decision requests per day")
    payload_kb: float = Field(4.0, gt=0, description="payload per request (KB)")
    response_kb: float = Field(1.0, gt=0, description="response per request (KB)")
    days_per_month: float = Field(30.42, gt=0, description="730 h / 24")
    # serving
    serverless_inference_ms: float = Field(
        150, gt=0, description="serverless compute per invocation"
    )
    endpoint_mode: EndpointMode | None = Field(
        None, description="reprice every endpoint as this mode (None: as configured)"
    )
    override_serverless_memory_mb: int = Field(2048, description="memory when forced serverless")
    override_realtime_instance_type: str = Field(
        "ml.c6i.large", description="instance when forced real-time"
    )
    override_realtime_instances: int = Field(1, ge=1, description="instances when forced real-time")
    lambda_invocations_per_request: float = Field(
        1, ge=0, description="invocations of EACH Lambda function per request (upper bound)"
    )
    lambda_ms: float = Field(200, gt=0, description="billed duration per Lambda invocation")
    sfn_executions_per_request: float = Field(1, ge=0, description="per state machine")
    sfn_duration_ms: float = Field(1000, gt=0, description="Express execution duration")
    sfn_standard_transitions: float = Field(20, ge=0, description="per Standard execution")
    api_calls_per_request: float = Field(1, ge=0, description="per REST/HTTP API")
    monitoring_job_hours: float = Field(0.1, gt=0, description="per model-monitor run")
    events_per_request: float = Field(
        3, ge=0, description="Firehose records per request per stream"
    )
    # storage and keys
    s3_gb_per_bucket: float = Field(20, ge=0, description="average stored GB per bucket")
    s3_puts_per_bucket: float = Field(100_000, ge=0, description="PUT/LIST per bucket-month")
    s3_gets_per_bucket: float = Field(1_000_000, ge=0, description="GET per bucket-month")
    kms_requests_per_key: float = Field(50_000, ge=0, description="API requests per key-month")
    ecr_gb_per_repository: float = Field(3, ge=0, description="image storage per repository")
    ecr_images_pushed: float = Field(20, ge=0, description="images scanned by Inspector a month")
    secret_requests: float = Field(10_000, ge=0, description="GetSecretValue per secret-month")
    codeartifact_gb: float = Field(5, ge=0, description="packages cached per CodeArtifact domain")
    codeartifact_requests: float = Field(
        150_000, ge=0, description="CodeArtifact requests a month (~300 per install x builds)"
    )
    # network
    endpoint_gb_per_month: float = Field(10, ge=0, description="data per interface endpoint")
    nat_gb_per_month: float = Field(50, ge=0, description="data per NAT gateway")
    # logs and audit
    log_gb_per_group: float = Field(1.0, ge=0, description="ingest per log group-month")
    flow_log_gb: float = Field(5.0, ge=0, description="VPC flow logs per flow log-month")
    cloudtrail_data_events: float = Field(2_000_000, ge=0, description="per trail with data events")
    management_events: float = Field(500_000, ge=0, description="CloudTrail events GuardDuty reads")
    guardduty_flow_dns_gb: float = Field(10, ge=0, description="VPC flow + DNS logs analysed")
    config_items: float = Field(1500, ge=0, description="configuration items recorded per month")
    config_evaluations_per_rule: float = Field(500, ge=0, description="per Config rule-month")
    # delivery
    pipeline_runs: float = Field(40, ge=0, description="runs per pipeline-month")
    pipeline_action_minutes: float = Field(20, ge=0, description="action-minutes per run")
    build_minutes: float = Field(8, ge=0, description="per CodeBuild run; one run per pipeline run")
    # people and training (from use-case manifests and the stack's people)
    studio_hours_per_user: float = Field(60, ge=0, description="JupyterLab hours per user-month")
    studio_instance_type: str = Field("ml.t3.medium", description="Studio app instance")
    studio_efs_gb_per_user: float = Field(5, ge=0, description="home volume per user")
    training_runs: float = Field(4, ge=0, description="training pipeline runs per use case-month")
    tuning_runs: float = Field(1, ge=0, description="tuning runs per use case-month")
    training_job_hours: float = Field(0.25, gt=0, description="per training job or tuning trial")
    processing_jobs_per_run: float = Field(2, ge=0, description="preprocess + evaluate")
    processing_job_hours: float = Field(0.2, gt=0, description="per processing job")

    # --- derived ---------------------------------------------------------------------------
    @property
    def requests_per_month(self) -> float:
        return self.requests_per_day * self.days_per_month

    def with_overrides(self, **changes: Any) -> Usage:
        """A copy with the given (non-None) assumptions replaced, validated again."""
        values = {k: v for k, v in changes.items() if v is not None}
        return Usage.model_validate({**self.model_dump(), **values})

    def describe(self) -> list[tuple[str, str, str]]:
        """(name, value, meaning) for every assumption, for printing next to a result."""
        return [
            (name, _show(getattr(self, name)), field.description or "")
            for name, field in Usage.model_fields.items()
        ]


def _show(value: Any) -> str:
    if value is None:
        return "as configured"
    if isinstance(value, float | int) and float(value).is_integer():
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:,.4g}"
    return str(value)


# Per-environment defaults: only what differs from the production-shaped defaults above.
_ENV_DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": {
        "requests_per_day": 50,
        "log_gb_per_group": 0.2,
        "flow_log_gb": 1,
        "s3_gb_per_bucket": 10,
        "s3_gets_per_bucket": 100_000,
        "management_events": 300_000,
        "guardduty_flow_dns_gb": 2,
        "endpoint_gb_per_month": 2,
        "cloudtrail_data_events": 500_000,
    },
    "staging": {
        "requests_per_day": 200,
        "log_gb_per_group": 0.3,
        "flow_log_gb": 1,
        "s3_gb_per_bucket": 5,
        "s3_gets_per_bucket": 100_000,
        "management_events": 200_000,
        "guardduty_flow_dns_gb": 2,
        "endpoint_gb_per_month": 2,
        "cloudtrail_data_events": 500_000,
        "training_runs": 0,
        "tuning_runs": 0,
    },
    "prod": {
        "override_realtime_instances": 2,
        "training_runs": 0,
        "tuning_runs": 0,
    },
}


def default_usage(environment: str) -> Usage:
    """The assumptions for one stack before any command-line override."""
    return Usage.model_validate(_ENV_DEFAULTS.get(environment, {}))
