"""Auto-naming as pulumi-aws does it: which property of a resource gets a generated physical name
when the program gives none, how long it may be, and what the generated value looks like.

Sources read (reference only; no code copied):
- pulumi/pulumi-aws ``provider/resources.go`` at 00ba5ea53c2548fd367776345b7c52f191ce1372: the
  per-resource ``Fields`` overrides (``tfbridge.AutoName(prop, maxlen, "-")``,
  ``AutoNameTransform``, ``AutoNameWithCustomOptions``) and ``setAutonaming``, which gives every
  resource whose Terraform schema has an input ``name`` the rule ``AutoName("name", 255, "-")``
  unless ``Fields["name"]`` is already set. pulumi-aws 7 (installed: 7.51.1) keeps these rules; its
  ``aws:s3/bucket:Bucket`` is the v6 ``BucketV2`` (same ``bucket`` rule).
- pulumi/pulumi-terraform-bridge ``pkg/tfbridge/info/autonaming.go`` (``ComputeAutoNameDefault``)
  and ``pkg/tfbridge/schema.go`` (``applyDefaults``, ``buildConflictsWith``) at
  59de6c661df1e7561e6ece7ad7f1c835c63010c4: the name is ``<logical name><separator><random>``;
  Pulumi defaults run before Terraform's own defaults (so AWS Config's ``"default"`` never
  applies); no default is computed when a conflicting property (``namePrefix``, ``bucketPrefix``,
  ``statementIdPrefix``) is set - the provider then makes ``prefix + 26 characters``
  (terraform-plugin-sdk ``id.PrefixedUniqueId``: 18-digit UTC timestamp + 8-hex counter).
- pulumi/pulumi ``sdk/go/common/resource/resource_id.go`` (``NewUniqueName``) at
  1b5949891b3cefcb9974752b24a5ecef0acc86c8: 7 characters of ``[0-9a-f]``; a name whose
  ``len(prefix) + randlen`` exceeds ``maxlen`` is an error, never trimmed.

Every aws type the platform program, ``bootstrap/`` and the rendered inference repos register has
an entry: a ``Rule`` or ``None`` (no auto-named property; the program must name it or AWS assigns
an id). Other aws types follow setAutonaming's generic rule, read off the installed SDK.
``tests/testing/test_mocks.py`` checks the table against the installed SDK and the programs.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import inspect
from dataclasses import dataclass
from typing import Any

PULUMI_AWS_COMMIT = "00ba5ea53c2548fd367776345b7c52f191ce1372"
BRIDGE_COMMIT = "59de6c661df1e7561e6ece7ad7f1c835c63010c4"
PULUMI_COMMIT = "1b5949891b3cefcb9974752b24a5ecef0acc86c8"

PREFIXED_SUFFIX_LEN = 26  # terraform-plugin-sdk id.UniqueIDSuffixLength


class AutonameError(ValueError):
    """The engine's check failure for a logical name too long to auto-name."""


@dataclass(frozen=True)
class Rule:
    prop: str
    """Pulumi (camelCase) property that receives the generated name."""
    maxlen: int = 255
    randlen: int = 7
    separator: str = "-"
    lower: bool = False
    """AutoNameTransform(strings.ToLower): S3 bucket names."""
    prefix_prop: str | None = "namePrefix"
    """Terraform's conflicting ``*_prefix`` argument (None: the type has none)."""
    post_prefix: str = ""
    """PostTransform adding a fixed prefix (KMS aliases: ``alias/``)."""
    fifo_flag: str | None = None
    """PostTransform appending ``.fifo`` when this boolean input is true (SQS, SNS)."""


_NAME = Rule("name", prefix_prop=None)  # setAutonaming(255, "-"), no name_prefix upstream
_NAME_OR_PREFIX = Rule("name")  # setAutonaming(255, "-"), upstream has name_prefix

