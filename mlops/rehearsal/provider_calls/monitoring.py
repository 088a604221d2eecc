"""CloudWatch Logs, alarms and EventBridge rules."""

from __future__ import annotations

from mlops.rehearsal.model import Call
from mlops.testing.mocks import RecordedResource

from .base import (
    ProgramView,
    ServiceCall,
    as_role,
    assume,
    c,
    pass_role,
    reads,
    register,
    strings,
    tag_context,
    tagged,
    value,
)

SAR = "Service Authorization Reference (parliament iam_definition.json)"
LOGS_KMS = (
    "CloudWatch Logs user guide 'Encrypt log data in CloudWatch Logs using AWS KMS': the key "
    "policy must allow logs.<region>.amazonaws.com kms:Encrypt*/Decrypt*/ReEncrypt*/"
    "GenerateDataKey*/Describe* with kms:EncryptionContext:aws:logs:arn = the log group ARN; "
    "CreateLogGroup/AssociateKmsKey fail otherwise"
)


def log_group_arn(v: ProgramView, name: str) -> str:
    return v.arn("logs", f"log-group:{name}")


def _group_arn(r: RecordedResource, v: ProgramView) -> str:
    return log_group_arn(v, v.physical_name(r))


def logs_service(v: ProgramView) -> str:
    return f"service:logs.{v.region}.amazonaws.com"


def _group_service(r: RecordedResource, v: ProgramView) -> list[ServiceCall]:
    key = v.key_arn(str(value(r, "kmsKeyId") or "")) if value(r, "kmsKeyId") else None
    if not key:
        return []
    ctx = {"kms:EncryptionContext:aws:logs:arn": _group_arn(r, v)}
    out = [
        ServiceCall(
            logs_service(v),
            c(a, key, "CloudWatch Logs checks it can use the key when the group is created", ctx),
            "create",
        )
        for a in ("kms:GenerateDataKey", "kms:Decrypt")
    ]
    out += [
        ServiceCall(
            logs_service(v),
            c(a, key, "CloudWatch Logs encrypts and decrypts log events", ctx),
            "runtime",
        )
        for a in ("kms:Encrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:DescribeKey")
    ]
    return out


