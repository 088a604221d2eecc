"""Model-health alarms of a use case's stage (`mlops:analytics:ModelHealthAlarms`).

The use case's health job (Remedy: ``remedy_inference.health``) publishes each month's quality
against recorded outcomes and the drift of each input as CloudWatch metrics in the namespace
``mlops/model-health`` (dimensions ``UseCase``, ``Stage``, and ``Feature`` for drift). This
component turns breaches into notifications and, optionally, into retraining:

* an SNS topic encrypted with the given KMS key (its key policy must let CloudWatch use it), with
  an e-mail subscription per lead of the use case, that the quality and drift alarms notify
  (and that the endpoint's Model Monitor drift alarms can share: ``topic``);
* one CloudWatch alarm per check the use case supplies (``checks``; Remedy's are in its
  inference program, thresholds after its domain reference) and per monitored input
  (``features``: ``FeaturePSI`` above ``psi_threshold``);
* with ``retrain_pipeline_arn`` (the manifest's ``monitoring.retrain_on_breach``): an
  EventBridge rule on any of these alarms entering ALARM that starts the use case's training
  pipeline, with a role that may start that pipeline only. EventBridge starts SageMaker pipelines
  in its own account: the pipeline must be in the stack's account.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops import iam, naming
from mlops.naming import NameContext

NAMESPACE = "mlops/model-health"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PIPELINE = re.compile(r"^arn:aws[a-z-]*:sagemaker:([a-z0-9-]+):(\d{12}):pipeline/[\w-]+$")


@dataclass(frozen=True)
class HealthCheck:
    """One alarm: ``metric`` (statistic over a day) ``comparison`` ``threshold``."""

    role: str
    metric: str
    comparison: str
    threshold: float
    statistic: str
    description: str


@dataclass(frozen=True, kw_only=True)
class ModelHealthAlarmsArgs:
    names: NameContext
    usecase: str
    stage: str
    kms_key_arn: pulumi.Input[str]
    """Encrypts the topic; its policy must admit ``cloudwatch.amazonaws.com`` (kms:Decrypt,
    kms:GenerateDataKey*) for alarms to publish."""
    lead_emails: Sequence[str]
    tags: Mapping[str, str]
    checks: Sequence[HealthCheck] = ()
    """The use case's quality checks on its published metrics (none by default)."""
    features: Sequence[str] = ()
    """The inputs whose drift (``FeaturePSI``) is alarmed on (none by default)."""
    psi_threshold: float = 0.2
    retrain_pipeline_arn: str | None = None
    """Start this training pipeline when an alarm fires (the manifest switch
    ``monitoring.retrain_on_breach``); None: notify only."""

    def __post_init__(self) -> None:
        if not self.lead_emails:
            raise ValueError("ModelHealthAlarmsArgs.lead_emails: name the use case's lead(s)")
        bad = [e for e in self.lead_emails if not _EMAIL.match(e)]
        if bad:
            raise ValueError(f"ModelHealthAlarmsArgs.lead_emails: not e-mail addresses: {bad}")
        if not 0 < self.psi_threshold < 10:
            raise ValueError("ModelHealthAlarmsArgs.psi_threshold must be in (0, 10)")
        roles = [c.role for c in self.checks]
        if len(set(roles)) != len(roles):
            raise ValueError("ModelHealthAlarmsArgs.checks: roles must be unique")
        if self.retrain_pipeline_arn is not None:
            match = _PIPELINE.match(self.retrain_pipeline_arn)
            if not match:
                raise ValueError(
                    "ModelHealthAlarmsArgs.retrain_pipeline_arn must be a SageMaker pipeline ARN "
                    f"(arn:aws:sagemaker:<region>:<account>:pipeline/<name>), got "
                    f"{self.retrain_pipeline_arn!r}"
                )
            if (match.group(1), match.group(2)) != (self.names.region, self.names.account_id):
                raise ValueError(
                    f"monitoring.retrain_on_breach: the training pipeline is in "
                    f"{match.group(2)}/{match.group(1)}, this stack in "
                    f"{self.names.account_id}/{self.names.region}; EventBridge starts pipelines "
                    "in its own account and region only: turn the switch off for this stage"
                )


def retrain_policy(pipeline_arn: str) -> dict:
    """The retrain rule's role: start this one pipeline (pure; unit-tested)."""
    return iam.document(
        iam.statement("StartTrainingPipeline", ["sagemaker:StartPipelineExecution"], pipeline_arn)
    )


def alarm_pattern(alarm_arns: Sequence[str]) -> dict:
    """EventBridge pattern: one of these alarms entered ALARM."""
    return {
        "source": ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        "resources": list(alarm_arns),
        "detail": {"state": {"value": ["ALARM"]}},
    }