RULES: dict[str, Rule | None] = {
    # API Gateway
    "aws:apigateway/account:Account": None,
    "aws:apigateway/deployment:Deployment": None,
    "aws:apigateway/integration:Integration": None,
    "aws:apigateway/integrationResponse:IntegrationResponse": None,
    "aws:apigateway/method:Method": None,
    "aws:apigateway/methodResponse:MethodResponse": None,
    "aws:apigateway/methodSettings:MethodSettings": None,
    "aws:apigateway/model:Model": _NAME,
    "aws:apigateway/requestValidator:RequestValidator": _NAME,
    "aws:apigateway/resource:Resource": None,
    "aws:apigateway/response:Response": None,
    "aws:apigateway/restApi:RestApi": _NAME,
    "aws:apigateway/restApiPolicy:RestApiPolicy": None,
    "aws:apigateway/stage:Stage": None,  # stageName is required
    # Application Auto Scaling
    "aws:appautoscaling/policy:Policy": _NAME,
    "aws:appautoscaling/target:Target": None,
    # AWS Config: Pulumi's auto-name wins over Terraform's default "default"
    "aws:cfg/deliveryChannel:DeliveryChannel": _NAME,
    "aws:cfg/recorder:Recorder": _NAME,
    "aws:cfg/recorderStatus:RecorderStatus": _NAME,
    "aws:cfg/rule:Rule": _NAME,
    # CloudTrail, CloudWatch, EventBridge
    "aws:cloudtrail/trail:Trail": _NAME,
    "aws:cloudwatch/dashboard:Dashboard": None,  # dashboardName is required, never auto-named
    "aws:cloudwatch/eventBus:EventBus": _NAME,
    "aws:cloudwatch/eventRule:EventRule": Rule("name", maxlen=64),
    "aws:cloudwatch/eventTarget:EventTarget": Rule("targetId", prefix_prop=None),
    "aws:cloudwatch/logGroup:LogGroup": _NAME_OR_PREFIX,
    "aws:cloudwatch/logMetricFilter:LogMetricFilter": _NAME,
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": None,  # policyName, not auto-named
    "aws:cloudwatch/logStream:LogStream": _NAME,
    "aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter": _NAME,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _NAME,  # alarm_name -> name, 255
    # Code*
    "aws:codeartifact/domain:Domain": None,
    "aws:codeartifact/repository:Repository": None,
    "aws:codeartifact/domainPermissions:DomainPermissions": None,
    "aws:codeartifact/repositoryPermissionsPolicy:RepositoryPermissionsPolicy": None,
    "aws:codebuild/project:Project": _NAME,
    "aws:codecommit/repository:Repository": None,  # repositoryName is required
    "aws:codepipeline/pipeline:Pipeline": _NAME,
    "aws:codestarconnections/connection:Connection": _NAME,
    # EC2 / VPC
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": None,
    "aws:ec2/eip:Eip": None,
    "aws:ec2/flowLog:FlowLog": None,
    "aws:ec2/internetGateway:InternetGateway": None,
    "aws:ec2/natGateway:NatGateway": None,
    "aws:ec2/route:Route": None,
    "aws:ec2/routeTable:RouteTable": None,
    "aws:ec2/routeTableAssociation:RouteTableAssociation": None,
    "aws:ec2/securityGroup:SecurityGroup": _NAME_OR_PREFIX,
    "aws:ec2/subnet:Subnet": None,
    "aws:ec2/vpc:Vpc": None,
    "aws:ec2/vpcEndpoint:VpcEndpoint": None,
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": None,
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": None,
    # ECR
    "aws:ecr/repository:Repository": _NAME,
    "aws:ecr/repositoryPolicy:RepositoryPolicy": None,
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": None,
    # GuardDuty, Inspector
    "aws:guardduty/detector:Detector": None,
    "aws:guardduty/detectorFeature:DetectorFeature": _NAME,
    "aws:inspector2/enabler:Enabler": None,
    # IAM
    "aws:iam/instanceProfile:InstanceProfile": _NAME_OR_PREFIX,
    "aws:iam/policy:Policy": _NAME_OR_PREFIX,
    "aws:iam/role:Role": Rule("name", maxlen=64),
    "aws:iam/rolePolicy:RolePolicy": _NAME_OR_PREFIX,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": None,
    # Kinesis Firehose (listed as auto-named in hasOptionalOrRequiredNamePropertyOptimized)
    "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream": _NAME,
    # KMS
    "aws:kms/alias:Alias": Rule("name", maxlen=238, post_prefix="alias/"),
    "aws:kms/grant:Grant": _NAME,
    "aws:kms/key:Key": None,
    # Lambda: function_name -> name, 64
    "aws:lambda/function:Function": Rule("name", maxlen=64, prefix_prop=None),
    "aws:lambda/permission:Permission": Rule(
        "statementId", maxlen=100, prefix_prop="statementIdPrefix"
    ),
    # S3
    "aws:s3/bucket:Bucket": Rule("bucket", maxlen=63, lower=True, prefix_prop="bucketPrefix"),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": None,
    "aws:s3/bucketLogging:BucketLogging": None,
    "aws:s3/bucketNotification:BucketNotification": None,
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration": None,
    # aws_s3_object: key defaults to the logical name itself (Randlen 0, Maxlen 0)
    "aws:s3/bucketObjectv2:BucketObjectv2": Rule("key", maxlen=0, randlen=0, prefix_prop=None),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": None,
    "aws:s3/bucketPolicy:BucketPolicy": None,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": None,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": None,
    "aws:s3/bucketVersioning:BucketVersioning": None,
    # SageMaker: names the API requires stay required (domain, user profile, package group,
    # pipeline); models, endpoint configs, endpoints and monitoring are auto-named at 255
    "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition": _NAME,
    "aws:sagemaker/domain:Domain": None,
    "aws:sagemaker/endpoint:Endpoint": _NAME,
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": _NAME_OR_PREFIX,
    "aws:sagemaker/model:Model": _NAME,
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": None,
    "aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy": None,
    "aws:sagemaker/monitoringSchedule:MonitoringSchedule": _NAME,
    "aws:sagemaker/pipeline:Pipeline": None,
    "aws:sagemaker/servicecatalogPortfolioStatus:ServicecatalogPortfolioStatus": None,
    "aws:sagemaker/userProfile:UserProfile": None,
    # Secrets Manager
    "aws:secretsmanager/secret:Secret": _NAME_OR_PREFIX,
    "aws:secretsmanager/secretPolicy:SecretPolicy": None,
    # Service Catalog
    "aws:servicecatalog/constraint:Constraint": None,
    "aws:servicecatalog/portfolio:Portfolio": _NAME,
    "aws:servicecatalog/principalPortfolioAssociation:PrincipalPortfolioAssociation": None,
    "aws:servicecatalog/product:Product": _NAME,
    "aws:servicecatalog/productPortfolioAssociation:ProductPortfolioAssociation": None,
    # Step Functions, SNS, SQS, SSM
    "aws:sfn/stateMachine:StateMachine": _NAME_OR_PREFIX,
    "aws:sns/topic:Topic": Rule("name", maxlen=80, fifo_flag="fifoTopic"),
    "aws:sns/topicPolicy:TopicPolicy": None,
    "aws:sns/topicSubscription:TopicSubscription": None,
    "aws:sqs/queue:Queue": Rule("name", maxlen=80, fifo_flag="fifoQueue"),
    "aws:sqs/queuePolicy:QueuePolicy": None,
    "aws:ssm/parameter:Parameter": _NAME,
}


