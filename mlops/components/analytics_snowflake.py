"""Snowflake ingestion of decision events: `SnowflakeIngest` (`mlops:analytics:SnowflakeIngest`).

Created by :class:`mlops.components.analytics.DecisionAnalytics` when stack config enables it:
an IAM role Snowflake assumes (external id, read-only on the landing prefix, KMS decrypt), a
storage integration, a JSON file format, an external stage (SSE-KMS), one table per event type
(columns from the use case's `EventRegistry`), one auto-ingest Snowpipe per table fed by the
bucket's event notification, and the registry's views (the same SQL files the local DuckDB
warehouse runs, translated to Snowflake by sqlglot).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws
import pulumi_snowflake as snowflake

from mlops import iam, naming
from mlops.analytics.views import load_views
from mlops.events import EventRegistry
from mlops.naming import NameContext
from mlops.rehearsal import declare

if TYPE_CHECKING:
    from mlops.analytics.settings import SnowflakeSettings

#: pulumi-snowflake 2.x resources still behind its preview-features switch
PREVIEW_FEATURES = (
    "snowflake_file_format_resource",
    "snowflake_pipe_resource",
    "snowflake_stage_external_s3_resource",
    "snowflake_storage_integration_aws_resource",
    "snowflake_table_resource",
)


SNOWFLAKE_TYPES = {
    "VARCHAR": "VARCHAR",
    "TIMESTAMP": "TIMESTAMP_NTZ",
    "DOUBLE": "FLOAT",
    "INTEGER": "NUMBER(38,0)",
    "BIGINT": "NUMBER(38,0)",
    "BOOLEAN": "BOOLEAN",
    "DATE": "DATE",
}


@dataclass(frozen=True, kw_only=True)
class SnowflakeArgs:
    """Snowflake side (created only when given). Names are Snowflake identifiers (upper case)."""

    database: str
    schema: str = "ANALYTICS"
    aws_iam_user_arn: str
    """The one IAM user Snowflake uses for every storage integration in the Snowflake account
    (DESC INTEGRATION … STORAGE_AWS_IAM_USER_ARN); stable, so it is configuration."""
    external_id: str
    """External id we set on the integration and require in the role's trust policy."""
    provider: pulumi.ProviderResource | None = None

    def __post_init__(self) -> None:
        for label, value in (("database", self.database), ("schema", self.schema)):
            if not value.replace("_", "").isalnum() or not value.isupper():
                raise ValueError(f"SnowflakeArgs.{label} {value!r}: use an upper-case identifier")
        if not self.aws_iam_user_arn.startswith("arn:aws:iam::"):
            raise ValueError("SnowflakeArgs.aws_iam_user_arn must be an IAM user ARN")
        if len(self.external_id) < 8:
            raise ValueError("SnowflakeArgs.external_id must be at least 8 characters")


def snowflake_args(
    name: str, settings: SnowflakeSettings, opts: pulumi.ResourceOptions | None = None
) -> SnowflakeArgs | None:
    """The Snowflake side from validated stack settings: None unless an account is named; else
    a provider for that account (key-pair auth: the private key comes from the environment,
    ``SNOWFLAKE_PRIVATE_KEY``, never from config) and the ingest's arguments."""

    if not settings.on:
        return None
    assert settings.aws_iam_user_arn and settings.external_id  # validated at the edge
    provider = snowflake.Provider(
        f"{name}-snowflake-provider",
        organization_name=settings.organization_name,
        account_name=settings.account_name,
        user=settings.user,
        role=settings.role,
        warehouse=settings.warehouse,
        authenticator="SNOWFLAKE_JWT",
        preview_features_enabled=list(PREVIEW_FEATURES),
        opts=opts,
    )
    return SnowflakeArgs(
        database=settings.database,
        schema=settings.schema_,
        aws_iam_user_arn=settings.aws_iam_user_arn,
        external_id=settings.external_id,
        provider=provider,
    )


def snowflake_role_policy(bucket_arn: str, prefix: str, key_arn: str) -> dict:
    """What Snowflake may do with our account: read the landing prefix, decrypt (pure)."""
    return iam.document(
        iam.statement(
            "ReadLandingPrefix", ["s3:GetObject", "s3:GetObjectVersion"], f"{bucket_arn}/{prefix}*"
        ),
        iam.statement(
            "ListLandingPrefix",
            ["s3:ListBucket", "s3:GetBucketLocation"],
            bucket_arn,
            condition={"StringLike": {"s3:prefix": [f"{prefix}*"]}},
        ),
        iam.kms_use("DecryptLanding", [key_arn], decrypt_only=True),
    )


