"""`mlops:usecase:RollbackTrigger` — rejecting a package that is live in a stage rolls it back.

An EventBridge rule (a deployed package of *this* group becomes ``Rejected``,
``mlops.delivery.events.rejected_package_pattern``) invokes a small function running the same
code as ``mlops rollback`` (``mlops.delivery.rollback.lambda_handler``): for every stage the
package is live in, the previous Approved package is redeployed through the deploy pipeline
(``codepipeline:StartPipelineExecution`` with ``PACKAGE_ARN``/``ROLLBACK_STAGE``) and the
rollback is recorded on both packages. One execution at a time (reserved concurrency 1), so two
events for the same package never race; a repeated event starts nothing (the record says a
rollback is under way).

The function runs on Lambda's own network, not in the VPC: it calls only the public,
IAM-authorised SageMaker registry and CodePipeline APIs and reaches no customer data store (the
VPC has no CodePipeline endpoint). Its code is the platform's own stdlib-only modules, shipped
as they are. Built by ``DeployPipeline`` (dev stack).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from mlops import iam
from mlops.components.logs import encrypted_log_group
from mlops.components.usecase_builds import DeliveryArgs, role
from mlops.delivery.events import rejected_package_pattern
from mlops.naming import log_group_name
from mlops.rehearsal import declare

_ROOT = Path(__file__).resolve().parents[2]
CODE_FILES = (
    "mlops/__init__.py",
    "mlops/errors.py",
    "mlops/delivery/__init__.py",
    "mlops/delivery/promotion.py",
    "mlops/delivery/rollback.py",
)
"""What the function ships: `mlops.delivery.rollback` and the stdlib-only modules it imports."""
HANDLER = "mlops.delivery.rollback.lambda_handler"


@dataclass(frozen=True, kw_only=True)
class RollbackTriggerArgs:
    delivery: DeliveryArgs
    model_package_group_name: pulumi.Input[str]
    group_name: str
    group_arn: str
    pipeline_name: str
    pipeline_arn: pulumi.Input[str]
    runtime: str = "python3.12"


def rollback_function_policy(
    *, group_arn: str, pipeline_arn: str, log_group_arn: str, queue_arn: str, key_arn: str
) -> dict:
    """Read and annotate this group's packages, start this use case's deploy pipeline, write its
    logs and its failed events; nothing else (the group's resource policy refuses it any
    approval status: only the leads set one)."""
    packages = group_arn.replace(":model-package-group/", ":model-package/") + "/*"
    return iam.document(
        iam.statement(
            "ReadAndRecordRollbacks",
            [
                "sagemaker:ListModelPackages",
                "sagemaker:DescribeModelPackage",
                "sagemaker:UpdateModelPackage",
            ],
            [group_arn, packages],
        ),
        iam.statement(
            "RedeployThroughThePipeline", "codepipeline:StartPipelineExecution", pipeline_arn
        ),
        iam.statement(
            "Logs",
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [log_group_arn, f"{log_group_arn}:*"],
        ),
        iam.statement("FailedEvents", "sqs:SendMessage", queue_arn),
        iam.statement("Key", ["kms:Decrypt", "kms:GenerateDataKey"], key_arn),
        iam.statement("Tracing", ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "*"),
    )


class RollbackTrigger(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: RollbackTriggerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:usecase:RollbackTrigger", name, None, opts)
        self._args, a = args, args.delivery
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(a.tags)
        cfg = a.config
        function_name = a.n("rollback", kind="lambda")
        self.dead_letters = aws.sqs.Queue(
            f"{name}-dlq",
            name=a.n("rollback-dlq"),
            kms_master_key_id=a.kms_key_arn,
            message_retention_seconds=14 * 24 * 3600,
            tags=tags,
            opts=child,
        )
        self.log_group = encrypted_log_group(
            f"{name}-logs",
            # under the stack's log prefix: the artifacts key admits CloudWatch Logs only there
            physical_name=log_group_name(a.ctx, a.usecase, "rollback"),
            kms_key_arn=a.kms_key_arn,
            retention_days=cfg.retention.log_days,
            tags=tags,
            opts=child,
        )
        self.role = role(
            name,
            a.n("rollback", kind="role"),
            iam.service_trust("lambda.amazonaws.com", source_account=cfg.account_id),
            pulumi.Output.all(
                pipeline=args.pipeline_arn,
                logs=self.log_group.arn,
                queue=self.dead_letters.arn,
                key=a.kms_key_arn,
            ).apply(
                lambda v: json.dumps(
                    rollback_function_policy(
                        group_arn=args.group_arn,
                        pipeline_arn=v["pipeline"],
                        log_group_arn=v["logs"],
                        queue_arn=v["queue"],
                        key_arn=v["key"],
                    ),
                    sort_keys=True,
                )
            ),
            tags,
            child,
        )
        self.function = aws.lambda_.Function(
            f"{name}-function",
            name=function_name,
            description=f"{a.usecase}: a rejected live package rolls its stages back",
            role=self.role.arn,
            runtime=args.runtime,
            handler=HANDLER,
            code=pulumi.AssetArchive({f: pulumi.FileAsset(str(_ROOT / f)) for f in CODE_FILES}),
            timeout=60,
            memory_size=256,
            reserved_concurrent_executions=1,
            kms_key_arn=a.kms_key_arn,
            environment={
                "variables": {
                    "MODEL_PACKAGE_GROUP": args.model_package_group_name,
                    "DEPLOY_PIPELINE_NAME": args.pipeline_name,
                }
            },
            dead_letter_config={"target_arn": self.dead_letters.arn},
            tracing_config={"mode": "Active"},
            logging_config={"log_format": "Text", "log_group": self.log_group.name},
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.log_group]),
        )
        pattern = pulumi.Output.from_input(args.model_package_group_name).apply(
            lambda group: json.dumps(rejected_package_pattern(group), sort_keys=True)
        )
        self.rule = aws.cloudwatch.EventRule(
            f"{name}-rule",
            name=a.n("rejected"),
            description=f"A deployed {a.usecase} package was rejected: roll its stages back",
            event_pattern=pattern,
            tags=tags,
            opts=child,
        )
        self.permission = aws.lambda_.Permission(
            f"{name}-invoke",
            function=self.function.name,
            action="lambda:InvokeFunction",
            principal="events.amazonaws.com",
            source_arn=self.rule.arn,
            opts=pulumi.ResourceOptions(parent=self.function),
        )
        self.target = aws.cloudwatch.EventTarget(
            f"{name}-target",
            rule=self.rule.name,
            arn=self.function.arn,
            opts=pulumi.ResourceOptions(parent=self.rule, depends_on=[self.permission]),
        )
        self._declare()
        self.register_outputs({"function_name": self.function.name, "rule_name": self.rule.name})

    def _declare(self) -> None:
        """The rejection → rollback flow, as AWS runs it (`mlops rehearse --scenario
        promotion`), and what the function must never do (attacks)."""
        args, a = self._args, self._args.delivery
        cfg = a.config
        acct, region = cfg.account_id, cfg.region
        packages = args.group_arn.replace(":model-package-group/", ":model-package/") + "/*"
        package = packages.replace("/*", "/3")
        declare.actor(
            flow="promotion",
            step="a live package is rejected: EventBridge invokes the rollback function",
            principal=declare.service_principal("events.amazonaws.com"),
            account=acct,
            origin=declare.AWS_SERVICE,
            context={"aws:SourceArn": self.rule.arn, "aws:SourceAccount": acct},
            calls=[declare.call("lambda:InvokeFunction", self.function.arn)],
            order=50,
        )
        declare.service_assumes(
            flow="promotion",
            step="Lambda takes the rollback function's role",
            service="lambda.amazonaws.com",
            role_arn=self.role.arn,
            account=acct,
            source_arn=self.function.arn,
            order=51,
        )
        declare.actor(
            flow="promotion",
            step="rollback function starts (Lambda service)",
            principal=self.role.arn,
            account=acct,
            origin=declare.AWS_SERVICE,
            calls=[
                declare.call(
                    "kms:Decrypt",
                    a.kms_key_arn,
                    why="decrypt the environment",
                    context={
                        "kms:ViaService": f"lambda.{region}.amazonaws.com",
                        "kms:EncryptionContext:LambdaFunctionName": self.function.name,
                    },
                ),
                declare.call(
                    "logs:PutLogEvents",
                    self.log_group.arn.apply(lambda arn: f"{arn}:log-stream:rehearsal"),
                    why="function logs",
                ),
                declare.call("sqs:SendMessage", self.dead_letters.arn, why="a failed event"),
                declare.call(
                    "kms:GenerateDataKey",
                    a.kms_key_arn,
                    context={"kms:ViaService": f"sqs.{region}.amazonaws.com"},
                    why="the dead-letter queue is SSE-KMS with the stack key",
                ),
            ],
            order=52,
        )
        declare.actor(
            flow="promotion",
            step="the rollback function redeploys the previous package",
            principal=self.role.arn,
            account=acct,
            origin=declare.PUBLIC,
            calls=[
                declare.call("sagemaker:ListModelPackages", packages, why="the stage history"),
                declare.call("sagemaker:DescribeModelPackage", packages),
                declare.call(
                    "codepipeline:StartPipelineExecution",
                    args.pipeline_arn,
                    why="PACKAGE_ARN and ROLLBACK_STAGE: deploy one stage",
                ),
                declare.call(
                    "sagemaker:UpdateModelPackage", package, why="record who, when and why"
                ),
                declare.call("xray:PutTraceSegments", why="active tracing"),
            ],
            order=53,
        )
        declare.actor(
            flow="attacks",
            step=f"the {a.usecase} rollback function approves a package",
            principal=self.role.arn,
            account=acct,
            origin=declare.PUBLIC,
            calls=[
                declare.call(
                    "sagemaker:UpdateModelPackage",
                    package,
                    context={"sagemaker:ModelApprovalStatus": "Approved"},
                    expect="deny",
                    why="only the leads set an approval status",
                ),
                declare.call(
                    "codepipeline:PutApprovalResult",
                    f"arn:aws:codepipeline:{region}:{acct}:{args.pipeline_name}/ApproveProd/"
                    "LeadDataScientistApproval",
                    expect="deny",
                    why="pass the prod gate of its own rollback",
                ),
            ],
            order=925,
        )