@register(
    "aws:cloudwatch/logGroup:LogGroup",
    arn=_group_arn,
    service=_group_service,
    source=(LOGS_KMS, "terraform-provider-aws internal/service/logs/group.go", SAR),
    unverified=(
        "which KMS operation CloudWatch Logs performs at CreateLogGroup is not documented: "
        "modelled "
        "as GenerateDataKey + Decrypt with the log-group context (the documented statement covers "
        "both)",
        "whether tags on CreateLogGroup need a separate logs:TagResource permission",
    ),
)
def _log_group(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = _group_arn(r, v)
    calls = [
        c(
            "logs:CreateLogGroup",
            arn,
            "create the group (with kmsKeyId: Logs must be able to use the key)",
            tag_context(r),
        )
    ]
    calls += tagged(r, "logs:TagResource", arn)
    if value(r, "retentionInDays"):
        calls.append(c("logs:PutRetentionPolicy", arn, "retention"))
    return calls + reads("*", "logs:DescribeLogGroups") + reads(arn, "logs:ListTagsForResource")


@register(
    "aws:cloudwatch/logStream:LogStream",
    source=("terraform-provider-aws internal/service/logs/stream.go", SAR),
)
def _log_stream(r: RecordedResource, v: ProgramView) -> list[Call]:
    group = log_group_arn(v, str(value(r, "logGroupName")))
    stream = f"{group}:log-stream:{v.physical_name(r)}"
    return [
        c("logs:CreateLogStream", stream, "create the stream"),
        *reads(group, "logs:DescribeLogStreams"),
    ]


@register(
    "aws:cloudwatch/logMetricFilter:LogMetricFilter",
    source=("terraform-provider-aws internal/service/logs/metric_filter.go", SAR),
)
def _metric_filter(r: RecordedResource, v: ProgramView) -> list[Call]:
    group = log_group_arn(v, str(value(r, "logGroupName")))
    return [
        c("logs:PutMetricFilter", group, "metric filter"),
        *reads(group, "logs:DescribeMetricFilters"),
    ]


def _subscription_service(r: RecordedResource, v: ProgramView) -> list[ServiceCall]:
    role = v.role_arn(str(value(r, "roleArn") or "")) if value(r, "roleArn") else None
    dest = v.canonical(value(r, "destinationArn"))
    out = assume(
        f"logs.{v.region}.amazonaws.com",
        role,
        "Logs assumes the role to deliver (test message at create)",
    )
    if (
        dest.startswith("arn:aws:firehose:")
        or ":deliverystream/" in dest
        or dest.startswith("arn:aws:kinesis:")
    ):
        stream = _firehose_arn(v, dest)
        test = [c("firehose:PutRecord", stream, "Logs sends a test record when the filter is put"),
                c("firehose:PutRecordBatch", stream, "log events delivery")]  # fmt: skip
        out += as_role(role, test[:1], "create") + as_role(role, test[1:], "runtime")
    elif dest.startswith("arn:aws:lambda:"):
        why = "the function's resource policy must allow Logs"
        ctx = {"aws:SourceArn": f"{log_group_arn(v, str(value(r, 'logGroup')))}:*"}
        out.append(
            ServiceCall(logs_service(v), c("lambda:InvokeFunction", dest, why, ctx), "create")
        )
    return out


def _firehose_arn(v: ProgramView, ref: str) -> str:
    """A Firehose stream ARN in IAM's form (``...:firehose:...:deliverystream/<name>``)."""
    name = ref.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    return v.arn("firehose", f"deliverystream/{name}")


@register(
    "aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter",
    service=_subscription_service,
    source=(
        "CloudWatch Logs user guide 'Subscription filters with Amazon Data Firehose': the role "
        "trusted by logs.<region>.amazonaws.com needs firehose:PutRecord/PutRecordBatch; "
        "PutSubscriptionFilter fails with 'Could not deliver test message' otherwise",
        SAR,
    ),
    unverified=(
        "the iam:PassedToService value CloudWatch Logs presents for the role (modelled as "
        "logs.amazonaws.com)",
    ),
)
def _subscription(r: RecordedResource, v: ProgramView) -> list[Call]:
    group = log_group_arn(v, str(value(r, "logGroup")))
    role = v.role_arn(str(value(r, "roleArn") or "")) if value(r, "roleArn") else None
    return [
        c("logs:PutSubscriptionFilter", group, "subscription filter"),
        *pass_role(role, "logs.amazonaws.com"),
        *reads(group, "logs:DescribeSubscriptionFilters"),
    ]


def _alarm_arn(r: RecordedResource, v: ProgramView) -> str:
    return v.arn("cloudwatch", f"alarm:{v.physical_name(r)}")


def _alarm_service(r: RecordedResource, v: ProgramView) -> list[ServiceCall]:
    out: list[ServiceCall] = []
    actions = {*strings(r.inputs.get("alarmActions")), *strings(r.inputs.get("okActions"))}
    for topic_arn in sorted(v.canonical(a) for a in actions):
        if not topic_arn.startswith("arn:aws:sns:"):
            continue
        topic = v.resource_for_arn(topic_arn)
        key = (
            v.key_arn(str(value(topic, "kmsMasterKeyId") or ""))
            if topic is not None and value(topic, "kmsMasterKeyId")
            else None
        )
        ctx = {"aws:SourceArn": _alarm_arn(r, v)}
        out.append(
            ServiceCall(
                "service:cloudwatch.amazonaws.com",
                c("sns:Publish", topic_arn, "alarm notification", ctx),
                "runtime",
            )
        )
        if key:
            for a in ("kms:GenerateDataKey", "kms:Decrypt"):
                out.append(
                    ServiceCall(
                        "service:cloudwatch.amazonaws.com",
                        c(a, key, "publish to an encrypted topic"),
                        "runtime",
                    )
                )
    return out


@register(
    "aws:cloudwatch/metricAlarm:MetricAlarm",
    arn=_alarm_arn,
    service=_alarm_service,
    source=(
        "terraform-provider-aws internal/service/cloudwatch/metric_alarm.go",
        "SNS developer guide 'Enable compatibility between event sources and encrypted topics' "
        "(cloudwatch.amazonaws.com needs kms:GenerateDataKey*/Decrypt in the topic key policy)",
        SAR,
    ),
)
def _alarm(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = _alarm_arn(r, v)
    return [
        c("cloudwatch:PutMetricAlarm", arn, "create the alarm", tag_context(r)),
        *tagged(r, "cloudwatch:TagResource", arn),
        *reads(arn, "cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"),
    ]


def _dashboard_arn(r: RecordedResource, v: ProgramView) -> str:
    # dashboards are global: no region in the ARN
    return f"arn:aws:cloudwatch::{v.account}:dashboard/{value(r, 'dashboardName')}"


@register(
    "aws:cloudwatch/dashboard:Dashboard",
    arn=_dashboard_arn,
    source=(
        "terraform-provider-aws internal/service/cloudwatch/dashboard.go (PutDashboard, then "
        "GetDashboard to read it back; DeleteDashboards on delete)",
        SAR,
    ),
)
def _dashboard(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = _dashboard_arn(r, v)
    return [
        c("cloudwatch:PutDashboard", arn, "create the dashboard"),
        *reads(arn, "cloudwatch:GetDashboard"),
    ]


def _rule_arn(r: RecordedResource, v: ProgramView) -> str:
    bus = value(r, "eventBusName")
    name = v.physical_name(r)
    return v.arn("events", f"rule/{bus}/{name}" if bus and bus != "default" else f"rule/{name}")


@register(
    "aws:cloudwatch/eventRule:EventRule",
    arn=_rule_arn,
    source=("terraform-provider-aws internal/service/events/rule.go", SAR),
)
def _rule(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = _rule_arn(r, v)
    return [
        c("events:PutRule", arn, "create the rule", tag_context(r)),
        *tagged(r, "events:TagResource", arn),
        *reads(arn, "events:DescribeRule", "events:ListTagsForResource"),
    ]


def _target_rule_arn(r: RecordedResource, v: ProgramView) -> str:
    bus = value(r, "eventBusName")
    name = str(value(r, "rule"))
    return v.arn("events", f"rule/{bus}/{name}" if bus and bus != "default" else f"rule/{name}")


TARGET_ACTIONS = {
    "codepipeline": "codepipeline:StartPipelineExecution",
    "codebuild": "codebuild:StartBuild",
    "states": "states:StartExecution",
    "lambda": "lambda:InvokeFunction",
    "sns": "sns:Publish",
    "sqs": "sqs:SendMessage",
    "firehose": "firehose:PutRecord",
}


def _target_service(r: RecordedResource, v: ProgramView) -> list[ServiceCall]:
    target = v.canonical(value(r, "arn"))
    role = v.role_arn(str(value(r, "roleArn") or "")) if value(r, "roleArn") else None
    service = target.split(":")[2] if target.count(":") >= 2 else ""
    action = TARGET_ACTIONS.get(service)
    if action is None:
        return []
    why = "EventBridge invokes the target when the rule matches"
    if role:
        out = assume("events.amazonaws.com", role, "EventBridge assumes the target role", "runtime")
        return out + as_role(role, [c(action, target, why)], "runtime")
    ctx = {"aws:SourceArn": _target_rule_arn(r, v)}
    return [
        ServiceCall(
            "service:events.amazonaws.com",
            c(action, target, why + " (resource policy)", ctx),
            "runtime",
        )
    ]


@register(
    "aws:cloudwatch/eventTarget:EventTarget",
    service=_target_service,
    source=(
        "EventBridge user guide 'Using resource-based policies' and 'IAM roles for sending events "
        "to targets' (CodePipeline, CodeBuild, Step Functions targets use a role)",
        SAR,
    ),
)
def _target(r: RecordedResource, v: ProgramView) -> list[Call]:
    rule = _target_rule_arn(r, v)
    role = v.role_arn(str(value(r, "roleArn") or "")) if value(r, "roleArn") else None
    ctx = {"events:TargetArn": value(r, "arn")}
    return [
        c("events:PutTargets", rule, "add the target", ctx),
        *pass_role(role, "events.amazonaws.com"),
        *reads(rule, "events:ListTargetsByRule"),
    ]


def _schedule_arn(r: RecordedResource, v: ProgramView) -> str:
    group = value(r, "groupName") or "default"
    return v.arn("scheduler", f"schedule/{group}/{v.physical_name(r)}")


def _schedule_target(r: RecordedResource) -> dict:
    target = value(r, "target")
    return target if isinstance(target, dict) else {}


def _schedule_service(r: RecordedResource, v: ProgramView) -> list[ServiceCall]:
    target = _schedule_target(r)
    arn = v.canonical(target.get("arn"))
    role = v.role_arn(str(target.get("roleArn") or "")) if target.get("roleArn") else None
    action = TARGET_ACTIONS.get(arn.split(":")[2] if arn.count(":") >= 2 else "")
    if action is None or not role:
        return []
    out = assume("scheduler.amazonaws.com", role, "Scheduler assumes the target role", "runtime")
    return out + as_role(role, [c(action, arn, "the schedule invokes its target")], "runtime")


@register(
    "aws:scheduler/schedule:Schedule",
    arn=_schedule_arn,
    service=_schedule_service,
    source=(
        "terraform-provider-aws internal/service/scheduler/schedule.go (CreateSchedule with the "
        "target's role: iam:PassRole to scheduler.amazonaws.com; no tags on schedules)",
        "EventBridge Scheduler user guide 'Setting up the execution role'",
        SAR,
    ),
)
def _schedule(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = _schedule_arn(r, v)
    role = _schedule_target(r).get("roleArn")
    return [
        c("scheduler:CreateSchedule", arn, "create the schedule"),
        *pass_role(v.role_arn(str(role)) if role else None, "scheduler.amazonaws.com"),
        *reads(arn, "scheduler:GetSchedule"),
    ]