class ModelHealthAlarms(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: ModelHealthAlarmsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:analytics:ModelHealthAlarms", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ctx, uc = args.names, args.usecase
        tags = {**args.tags, "component": "analytics", "usecase": uc}
        self.topic = aws.sns.Topic(
            f"{name}-topic",
            name=naming.usecase_name(ctx, uc, "model-health"),
            kms_master_key_id=args.kms_key_arn,
            tags=tags,
            opts=child,
        )
        self.topic_policy = aws.sns.TopicPolicy(
            f"{name}-topic-policy",
            arn=self.topic.arn,
            policy=self.topic.arn.apply(
                lambda arn: json.dumps(
                    iam.document(
                        iam.statement(
                            "CloudWatchAlarmsPublish",
                            ["sns:Publish"],
                            arn,
                            principal={"Service": "cloudwatch.amazonaws.com"},
                            condition={"StringEquals": {"aws:SourceAccount": ctx.account_id}},
                        )
                    )
                )
            ),
            opts=child,
        )
        self.subscriptions = [
            aws.sns.TopicSubscription(
                f"{name}-lead-{i}",
                topic=self.topic.arn,
                protocol="email",
                endpoint=email,
                opts=child,
            )
            for i, email in enumerate(args.lead_emails)
        ]
        dims = {"UseCase": uc, "Stage": args.stage}
        self.alarms: dict[str, aws.cloudwatch.MetricAlarm] = {}
        for check in args.checks:
            self.alarms[check.role] = self._alarm(
                name, args, check.role, check.metric, dims, check.statistic, check.comparison,
                check.threshold, f"{uc} {args.stage}: {check.description}", tags,
            )  # fmt: skip
        for feature in args.features:
            role = f"drift-{feature.replace('_', '-')}"
            self.alarms[role] = self._alarm(
                name, args, role, "FeaturePSI", {**dims, "Feature": feature}, "Maximum",
                "GreaterThanThreshold", args.psi_threshold,
                f"{uc} {args.stage}: input {feature} drifted (PSI above {args.psi_threshold:g} "
                "against the training data)", tags,
            )  # fmt: skip

        self.retrain_role = self.retrain_policy = self.retrain_rule = self.retrain_target = None
        if args.retrain_pipeline_arn is not None:
            self._retrain(name, args, tags)
        self.register_outputs(
            {"topic": self.topic.arn, "alarms": [a.name for a in self.alarms.values()]}
        )

    def _alarm(self, name, args, role, metric, dims, statistic, comparison, threshold, text, tags):
        return aws.cloudwatch.MetricAlarm(
            f"{name}-{role}",
            name=naming.usecase_name(args.names, args.usecase, "health", args.stage, role),
            alarm_description=text,
            namespace=NAMESPACE,
            metric_name=metric,
            dimensions=dims,
            statistic=statistic,
            period=86400,
            evaluation_periods=1,
            threshold=threshold,
            comparison_operator=comparison,
            treat_missing_data="notBreaching",
            alarm_actions=[self.topic.arn],
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.topic_policy]),
        )

    def _retrain(self, name: str, args: ModelHealthAlarmsArgs, tags: Mapping[str, str]) -> None:
        ctx, uc, pipeline = args.names, args.usecase, args.retrain_pipeline_arn
        child = pulumi.ResourceOptions(parent=self)
        self.retrain_role = aws.iam.Role(
            f"{name}-retrain-role",
            name=naming.role_name(ctx, uc, "retrain"),
            assume_role_policy=iam.dumps(iam.service_trust("events.amazonaws.com", ctx.account_id)),
            permissions_boundary=naming.boundary_policy_arn(ctx, uc),
            tags=tags,
            opts=child,
        )
        self.retrain_policy = aws.iam.RolePolicy(
            f"{name}-retrain-policy",
            role=self.retrain_role.id,
            policy=iam.dumps(retrain_policy(pipeline)),
            opts=child,
        )
        self.retrain_rule = aws.cloudwatch.EventRule(
            f"{name}-retrain-rule",
            name=naming.usecase_name(ctx, uc, "retrain", args.stage),
            description=f"Start {uc}'s training pipeline when a model-health alarm fires",
            event_pattern=pulumi.Output.all(*[a.arn for a in self.alarms.values()]).apply(
                lambda arns: json.dumps(alarm_pattern(arns))
            ),
            tags=tags,
            opts=child,
        )
        self.retrain_target = aws.cloudwatch.EventTarget(
            f"{name}-retrain-target",
            rule=self.retrain_rule.name,
            arn=pipeline,
            role_arn=self.retrain_role.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.retrain_policy]),
        )
