"""Audit and governance: CloudTrail, AWS Config, GuardDuty, Inspector; SNS and SQS; Service
Catalog portfolios, products and constraints."""

from __future__ import annotations

from mlops.rehearsal.model import Call
from mlops.testing.mocks import RecordedResource

from .base import (
    CALLER,
    Prerequisite,
    ProgramView,
    ServiceCall,
    as_json,
    as_role,
    assume,
    block,
    c,
    kms_via,
    pass_role,
    policy_principals,
    reads,
    register,
    slr,
    strings,
    tag_context,
    tagged,
    value,
)
from .storage import bucket_arn, bucket_encryption_key, s3_encryption_context

SAR = "Service Authorization Reference (parliament iam_definition.json)"
TRAIL = (
    "CloudTrail user guide 'Amazon S3 bucket policy for CloudTrail' (s3:GetBucketAcl; s3:PutObject "
    "on <prefix>/AWSLogs/<account>/* with s3:x-amz-acl=bucket-owner-full-control and "
    "aws:SourceArn) "
    "and 'Configure AWS KMS key policies for CloudTrail' (kms:GenerateDataKey* with "
    "kms:EncryptionContext:aws:cloudtrail:arn, kms:DescribeKey): CreateTrail checks both "
    "(InsufficientS3BucketPolicyException, InsufficientEncryptionPolicyException)"
)
TRAIL_LOGS = (
    "CloudTrail user guide 'Sending events to CloudWatch Logs': the role needs "
    "logs:CreateLogStream "
    "and logs:PutLogEvents on <group>:log-stream:<account>_CloudTrail_<region>*; CreateTrail "
    "checks "
    "it (InvalidCloudWatchLogsRoleArnException)"
)


def _trail_arn(r: RecordedResource, v: ProgramView) -> str:
    return v.arn("cloudtrail", f"trail/{v.physical_name(r)}")


def _trail_service(r: RecordedResource, v: ProgramView) -> list[ServiceCall]:
    trail = _trail_arn(r, v)
    bucket = str(value(r, "s3BucketName"))
    prefix = str(value(r, "s3KeyPrefix") or "")
    src = {"aws:SourceArn": trail, "aws:SourceAccount": v.account}
    obj = f"{bucket_arn(v, bucket)}/{prefix + '/' if prefix else ''}AWSLogs/{v.account}/*"
    svc = "service:cloudtrail.amazonaws.com"
    out = [
        ServiceCall(
            svc,
            c(
                "s3:GetBucketAcl",
                bucket_arn(v, bucket),
                "CreateTrail checks the bucket policy",
                src,
            ),
        ),
        ServiceCall(
            svc,
            c(
                "s3:PutObject",
                obj,
                "CreateTrail checks the bucket policy",
                {**src, "s3:x-amz-acl": "bucket-owner-full-control"},
            ),
        ),
    ]
    key = v.key_arn(str(value(r, "kmsKeyId"))) if value(r, "kmsKeyId") else None
    if key:
        ctx = {**src, "kms:EncryptionContext:aws:cloudtrail:arn": trail}
        out += [
            ServiceCall(
                svc, c("kms:GenerateDataKey", key, "CreateTrail checks the key policy", ctx)
            ),
            ServiceCall(svc, c("kms:DescribeKey", key, "CreateTrail checks the key policy", src)),
        ]
    role = (
        v.role_arn(str(value(r, "cloudWatchLogsRoleArn")))
        if value(r, "cloudWatchLogsRoleArn")
        else None
    )
    group = str(value(r, "cloudWatchLogsGroupArn") or "").removesuffix(":*")
    if role and group:
        out += assume(
            "cloudtrail.amazonaws.com",
            role,
            "CreateTrail checks CloudTrail can assume the logs role",
        )
        stream = f"{group}:log-stream:{v.account}_CloudTrail_{v.region}*"
        out += as_role(
            role,
            [
                c(a, stream, "CloudTrail delivers to CloudWatch Logs")
                for a in ("logs:CreateLogStream", "logs:PutLogEvents")
            ],
        )
    return out


