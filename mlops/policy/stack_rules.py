"""Stack-wide CrossGuard rules: properties that span several resources.

Stack validation sees every resource's outputs (``PolicyResource.props``) and its parent, so these
rules match resources by the identifiers the program wires between them (bucket names, ARNs).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource, Severity

from mlops.policy.base import Option, stack_rule
from mlops.policy.documents import (
    approval_statuses,
    as_list,
    get,
    is_model_package_rule,
    load_json,
    plain,
    statements,
)
from mlops.policy.rules import (
    LAMBDA_FUNCTION,
    LOG_GROUP,
    S3_BUCKET,
    S3_PUBLIC_ACCESS_BLOCK,
    S3_SSE,
    S3_VERSIONING,
    SFN_STATE_MACHINE,
)

EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
Finding = tuple[str, str | None]


_PLAIN: weakref.WeakKeyDictionary[PolicyResource, dict[str, Any]] = weakref.WeakKeyDictionary()


def _props(resource: PolicyResource) -> dict[str, Any]:
    """The resource's outputs as plain data (converted once per resource object)."""
    if resource not in _PLAIN:
        _PLAIN[resource] = plain(resource.props)
    return _PLAIN[resource]


def _of_type(resources: Sequence[PolicyResource], types: Sequence[str]) -> list[PolicyResource]:
    return [r for r in resources if r.resource_type in types]


def _identifiers(resource: PolicyResource, *keys: str) -> set[str]:
    props = _props(resource)
    return {str(props[k]) for k in keys if props.get(k)}


# --- S3 ------------------------------------------------------------------------------------------


@stack_rule(
    "s3-bucket-has-controls",
    description="Every S3 bucket has its own encryption, versioning and public-access-block "
    "resources (separate resources in pulumi-aws 7).",
    fix="create BucketServerSideEncryptionConfiguration, BucketVersioning and "
    "BucketPublicAccessBlock with bucket=<bucket>.id (mlops.components.storage does this)",
    severity=Severity.CRITICAL,
)
def s3_bucket_controls(
    resources: Sequence[PolicyResource], cfg: Mapping[str, Any]
) -> Iterator[Finding]:
    wanted = {
        "BucketServerSideEncryptionConfiguration": S3_SSE,
        "BucketVersioning": S3_VERSIONING,
        "BucketPublicAccessBlock": S3_PUBLIC_ACCESS_BLOCK,
    }
    covered = {
        label: {str(_props(r).get("bucket")) for r in _of_type(resources, types)}
        for label, types in wanted.items()
    }
    for bucket in _of_type(resources, S3_BUCKET):
        ids = _identifiers(bucket, "bucket", "id")
        missing = [label for label, names in covered.items() if not ids & names]
        if missing:
            yield f"bucket {bucket.name!r} has no {', '.join(missing)}", bucket.urn


def _denies_insecure_transport(policy: Any) -> bool:
    for st in statements(policy):
        condition = st.get("Condition") or {}
        flag = get(condition, "Bool", "aws:SecureTransport")
        if st.get("Effect") == "Deny" and str(flag).lower() == "false":
            return True
    return False


@stack_rule(
    "s3-deny-insecure-transport",
    description="Every S3 bucket has a bucket policy denying requests without TLS.",
    fix='add a BucketPolicy statement {"Effect": "Deny", "Principal": "*", "Action": "s3:*", '
    '"Resource": [<bucket arn>, <bucket arn>/*], "Condition": {"Bool": {"aws:SecureTransport": '
    '"false"}}} (mlops.components.storage does this)',
)
def s3_tls_only(resources: Sequence[PolicyResource], cfg: Mapping[str, Any]) -> Iterator[Finding]:
    guarded = {
        str(_props(p).get("bucket"))
        for p in _of_type(resources, ("aws:s3/bucketPolicy:BucketPolicy",))
        if _denies_insecure_transport(_props(p).get("policy"))
    }
    for bucket in _of_type(resources, S3_BUCKET):
        if not _identifiers(bucket, "bucket", "id") & guarded:
            yield f"bucket {bucket.name!r} accepts requests without TLS", bucket.urn


# --- Step Functions ------------------------------------------------------------------------------