# Types with no auto-named property whose name the API still requires: the physical name is the
# program's value (kept here so RecordedResource.physical_name covers them too).
REQUIRED_NAMES: dict[str, str] = {
    "aws:apigateway/stage:Stage": "stageName",
    "aws:codeartifact/domain:Domain": "domain",
    "aws:codeartifact/repository:Repository": "repository",
    "aws:codecommit/repository:Repository": "repositoryName",
    "aws:sagemaker/domain:Domain": "domainName",
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": "modelPackageGroupName",
    "aws:sagemaker/pipeline:Pipeline": "pipelineName",
    "aws:sagemaker/userProfile:UserProfile": "userProfileName",
}


@functools.cache
def _sdk_rule(typ: str) -> Rule | None:
    """setAutonaming's generic rule for a type the table does not list: ``AutoName("name", 255)``
    when the installed SDK has an optional ``name`` input (required names are not auto-named)."""
    module, cls = typ.split(":")[1].split("/")[0], typ.rsplit(":", 1)[1]
    try:
        mod = importlib.import_module(f"pulumi_aws.{'lambda_' if module == 'lambda' else module}")
        params = inspect.signature(getattr(mod, f"{cls}Args").__init__).parameters
    except (ImportError, AttributeError, IndexError, ValueError):
        return None
    if "name" not in params or params["name"].default is inspect.Parameter.empty:
        return None
    return Rule("name", prefix_prop="namePrefix" if "name_prefix" in params else None)


def physical_name(
    typ: str, logical_name: str, inputs: dict[str, Any], seed: str
) -> tuple[str, str, bool] | None:
    """``(property, value, generated)`` for the name-bearing property of a resource, or None.

    ``generated`` is True when the provider made the value (auto-name or prefix + suffix), False
    when the program gave it. ``seed`` makes the random part deterministic (the stack and URN).
    aws types missing from ``RULES`` follow setAutonaming's generic rule (``_sdk_rule``).
    """
    if typ in REQUIRED_NAMES:
        given = inputs.get(REQUIRED_NAMES[typ])
        return (REQUIRED_NAMES[typ], given, False) if isinstance(given, str) else None
    rule = RULES[typ] if typ in RULES else _sdk_rule(typ) if typ.startswith("aws:") else None
    if rule is None:
        return None
    given = inputs.get(rule.prop)
    if isinstance(given, str) and given:
        return rule.prop, given, False
    digest = hashlib.sha256(seed.encode()).hexdigest()
    prefix = inputs.get(rule.prefix_prop) if rule.prefix_prop else None
    if isinstance(prefix, str) and prefix:
        # id.PrefixedUniqueId: UTC yyyymmddHHMMSS + 4 fractional digits, then an 8-hex counter
        n = int(digest[:16], 16)
        stamp = (
            f"20260101{n % 24:02d}{n // 24 % 60:02d}{n // 1440 % 60:02d}{n // 86400 % 10000:04d}"
        )
        value = f"{prefix}{stamp}{int(digest[16:18], 16) + 1:08x}"
    else:
        base = logical_name.lower() if rule.lower else logical_name
        head = base + rule.separator if rule.randlen else base
        if rule.maxlen and len(head) + rule.randlen > rule.maxlen:
            raise AutonameError(
                f"could not make instance of '{typ}': name '{head}' plus {rule.randlen} random "
                f"chars is longer than maximum length {rule.maxlen}"
            )
        value = head + digest[: rule.randlen]
        if rule.post_prefix and not value.startswith(rule.post_prefix):
            value = rule.post_prefix + value
    if rule.fifo_flag and inputs.get(rule.fifo_flag) is True:
        value += ".fifo"
    return rule.prop, value, True
