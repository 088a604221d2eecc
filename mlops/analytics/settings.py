"""Stack settings for decision analytics (the `analytics:` block of Pulumi.<stack>.yaml).

Pure pydantic, camelCase keys like the rest of the stack config, e.g.::

    mlops-platform:analytics:
      transformLambda: true
      dataRetentionDays: 2557
      snowflake:                 # on when an account is named (off by default)
        account: MYORG-ANALYTICS # <organisation>-<account> (SNOWFLAKE_PRIVATE_KEY: key-pair auth)
        user: MLOPS_INGEST
        role: MLOPS_INGEST
        database: MLOPS
        schema: ANALYTICS
        awsIamUserArn: arn:aws:iam::123456789012:user/abc0-s-xyz
        externalId: mlops-prod-remedy-ingest
      monitoring:
        enabled: true
        driftThreshold: 0.2
        scheduleExpression: cron(0 * ? * * *)
        features: [age_years, income]   # the use case's inputs to watch; none by default
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


class SnowflakeSettings(_Model):
    enabled: bool | None = None
    """Defaults to on when ``account`` is given; ``false`` keeps a configured account off."""
    account: str | None = Field(None, pattern=r"^[A-Za-z0-9]+-[A-Za-z0-9_]+$")
    """The Snowflake account, ``<organisation>-<account>`` (as in its account URL)."""
    user: str = Field("MLOPS_INGEST", pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    role: str = Field("MLOPS_INGEST", pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    warehouse: str | None = Field(None, pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    database: str = Field("MLOPS", pattern=r"^[A-Z][A-Z0-9_]*$")
    schema_: str = Field("ANALYTICS", alias="schema", pattern=r"^[A-Z][A-Z0-9_]*$")
    aws_iam_user_arn: str | None = Field(None, pattern=r"^arn:aws:iam::\d{12}:user/")
    external_id: str | None = Field(None, min_length=8)

    @property
    def on(self) -> bool:
        return self.account is not None and self.enabled is not False

    @property
    def organization_name(self) -> str:
        return (self.account or "").split("-", 1)[0].upper()

    @property
    def account_name(self) -> str:
        return (self.account or "").split("-", 1)[-1].upper()

    @model_validator(mode="after")
    def _complete_when_enabled(self) -> SnowflakeSettings:
        if self.enabled and not self.account:
            raise ValueError(
                "snowflake.account: name the Snowflake account (<organisation>-<account>) to "
                "turn the ingest on"
            )
        if self.on and not (self.aws_iam_user_arn and self.external_id):
            raise ValueError(
                "snowflake.account needs awsIamUserArn (DESC INTEGRATION … "
                "STORAGE_AWS_IAM_USER_ARN) and externalId"
            )
        return self


class MonitoringSettings(_Model):
    enabled: bool = False
    drift_threshold: float = Field(0.2, gt=0, lt=10)
    schedule_expression: str = Field("cron(0 * ? * * *)", pattern=r"^cron\(.+\)$")
    features: tuple[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")], ...] = ()
    """The use case's inputs to watch for drift (request fields); empty means none. The platform
    knows no use case's inputs, so monitoring needs them named."""

    @model_validator(mode="after")
    def _features_when_enabled(self) -> MonitoringSettings:
        if self.enabled and not self.features:
            raise ValueError(
                "monitoring.features: name the inputs to watch for drift when monitoring is "
                "enabled (e.g. features: [age_years, income]), or set enabled: false"
            )
        return self


class AnalyticsSettings(_Model):
    transform_lambda: bool = False
    data_retention_days: int = Field(2557, ge=1)
    buffer_interval_seconds: int = Field(300, ge=0, le=900)
    snowflake: SnowflakeSettings = SnowflakeSettings()
    monitoring: MonitoringSettings = MonitoringSettings()

    @model_validator(mode="after")
    def _snowflake_needs_flat_rows(self) -> AnalyticsSettings:
        if self.snowflake.on and not self.transform_lambda:
            raise ValueError(
                "snowflake.account needs transformLambda: true (Snowpipe loads the flat rows "
                "the transformation Lambda writes)"
            )
        return self