@stack_rule(
    "sfn-log-group-encrypted",
    description="Step Functions log to a KMS-encrypted log group managed in the same stack.",
    fix="create the log group in the stack with kms_key_id and point "
    "logging_configuration.log_destination at f'{log_group.arn}:*'",
)
def sfn_log_group(resources: Sequence[PolicyResource], cfg: Mapping[str, Any]) -> Iterator[Finding]:
    groups = {}
    for group in _of_type(resources, (LOG_GROUP,)):
        for arn in _identifiers(group, "arn"):
            groups[arn.removesuffix(":*")] = group
    for machine in _of_type(resources, (SFN_STATE_MACHINE,)):
        destination = get(_props(machine), "loggingConfiguration", "logDestination")
        if not destination:
            continue  # reported by sfn-logs-execution-data
        group = groups.get(str(destination).removesuffix(":*"))
        if group is None:
            yield (
                f"state machine {machine.name!r} logs to {destination!r}, not a log group of "
                "this stack",
                machine.urn,
            )
        elif not _props(group).get("kmsKeyId"):
            yield (
                f"state machine {machine.name!r} logs to unencrypted group {group.name!r}",
                machine.urn,
            )


# --- Lambda --------------------------------------------------------------------------------------

ASYNC_PRINCIPALS = (
    "events.amazonaws.com",
    "s3.amazonaws.com",
    "sns.amazonaws.com",
    "logs.amazonaws.com",
    "ses.amazonaws.com",
    "iot.amazonaws.com",
    "config.amazonaws.com",
    "lambda.alarms.cloudwatch.amazonaws.com",
)


def _refers_to(ref: Any, ids: set[str]) -> bool:
    ref = str(ref or "")
    return bool(ref) and any(ref == i or ref.startswith(f"{i}:") for i in ids if i)


def _async_sources(resources: Sequence[PolicyResource], ids: set[str]) -> list[str]:
    """What invokes the function asynchronously (permissions, event targets, notifications)."""
    sources = []
    for r in resources:
        p = _props(r)
        if r.resource_type == "aws:lambda/permission:Permission":
            if p.get("principal") in ASYNC_PRINCIPALS and _refers_to(p.get("function"), ids):
                sources.append(f"{r.name} ({p['principal']})")
        elif r.resource_type == "aws:cloudwatch/eventTarget:EventTarget":
            if _refers_to(p.get("arn"), ids):
                sources.append(f"{r.name} (EventBridge target)")
        elif r.resource_type == "aws:sns/topicSubscription:TopicSubscription":
            if p.get("protocol") == "lambda" and _refers_to(p.get("endpoint"), ids):
                sources.append(f"{r.name} (SNS)")
        elif r.resource_type == "aws:s3/bucketNotification:BucketNotification":
            arns = [get(f, "lambdaFunctionArn") for f in as_list(p.get("lambdaFunctions"))]
            if any(_refers_to(a, ids) for a in arns):
                sources.append(f"{r.name} (S3 notification)")
    return sources


@stack_rule(
    "lambda-async-failure-destination",
    description="Lambda functions invoked asynchronously have a dead-letter queue or an "
    "on-failure destination.",
    fix="set dead_letter_config={target_arn: <encrypted SQS queue arn>} or add a "
    "FunctionEventInvokeConfig with destination_config.on_failure",
)
def lambda_async(resources: Sequence[PolicyResource], cfg: Mapping[str, Any]) -> Iterator[Finding]:
    invoke_configs = [
        _props(r)
        for r in resources
        if r.resource_type == "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
    ]
    for function in _of_type(resources, (LAMBDA_FUNCTION,)):
        ids = _identifiers(function, "name", "arn", "id")
        sources = _async_sources(resources, ids)
        if not sources:
            continue
        if get(_props(function), "deadLetterConfig", "targetArn"):
            continue
        if any(
            _refers_to(c.get("functionName"), ids)
            and get(c, "destinationConfig", "onFailure", "destination")
            for c in invoke_configs
        ):
            continue
        yield (
            f"function {function.name!r} is invoked asynchronously by {', '.join(sources)} but has "
            "no dead-letter queue or on-failure destination",
            function.urn,
        )


# --- Model approval ------------------------------------------------------------------------------


def _ancestors(resource: PolicyResource) -> Iterator[PolicyResource]:
    node = resource.parent
    while node is not None:
        yield node
        node = node.parent


MODEL_PACKAGE_GROUP = "aws:sagemaker/modelPackageGroup:ModelPackageGroup"