def snowflake_trust(iam_user_arn: str, external_id: str) -> dict:
    return iam.document(
        iam.statement(
            "TrustSnowflakeIntegration",
            "sts:AssumeRole",
            iam.NO_RESOURCE,
            principal={"AWS": iam_user_arn},
            condition={"StringEquals": {"sts:ExternalId": external_id}},
        )
    )


def copy_statement(table_fqn: str, stage_fqn: str, event_type: str, format_fqn: str) -> str:
    return (
        f"COPY INTO {table_fqn} FROM @{stage_fqn}/event_type={event_type}/ "
        f"FILE_FORMAT = (FORMAT_NAME = '{format_fqn}') MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE"
    )


@dataclass(frozen=True, kw_only=True)
class SnowflakeIngestArgs:
    names: NameContext
    usecase: str
    events: EventRegistry
    """The use case's event tables (one Snowflake table and Snowpipe each) and views."""
    settings: SnowflakeArgs
    bucket_name: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    prefix: str
    tags: Mapping[str, str]


class SnowflakeIngest(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: SnowflakeIngestArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:analytics:SnowflakeIngest", name, None, opts)
        ctx, s = args.names, args.settings
        aws_child = pulumi.ResourceOptions(parent=self)
        sf_child = pulumi.ResourceOptions(parent=self, provider=s.provider)
        db, schema = s.database, s.schema
        base = f"{args.usecase.upper().replace('-', '_')}"

        # Named like the other analytics roles so need-to-know bucket policies admit it.
        role_name = naming.role_name(ctx, args.usecase, "analytics-snowflake")
        self.role = aws.iam.Role(
            f"{name}-role",
            name=role_name,
            permissions_boundary=naming.boundary_policy_arn(ctx, args.usecase),
            assume_role_policy=iam.dumps(snowflake_trust(s.aws_iam_user_arn, s.external_id)),
            tags=dict(args.tags),
            opts=aws_child,
        )
        self.role_policy = aws.iam.RolePolicy(
            f"{name}-role-policy",
            role=self.role.id,
            policy=pulumi.Output.all(args.bucket_arn, args.kms_key_arn).apply(
                lambda v: iam.dumps(snowflake_role_policy(v[0], args.prefix, v[1]))
            ),
            opts=aws_child,
        )
        location = pulumi.Output.concat("s3://", args.bucket_name, "/", args.prefix)
        self.integration = snowflake.StorageIntegrationAws(
            f"{name}-integration",
            name=f"{base}_{ctx.environment.upper()}_DECISION_EVENTS",
            enabled=True,
            storage_provider="S3",
            storage_allowed_locations=[location],
            storage_aws_role_arn=iam.role_arn(ctx.account_id, role_name),
            storage_aws_external_id=s.external_id,
            comment="mlops decision events landing bucket",
            opts=sf_child,
        )
        self.schema = snowflake.Schema(
            f"{name}-schema", database=db, name=schema, comment="mlops analytics", opts=sf_child
        )
        schema_opts = pulumi.ResourceOptions(parent=self, provider=s.provider,
                                             depends_on=[self.schema])  # fmt: skip
        self.file_format = snowflake.FileFormat(
            f"{name}-json",
            database=db,
            schema=schema,
            name=f"{base}_EVENTS_JSON",
            format_type="JSON",
            compression="AUTO",
            opts=schema_opts,
        )
        format_fqn = f"{db}.{schema}.{base}_EVENTS_JSON"
        stage_name = f"{base}_DECISION_EVENTS"
        self.stage = snowflake.StageExternalS3(
            f"{name}-stage",
            database=db,
            schema=schema,
            name=stage_name,
            url=location,
            storage_integration=self.integration.name,
            encryption=snowflake.StageExternalS3EncryptionArgs(
                aws_sse_kms=snowflake.StageExternalS3EncryptionAwsSseKmsArgs(
                    kms_key_id=args.kms_key_arn
                )
            ),
            file_format=snowflake.StageExternalS3FileFormatArgs(format_name=format_fqn),
            opts=pulumi.ResourceOptions(
                parent=self, provider=s.provider, depends_on=[self.schema, self.file_format]
            ),
        )
        stage_fqn = f"{db}.{schema}.{stage_name}"
        self.tables: dict[str, snowflake.Table] = {}
        self.pipes: dict[str, snowflake.Pipe] = {}
        for spec in args.events.tables:
            event_type, table, columns = spec.event_type, spec.table, spec.columns
            slug = event_type.replace("_", "-")
            self.tables[event_type] = snowflake.Table(
                f"{name}-table-{slug}",
                database=db,
                schema=schema,
                name=table.upper(),
                columns=[
                    snowflake.TableColumnArgs(name=c, type=t, nullable=c != "EVENT_ID")
                    for c, t in snowflake_columns(columns)
                ],
                comment=f"{event_type} events (schema {args.events.schema_version}, "
                f"{len(columns)} columns)",
                opts=schema_opts,
            )
            self.pipes[event_type] = snowflake.Pipe(
                f"{name}-pipe-{slug}",
                database=db,
                schema=schema,
                name=f"{table.upper()}_PIPE",
                auto_ingest=True,
                copy_statement=copy_statement(
                    f"{db}.{schema}.{table.upper()}", stage_fqn, event_type, format_fqn
                ),
                opts=pulumi.ResourceOptions(
                    parent=self,
                    provider=s.provider,
                    depends_on=[self.tables[event_type], self.stage],
                ),
            )
        # Every Snowpipe of a Snowflake account shares one SQS queue: one notification suffices.
        self.notification = aws.s3.BucketNotification(
            f"{name}-notification",
            bucket=args.bucket_name,
            queues=[
                aws.s3.BucketNotificationQueueArgs(
                    id="snowpipe-auto-ingest",
                    queue_arn=next(iter(self.pipes.values())).notification_channel,
                    events=["s3:ObjectCreated:*"],
                    filter_prefix=args.prefix,
                )
            ],
            opts=aws_child,
        )
        self.views: dict[str, snowflake.View] = {}
        for view in load_views(args.events.views_dir):
            self.views[view.name] = snowflake.View(
                f"{name}-view-{view.name.replace('_', '-')}",
                database=db,
                schema=schema,
                name=view.name.upper(),
                statement=view.translate("snowflake", qualify=(db, schema)),
                comment=view.description[:250],
                opts=pulumi.ResourceOptions(
                    parent=self, provider=s.provider, depends_on=list(self.tables.values())
                ),
            )
        self._declare_ingest(args, role_name)
        self.register_outputs(
            {
                "integration": self.integration.name,
                "stage": stage_fqn,
                "pipes": {k: p.name for k, p in self.pipes.items()},
            }
        )

    def _declare_ingest(self, args: SnowflakeIngestArgs, role_name: str) -> None:
        """Runtime actors (mlops rehearse): Snowflake assumes the role with the external id and
        reads what Firehose delivered; without the external id it must be refused."""
        s, ctx = args.settings, args.names
        snowflake_account = s.aws_iam_user_arn.split(":")[4]
        role_arn = iam.role_arn(ctx.account_id, role_name)
        assume = "Snowflake's storage integration assumes the ingest role"
        declare.actor(
            flow="analytics",
            step=assume,
            principal=s.aws_iam_user_arn,
            account=snowflake_account,
            origin=declare.PUBLIC,
            order=40,
            calls=[
                declare.call(
                    "sts:AssumeRole", role_arn, context={"sts:ExternalId": s.external_id},
                    why="with the integration's external id",
                )
            ],
        )  # fmt: skip
        declare.actor(
            flow="attacks",
            step=f"{assume} without the external id (confused deputy)",
            principal=s.aws_iam_user_arn,
            account=snowflake_account,
            origin=declare.PUBLIC,
            order=90,
            calls=[declare.call("sts:AssumeRole", role_arn, expect="deny",
                                why="another Snowflake customer's integration, same IAM user")],
        )  # fmt: skip
        obj = pulumi.Output.from_input(args.bucket_arn).apply(
            lambda arn: f"{arn}/{args.prefix}rehearsal/part-0000.gz"
        )
        declare.actor(
            flow="analytics",
            step="Snowpipe loads the delivered events (as the ingest role)",
            principal=role_arn,
            account=ctx.account_id,
            origin=declare.PUBLIC,
            order=41,
            calls=[
                declare.call("s3:ListBucket", args.bucket_arn, context={"s3:prefix": args.prefix},
                             why="the stage lists the landing prefix"),
                declare.call("s3:GetObject", obj, why="COPY INTO reads a delivered batch"),
            ],
        )  # fmt: skip


def snowflake_columns(columns: Mapping[str, str]) -> list[tuple[str, str]]:
    """(column, Snowflake type) of a table's portable columns (pure; ``EventTable.columns``)."""
    return [(c.upper(), SNOWFLAKE_TYPES[t]) for c, t in columns.items()]