@register(
    "aws:cloudtrail/trail:Trail",
    arn=_trail_arn,
    service=_trail_service,
    source=(TRAIL, TRAIL_LOGS, "terraform-provider-aws internal/service/cloudtrail/trail.go", SAR),
)
def _trail(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = _trail_arn(r, v)
    role = (
        v.role_arn(str(value(r, "cloudWatchLogsRoleArn")))
        if value(r, "cloudWatchLogsRoleArn")
        else None
    )
    calls = [
        c(
            "cloudtrail:CreateTrail",
            arn,
            "create the trail (checks bucket, key and logs role)",
            tag_context(r),
        )
    ]
    calls += tagged(r, "cloudtrail:AddTags", arn)
    calls += pass_role(role, "cloudtrail.amazonaws.com", "CloudWatch Logs delivery role")
    if role:
        calls.append(c("iam:GetRole", role, "CreateTrail reads the logs role"))
    if r.inputs.get("advancedEventSelectors") or r.inputs.get("eventSelectors"):
        calls.append(c("cloudtrail:PutEventSelectors", arn, "event selectors"))
    if r.inputs.get("insightSelectors"):
        calls.append(c("cloudtrail:PutInsightSelectors", arn, "insight selectors"))
    if value(r, "enableLogging", True):
        calls.append(c("cloudtrail:StartLogging", arn, "start logging"))
    return (
        calls
        + reads("*", "cloudtrail:DescribeTrails")
        + reads(
            arn,
            "cloudtrail:GetTrailStatus",
            "cloudtrail:GetEventSelectors",
            "cloudtrail:GetInsightSelectors",
            "cloudtrail:ListTags",
        )
    )


# --- AWS Config -----------------------------------------------------------------------------------
CONFIG = (
    "AWS Config developer guide 'Permissions for the IAM role assigned to AWS Config' and 'Amazon "
    "S3 bucket permissions': with a custom role (not the service-linked role) the role itself must "
    "write the bucket and use its KMS key; PutDeliveryChannel writes ConfigWritabilityCheckFile "
    "(InsufficientDeliveryPolicyException otherwise); PutConfigurationRecorder needs iam:PassRole"
)


def _recorder(v: ProgramView) -> RecordedResource | None:
    found = v.of_type("aws:cfg/recorder:Recorder")
    return found[0] if found else None


def _organisation_owns(v: ProgramView, service: str) -> bool:
    """The program declares `service` (guardduty, config, cloudtrail, inspector) as the
    organisation's (the Audit component's `landing_zone` output: `organization`)."""
    for r in v.resources:
        zone = r.registered_outputs.get("landing_zone") if not r.custom else None
        if isinstance(zone, dict) and zone.get(service) == "organization":
            return True
    return False


def _recorder_prereq(r: RecordedResource, v: ProgramView, call: str) -> list[Prerequisite]:
    what = "AWS Config configuration recorder"
    rec = _recorder(v)
    if rec is not None:
        return [Prerequisite(what, True, f"{rec.name} of this program")]
    if _organisation_owns(v, "config"):
        return [Prerequisite(what, True, "the organisation's (landingZone.config: organization)")]
    return [
        Prerequisite(
            what, False, f"{call} needs a recorder (NoAvailableConfigurationRecorderException)"
        )
    ]


def _config_role(v: ProgramView) -> str | None:
    rec = _recorder(v)
    return (
        v.role_arn(str(value(rec, "roleArn")))
        if rec is not None and value(rec, "roleArn")
        else None
    )


@register(
    "aws:cfg/recorder:Recorder",
    service=lambda r, v: assume(
        "config.amazonaws.com", _config_role(v), "Config assumes the recorder role"
    ),
    source=(
        CONFIG,
        "terraform-provider-aws internal/service/configservice/configuration_recorder.go",
        SAR,
    ),
)
def _cfg_recorder(r: RecordedResource, v: ProgramView) -> list[Call]:
    role = v.role_arn(str(value(r, "roleArn"))) if value(r, "roleArn") else None
    return [
        c("config:PutConfigurationRecorder", "*", "the account's recorder"),
        *pass_role(role, "config.amazonaws.com"),
        *reads(
            v.arn("config", f"configuration-recorder/{value(r, 'name')}/*"),
            "config:DescribeConfigurationRecorders",
        ),
    ]


def _channel_service(r: RecordedResource, v: ProgramView) -> list[ServiceCall]:
    role = _config_role(v)
    bucket = str(value(r, "s3BucketName"))
    prefix = str(value(r, "s3KeyPrefix") or "")
    base = f"{bucket_arn(v, bucket)}/{prefix + '/' if prefix else ''}AWSLogs/{v.account}/Config"
    check = f"{base}/ConfigWritabilityCheckFile"
    calls = [
        c("s3:GetBucketAcl", bucket_arn(v, bucket), "PutDeliveryChannel checks the bucket"),
        c(
            "s3:PutObject",
            check,
            "PutDeliveryChannel writes ConfigWritabilityCheckFile",
            {"s3:x-amz-acl": "bucket-owner-full-control"},
        ),
    ]
    key = v.key_arn(str(value(r, "s3KmsKeyArn"))) if value(r, "s3KmsKeyArn") else None
    if key is None:
        key, bucket_keys = bucket_encryption_key(v, bucket)
    else:
        bucket_keys = bucket_encryption_key(v, bucket)[1]
    calls += kms_via(
        key,
        ["kms:GenerateDataKey"],
        "s3",
        v,
        s3_encryption_context(bucket_arn(v, bucket), check, bucket_keys),
        "the check file is written SSE-KMS",
    )
    if role:
        return as_role(role, calls)
    return [ServiceCall("service:config.amazonaws.com", x, "create") for x in calls]


@register(
    "aws:cfg/deliveryChannel:DeliveryChannel",
    service=_channel_service,
    prerequisites=lambda r, v: _recorder_prereq(r, v, "PutDeliveryChannel"),
    source=(
        CONFIG,
        "terraform-provider-aws internal/service/configservice/delivery_channel.go",
        SAR,
    ),
)
def _cfg_channel(r: RecordedResource, v: ProgramView) -> list[Call]:
    return [
        c("config:PutDeliveryChannel", "*", "the account's delivery channel"),
        *reads("*", "config:DescribeDeliveryChannels"),
    ]


@register(
    "aws:cfg/recorderStatus:RecorderStatus",
    source=(
        "terraform-provider-aws internal/service/configservice/configuration_recorder_status.go",
        SAR,
    ),
)
def _cfg_status(r: RecordedResource, v: ProgramView) -> list[Call]:
    rec = v.arn("config", f"configuration-recorder/{value(r, 'name')}/*")
    action = (
        "config:StartConfigurationRecorder"
        if value(r, "isEnabled")
        else "config:StopConfigurationRecorder"
    )
    return [
        c(action, rec, "start recording"),
        *reads(rec, "config:DescribeConfigurationRecorderStatus"),
    ]


@register(
    "aws:cfg/rule:Rule",
    arn=lambda r, v: v.arn("config", "config-rule/*"),
    prerequisites=lambda r, v: _recorder_prereq(r, v, "PutConfigRule"),
    source=("terraform-provider-aws internal/service/configservice/config_rule.go", SAR),
)
def _cfg_rule(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = v.arn("config", "config-rule/*")
    return [
        c("config:PutConfigRule", arn, "managed rule", tag_context(r)),
        *tagged(r, "config:TagResource", arn),
        *reads("*", "config:DescribeConfigRules"),
    ]


# --- GuardDuty, Inspector -------------------------------------------------------------------------
@register(
    "aws:guardduty/detector:Detector",
    arn=lambda r, v: v.arn("guardduty", f"detector/{value(r, 'id') or '*'}"),
    service=lambda r, v: slr(
        v,
        "guardduty.amazonaws.com",
        "AWSServiceRoleForAmazonGuardDuty",
        "CreateDetector creates GuardDuty's service-linked role as the caller",
    ),
    source=(
        "GuardDuty user guide 'Service-linked role permissions for GuardDuty' (created when "
        "GuardDuty is enabled)",
        "terraform-provider-aws internal/service/guardduty/detector.go",
        SAR,
    ),
)
def _detector(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = v.arn("guardduty", f"detector/{value(r, 'id') or '*'}")
    return [
        c("guardduty:CreateDetector", "*", "enable GuardDuty", tag_context(r)),
        *tagged(r, "guardduty:TagResource", arn),
        *reads(arn, "guardduty:GetDetector"),
    ]


FEATURE_SLR = {
    "EBS_MALWARE_PROTECTION": (
        "malware-protection.guardduty.amazonaws.com",
        "AWSServiceRoleForAmazonGuardDutyMalwareProtection",
    ),
}


@register(
    "aws:guardduty/detectorFeature:DetectorFeature",
    service=lambda r, v: (
        slr(v, *FEATURE_SLR[str(value(r, "name"))], "the feature's service-linked role")
        if value(r, "name") in FEATURE_SLR
        else []
    ),
    source=(
        "terraform-provider-aws internal/service/guardduty/detector_feature.go (UpdateDetector)",
        SAR,
    ),
)
def _feature(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = v.arn("guardduty", f"detector/{value(r, 'detectorId')}")
    return [
        c("guardduty:UpdateDetector", arn, f"feature {value(r, 'name')}"),
        *reads(arn, "guardduty:GetDetector"),
    ]


@register(
    "aws:inspector2/enabler:Enabler",
    service=lambda r, v: slr(
        v,
        "inspector2.amazonaws.com",
        "AWSServiceRoleForAmazonInspector2",
        "Enable creates Inspector's service-linked role as the caller",
    ),
    source=(
        "Inspector user guide 'Using service-linked roles' (AWSServiceRoleForAmazonInspector2, "
        "created on Enable)",
        "terraform-provider-aws internal/service/inspector2/enabler.go",
        SAR,
    ),
)
def _inspector(r: RecordedResource, v: ProgramView) -> list[Call]:
    return [
        c("inspector2:Enable", "*", f"scan {', '.join(strings(r.inputs.get('resourceTypes')))}"),
        *reads("*", "inspector2:BatchGetAccountStatus"),
    ]


# --- SNS, SQS -------------------------------------------------------------------------------------
def _topic_arn(r: RecordedResource, v: ProgramView) -> str:
    return v.arn("sns", v.physical_name(r))


@register(
    "aws:sns/topic:Topic",
    arn=_topic_arn,
    principals=lambda r: policy_principals(r.inputs.get("policy")),
    source=("terraform-provider-aws internal/service/sns/topic.go", SAR),
)
def _topic(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = _topic_arn(r, v)
    calls = [
        c(
            "sns:CreateTopic",
            arn,
            "create the topic (attributes such as KmsMasterKeyId in the request)",
            tag_context(r),
        )
    ]
    calls += tagged(r, "sns:TagResource", arn)
    if r.inputs.get("policy"):
        calls.append(c("sns:SetTopicAttributes", arn, "topic policy"))
    return calls + reads(arn, "sns:GetTopicAttributes", "sns:ListTagsForResource")


@register(
    "aws:sns/topicSubscription:TopicSubscription",
    source=("terraform-provider-aws internal/service/sns/topic_subscription.go", SAR),
)
def _subscription(r: RecordedResource, v: ProgramView) -> list[Call]:
    topic = str(value(r, "topic"))
    return [
        c("sns:Subscribe", topic, f"{value(r, 'protocol')} subscription"),
        *reads("*", "sns:GetSubscriptionAttributes"),
    ]


@register(
    "aws:sns/topicPolicy:TopicPolicy",
    principals=lambda r: policy_principals(r.inputs.get("policy")),
    source=("terraform-provider-aws internal/service/sns/topic_policy.go", SAR),
)
def _topic_policy(r: RecordedResource, v: ProgramView) -> list[Call]:
    topic = str(value(r, "arn"))
    return [
        c("sns:SetTopicAttributes", topic, "topic policy"),
        *reads(topic, "sns:GetTopicAttributes"),
    ]


def _queue_arn(r: RecordedResource, v: ProgramView) -> str:
    return v.arn("sqs", v.physical_name(r))


@register(
    "aws:sqs/queue:Queue",
    arn=_queue_arn,
    principals=lambda r: policy_principals(r.inputs.get("policy")),
    source=("terraform-provider-aws internal/service/sqs/queue.go", SAR),
)
def _queue(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = _queue_arn(r, v)
    calls = [
        c("sqs:CreateQueue", arn, "create the queue", tag_context(r)),
        *tagged(r, "sqs:TagQueue", arn),
    ]
    return calls + reads(arn, "sqs:GetQueueAttributes", "sqs:ListQueueTags", "sqs:GetQueueUrl")


@register(
    "aws:sqs/queuePolicy:QueuePolicy",
    principals=lambda r: policy_principals(r.inputs.get("policy")),
    source=("terraform-provider-aws internal/service/sqs/queue_policy.go", SAR),
)
def _queue_policy(r: RecordedResource, v: ProgramView) -> list[Call]:
    url = str(value(r, "queueUrl") or "")
    arn = v.arn("sqs", url.rstrip("/").rsplit("/", 1)[-1] or "*")
    return [c("sqs:SetQueueAttributes", arn, "queue policy"), *reads(arn, "sqs:GetQueueAttributes")]


# --- Service Catalog (IAM prefix servicecatalog, ARNs arn:aws:catalog:...) ------------------------
def _portfolio_arn(v: ProgramView, ident: str | None) -> str:
    return v.arn("catalog", f"portfolio/{ident or '*'}")


def _product_arn(v: ProgramView, ident: str | None) -> str:
    return v.arn("catalog", f"product/{ident or '*'}")


@register(
    "aws:servicecatalog/portfolio:Portfolio",
    arn=lambda r, v: _portfolio_arn(v, value(r, "id")),
    source=("terraform-provider-aws internal/service/servicecatalog/portfolio.go", SAR),
)
def _portfolio(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = _portfolio_arn(v, value(r, "id"))
    return [
        c(
            "servicecatalog:CreatePortfolio",
            _portfolio_arn(v, None),
            "create the portfolio",
            tag_context(r),
        ),
        *reads(arn, "servicecatalog:DescribePortfolio"),
    ]


def _template_url(r: RecordedResource) -> str:
    return str(block(r, "provisioningArtifactParameters").get("templateUrl") or "")


def _template_object(url: str, v: ProgramView) -> tuple[str, str] | None:
    """(bucket, key) of an S3 template URL (virtual-hosted or path style)."""
    if not url.startswith("https://"):
        return None
    host, _, key = url[8:].partition("/")
    if ".s3." in host or host.endswith(".s3.amazonaws.com"):
        return host.split(".s3", 1)[0], key
    if host.startswith("s3.") or host.startswith("s3-"):
        bucket, _, key = key.partition("/")
        return bucket, key
    return None


def _template_reads(r: RecordedResource, v: ProgramView, why: str) -> list[Call]:
    """s3:GetObject (and kms:Decrypt via S3 when the object is SSE-KMS) on a product's template."""
    obj = _template_object(_template_url(r), v)
    if obj is None:
        return []
    bucket, key = obj
    arn = f"{bucket_arn(v, bucket)}/{key}"
    calls = [c("s3:GetObject", arn, why)]
    kms = None
    for o in v.of_type("aws:s3/bucketObjectv2:BucketObjectv2") + v.of_type(
        "aws:s3/bucketObject:BucketObject"
    ):
        if value(o, "bucket") == bucket and value(o, "key") == key and value(o, "kmsKeyId"):
            kms = (v.key_arn(str(value(o, "kmsKeyId"))), bool(value(o, "bucketKeyEnabled")))
    if kms is None:
        k, bk = bucket_encryption_key(v, bucket)
        kms = (k, bk) if k else None
    if kms is not None:
        ctx = s3_encryption_context(bucket_arn(v, bucket), arn, kms[1])
        calls += kms_via(kms[0], ["kms:Decrypt"], "s3", v, ctx, "the template object is SSE-KMS")
    return calls


def _product_service(r: RecordedResource, v: ProgramView) -> list[ServiceCall]:
    why = "CreateProduct reads the template from S3 with the caller's credentials"
    return [ServiceCall(CALLER, x, "create") for x in _template_reads(r, v, why)]


@register(
    "aws:servicecatalog/product:Product",
    arn=lambda r, v: _product_arn(v, value(r, "id")),
    service=_product_service,
    source=(
        "Service Catalog administrator guide 'Creating products' (the template URL must be "
        "readable by the creator)",
        "terraform-provider-aws internal/service/servicecatalog/product.go",
        SAR,
    ),
    unverified=(
        "that CreateProduct reads the template with the caller's credentials (launches read it "
        "again with the launch role: see the LAUNCH constraint's service calls)",
    ),
)
def _product(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = _product_arn(v, value(r, "id"))
    calls = [
        c(
            "servicecatalog:CreateProduct",
            _product_arn(v, None),
            "create the product and its first version",
            tag_context(r),
        )
    ]
    return calls + reads(
        arn, "servicecatalog:DescribeProductAsAdmin", "servicecatalog:DescribeProvisioningArtifact"
    )


@register(
    "aws:servicecatalog/productPortfolioAssociation:ProductPortfolioAssociation",
    source=(
        "terraform-provider-aws internal/service/servicecatalog/product_portfolio_association.go",
        SAR,
    ),
)
def _product_assoc(r: RecordedResource, v: ProgramView) -> list[Call]:
    return [
        c("servicecatalog:AssociateProductWithPortfolio", "*", "add the product to the portfolio"),
        *reads(_product_arn(v, value(r, "productId")), "servicecatalog:ListPortfoliosForProduct"),
    ]


@register(
    "aws:servicecatalog/principalPortfolioAssociation:PrincipalPortfolioAssociation",
    source=(
        "terraform-provider-aws internal/service/servicecatalog/principal_portfolio_association.go",
        SAR,
    ),
)
def _principal_assoc(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = _portfolio_arn(v, value(r, "portfolioId"))
    return [
        c(
            "servicecatalog:AssociatePrincipalWithPortfolio",
            arn,
            f"grant {value(r, 'principalArn')}",
        ),
        *reads(arn, "servicecatalog:ListPrincipalsForPortfolio"),
    ]


def _launch_role(r: RecordedResource, v: ProgramView) -> str | None:
    params = as_json(value(r, "parameters")) or {}
    role = params.get("RoleArn") if isinstance(params, dict) else None
    return v.role_arn(role) if value(r, "type") == "LAUNCH" and role else None


def _constraint_service(r: RecordedResource, v: ProgramView) -> list[ServiceCall]:
    role = _launch_role(r, v)
    if role is None:
        return []
    out = assume(
        "servicecatalog.amazonaws.com", role, "each launch runs as the launch role", "runtime"
    )
    product = v.find("aws:servicecatalog/product:Product", id=value(r, "productId"))
    if product is not None:
        why = "CloudFormation reads the product template with the launch role at launch"
        out += as_role(role, _template_reads(product, v, why), "runtime")
    return out


@register(
    "aws:servicecatalog/constraint:Constraint",
    service=_constraint_service,
    source=(
        "Service Catalog administrator guide 'Launch constraints' (creating one needs iam:PassRole "
        "and iam:Get*; the launch role needs read access to the template's S3 bucket)",
        "terraform-provider-aws internal/service/servicecatalog/constraint.go",
        SAR,
    ),
    unverified=(
        "the iam:PassedToService value of the launch-role pass (modelled as "
        "servicecatalog.amazonaws.com)",
    ),
)
def _constraint(r: RecordedResource, v: ProgramView) -> list[Call]:
    product = _product_arn(v, value(r, "productId"))
    calls = [c("servicecatalog:CreateConstraint", product, f"{value(r, 'type')} constraint")]
    params = as_json(value(r, "parameters")) or {}
    role = params.get("RoleArn") if isinstance(params, dict) else None
    if value(r, "type") == "LAUNCH" and role:
        calls += pass_role(v.role_arn(role), "servicecatalog.amazonaws.com", "launch role")
        calls.append(
            c("iam:GetRole", v.role_arn(role) or role, "Service Catalog checks the launch role")
        )
    return calls + reads("*", "servicecatalog:DescribeConstraint")