@stack_rule(
    "approval-rule-approved-only",
    description="Model-package state-change rules match ModelApprovalStatus Approved only, for "
    "named model package groups, and every use case that owns a model package group has one; "
    "the one other kind, a Rejected-only rule (the rollback trigger), never targets a pipeline.",
    fix='event_pattern detail={"ModelApprovalStatus": ["Approved"], "ModelPackageGroupName": '
    "[<group>]} under the use-case component (a rule matching every status or every group would "
    "deploy rejected, pending or foreign models); a Rejected-only rule targets the rollback "
    "function, never a deploy pipeline",
    severity=Severity.CRITICAL,
    options={
        "useCaseTypePrefix": Option(
            "mlops:usecase:",
            {"type": "string"},
            "type-token prefix of the use-case component that must own an approval rule",
        )
    },
)
def approval_rules(
    resources: Sequence[PolicyResource], cfg: Mapping[str, Any]
) -> Iterator[Finding]:
    prefix = str(cfg["useCaseTypePrefix"])
    approved_under: set[str] = set()
    targets = _of_type(resources, ("aws:cloudwatch/eventTarget:EventTarget",))
    for rule in _of_type(resources, (EVENT_RULE,)):
        pattern = _props(rule).get("eventPattern")
        if not is_model_package_rule(pattern):
            continue
        statuses = approval_statuses(pattern)
        groups = as_list(get(load_json(pattern) or {}, "detail", "ModelPackageGroupName"))
        if statuses == ["Rejected"] and groups:
            ids = _identifiers(rule, "name", "id", "arn")
            for t in targets:
                arn = str(_props(t).get("arn") or "")
                if _refers_to(_props(t).get("rule"), ids) and ":codepipeline:" in arn:
                    yield (
                        f"rule {rule.name!r} matches Rejected packages and starts the pipeline "
                        f"{arn.rsplit(':', 1)[-1]!r} (it would deploy on a rejection)",
                        rule.urn,
                    )
            continue
        if statuses != ["Approved"]:
            yield (
                f"rule {rule.name!r} matches ModelApprovalStatus {statuses or 'any'}, not "
                "['Approved'] only",
                rule.urn,
            )
        elif not groups:
            yield f"rule {rule.name!r} matches approvals of every model package group", rule.urn
        else:
            approved_under.update(a.urn for a in _ancestors(rule))
    registries = {a.urn for g in _of_type(resources, (MODEL_PACKAGE_GROUP,)) for a in _ancestors(g)}
    for usecase in resources:
        if not usecase.resource_type.startswith(prefix):
            continue
        if usecase.parent is not None and usecase.parent.resource_type.startswith(prefix):
            continue  # a part of a use case; the top-level component is checked
        if usecase.urn in registries and usecase.urn not in approved_under:
            yield f"use case {usecase.name!r} has no Approved-only approval rule", usecase.urn


# --- IAM -----------------------------------------------------------------------------------------
IAM_ROLE = "aws:iam/role:Role"
IAM_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
IAM_ATTACHMENTS_EXCLUSIVE = "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive"


@stack_rule(
    "iam-role-managed-policy-limit",
    description="No role has more managed policies attached than IAM allows (10 per role by "
    "default): per-use-case permissions live in the use case's own roles, never in one attachment "
    "per use case to a shared role.",
    fix="give each use case its own role with an inline policy (as "
    "mlops.components.approvers.UseCaseApprovers does) instead of attaching a policy per use case "
    "to a shared role; if the account's quota was raised, set maximumPerRole",
    options={
        "maximumPerRole": Option(
            10, {"type": "integer"}, "managed policies per role (IAM default quota 10, at most 20)"
        )
    },
)
def iam_role_managed_policy_limit(
    resources: Sequence[PolicyResource], cfg: Mapping[str, Any]
) -> Iterator[Finding]:
    maximum = int(cfg["maximumPerRole"])
    roles = _of_type(resources, (IAM_ROLE,))
    counts = {r.urn: len(as_list(_props(r).get("managedPolicyArns"))) for r in roles}
    refs = {ref: r.urn for r in roles for ref in _identifiers(r, "name", "id", "arn")}
    for attachment in _of_type(resources, (IAM_ATTACHMENT, IAM_ATTACHMENTS_EXCLUSIVE)):
        props = _props(attachment)
        urn = refs.get(str(props.get("role") or props.get("roleName")))
        if urn is not None:
            n = len(as_list(props.get("policyArns"))) if "policyArns" in props else 1
            counts[urn] = counts.get(urn, 0) + n
    for role in roles:
        if counts[role.urn] > maximum:
            yield (
                f"role {role.name!r} has {counts[role.urn]} managed policies attached; IAM allows "
                f"{maximum}",
                role.urn,
            )
