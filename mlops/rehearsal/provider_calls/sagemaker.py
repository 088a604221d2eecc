"""SageMaker: models, endpoint configs, endpoints and their autoscaling, Studio domains and user
profiles, the model registry, Model Monitor and the Projects portfolio."""

from __future__ import annotations

from typing import Any

from mlops.rehearsal.model import Call
from mlops.testing.mocks import RecordedResource

from .base import (
    CALLER,
    ProgramView,
    ServiceCall,
    as_json,
    as_role,
    assume,
    block,
    c,
    eni,
    grant_for_service,
    kms_via,
    pass_role,
    policy_principals,
    reads,
    register,
    slr,
    strings,
    sub,
    tag_context,
    tagged,
    value,
)
from .storage import bucket_arn, s3_encryption_context

SAR = (
    "Service Authorization Reference (parliament iam_definition.json; SageMaker Create* list "
    "sagemaker:AddTags and iam:PassRole as dependent actions)"
)
SM_ARNS = (
    "SageMaker ARNs carry the resource name in lower case (the Service Authorization Reference "
    "formats are model/${ModelName}, endpoint-config/${EndpointConfigName}, ...; SageMaker returns "
    "the ARN with the name lower-cased)"
)
ASSUME = (
    "SageMaker checks at CreateModel / job creation that sagemaker.amazonaws.com can assume the "
    "execution role ('Could not assume role ... Please ensure that the role exists and allows "
    "principal sagemaker.amazonaws.com to assume the role')"
)
VPC_ROLE = (
    "SageMaker developer guide 'Give SageMaker access to resources in your Amazon VPC': the "
    "execution role needs ec2:CreateNetworkInterface, CreateNetworkInterfacePermission, "
    "DeleteNetworkInterface, DeleteNetworkInterfacePermission, DescribeNetworkInterfaces, "
    "DescribeVpcs, DescribeDhcpOptions, DescribeSubnets, DescribeSecurityGroups"
)
VPC_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeVpcs",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
)
ECR_PULL = ("ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage")


def sm_arn(v: ProgramView, kind: str, name: str) -> str:
    return v.arn("sagemaker", f"{kind}/{name.lower()}")


def _named(kind: str):
    def fn(r: RecordedResource, v: ProgramView) -> str:
        return sm_arn(v, kind, v.physical_name(r))

    return fn


def _sm_create(
    r: RecordedResource, action: str, arn: str, why: str, ctx: dict[str, Any] | None = None
) -> list[Call]:
    return [
        c(action, arn, why, {**(ctx or {}), **tag_context(r)}),
        *tagged(r, "sagemaker:AddTags", arn),
    ]


def _vpc_ctx(
    vpc: dict[str, Any], subnets: str = "subnets", sgs: str = "securityGroupIds"
) -> dict[str, Any]:
    return {
        "sagemaker:VpcSubnets": strings(vpc.get(subnets)),
        "sagemaker:VpcSecurityGroupIds": strings(vpc.get(sgs)),
    }


# --- models, endpoint configs, endpoints ---------------------------------------------------------
def _containers(r: RecordedResource) -> list[dict[str, Any]]:
    out = [block(r, "primaryContainer")] if r.inputs.get("primaryContainer") else []
    return out + [x for x in as_json(r.inputs.get("containers")) or [] if isinstance(x, dict)]


def _model_role(r: RecordedResource, v: ProgramView) -> str | None:
    role = value(r, "executionRoleArn")
    return v.role_arn(str(role)) if role else None


def _model_service(r: RecordedResource, v: ProgramView) -> list[ServiceCall]:
    return assume(
        "sagemaker.amazonaws.com",
        _model_role(r, v),
        "CreateModel checks the execution role can be assumed",
    )


@register(
    "aws:sagemaker/model:Model",
    arn=_named("model"),
    service=_model_service,
    source=(SM_ARNS, ASSUME, "terraform-provider-aws internal/service/sagemaker/model.go", SAR),
    unverified=(
        "for a model from a model package: that SageMaker reads the (cross-account) package with "
        "the caller's sagemaker:DescribeModelPackage (AWS's cross-account registry guidance grants "
        "it in the group policy)",
    ),
)
def _model(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = sm_arn(v, "model", v.physical_name(r))
    vpc = block(r, "vpcConfig")
    ctx = {
        "sagemaker:NetworkIsolation": bool(value(r, "enableNetworkIsolation", False)),
        **_vpc_ctx(vpc),
    }
    calls = _sm_create(
        r, "sagemaker:CreateModel", arn, "create the model (name lower-cased in the ARN)", ctx
    )
    calls += pass_role(_model_role(r, v), "sagemaker.amazonaws.com")
    for cont in _containers(r):
        pkg = cont.get("modelPackageName")
        if pkg:
            calls.append(
                c(
                    "sagemaker:DescribeModelPackage",
                    str(pkg),
                    "the model's container is a registered model package",
                )
            )
    return calls + reads(arn, "sagemaker:DescribeModel", "sagemaker:ListTags")


def _variants(r: RecordedResource) -> list[dict[str, Any]]:
    return [x for x in as_json(r.inputs.get("productionVariants")) or [] if isinstance(x, dict)]


@register(
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
    arn=_named("endpoint-config"),
    source=(
        SM_ARNS,
        "terraform-provider-aws internal/service/sagemaker/endpoint_configuration.go",
        SAR,
    ),
)
def _endpoint_config(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = sm_arn(v, "endpoint-config", v.physical_name(r))
    variants = _variants(r)
    models = [sm_arn(v, "model", str(x["modelName"])) for x in variants if x.get("modelName")]
    ctx: dict[str, Any] = {
        "sagemaker:InstanceTypes": sorted(
            {str(x["instanceType"]) for x in variants if x.get("instanceType")}
        ),
        "sagemaker:ModelArn": models,
        "sagemaker:VolumeKmsKey": v.key_arn(str(value(r, "kmsKeyArn")))
        if value(r, "kmsKeyArn")
        else None,
    }
    serverless = [
        x["serverlessConfig"] for x in variants if isinstance(x.get("serverlessConfig"), dict)
    ]
    if serverless:
        ctx["sagemaker:ServerlessMaxConcurrency"] = int(serverless[0].get("maxConcurrency", 0))
        ctx["sagemaker:ServerlessMemorySize"] = int(serverless[0].get("memorySizeInMb", 0))
    calls = _sm_create(
        r, "sagemaker:CreateEndpointConfig", arn, "create the endpoint configuration", ctx
    )
    return calls + reads(arn, "sagemaker:DescribeEndpointConfig", "sagemaker:ListTags")


def _config_of(r: RecordedResource, v: ProgramView) -> RecordedResource | None:
    name = str(value(r, "endpointConfigName") or "")
    for cfg in v.of_type("aws:sagemaker/endpointConfiguration:EndpointConfiguration"):
        if v.physical_name(cfg) == name:
            return cfg
    return None


def _model_named(v: ProgramView, name: str) -> RecordedResource | None:
    for m in v.of_type("aws:sagemaker/model:Model"):
        if v.physical_name(m) == name:
            return m
    return None


def _endpoint_service(r: RecordedResource, v: ProgramView) -> list[ServiceCall]:
    cfg = _config_of(r, v)
    if cfg is None:
        return []
    out: list[ServiceCall] = []
    key = v.key_arn(str(value(cfg, "kmsKeyArn"))) if value(cfg, "kmsKeyArn") else None
    why = (
        "endpoint storage key: SageMaker creates a grant with the caller's credentials at "
        "CreateEndpoint"
    )
    out += [ServiceCall(CALLER, x, "create") for x in grant_for_service(key, "sagemaker", v, why)]
    capture = block(cfg, "dataCaptureConfig")
    for variant in _variants(cfg):
        model = _model_named(v, str(variant.get("modelName") or ""))
        if model is None:
            continue
        role = _model_role(model, v)
        out += assume(
            "sagemaker.amazonaws.com", role, "hosting runs the model as its execution role"
        )
        if block(model, "vpcConfig"):
            out += as_role(
                role,
                [
                    c(
                        a,
                        eni(v, a),
                        "model in the VPC: SageMaker creates ENIs with the execution role",
                    )
                    for a in VPC_ACTIONS
                ],
            )
        for cont in _containers(model):
            image = str(cont.get("image") or "")
            if ".dkr.ecr." in image:
                acct, _, rest = image.partition(".dkr.ecr.")
                region = rest.split(".", 1)[0]
                repo = rest.split("/", 1)[-1].split(":")[0].split("@")[0]
                repo_arn = f"arn:aws:ecr:{region}:{acct}:repository/{repo}"
                out += as_role(role, [c("ecr:GetAuthorizationToken", "*", "image pull")])
                out += as_role(role, [c(a, repo_arn, "image pull") for a in ECR_PULL])
            data = str(cont.get("modelDataUrl") or "")
            if data.startswith("s3://"):
                out += as_role(
                    role, [c("s3:GetObject", "arn:aws:s3:::" + data[5:], "model artifacts")]
                )
        if capture.get("enableCapture") and capture.get("destinationS3Uri"):
            dest = str(capture["destinationS3Uri"])[5:]
            bucket, _, prefix = dest.partition("/")
            obj = f"{bucket_arn(v, bucket)}/{prefix}/*" if prefix else f"{bucket_arn(v, bucket)}/*"
            out += as_role(
                role,
                [c("s3:PutObject", obj, "data capture is written with the model's execution role")],
                "runtime",
            )
            ckey = v.key_arn(str(capture.get("kmsKeyId"))) if capture.get("kmsKeyId") else None
            ctx = s3_encryption_context(bucket_arn(v, bucket), obj, False)
            out += as_role(
                role,
                kms_via(ckey, ["kms:GenerateDataKey"], "s3", v, ctx, "data capture (SSE-KMS)"),
                "runtime",
            )
        name = v.physical_name(r)
        group = v.arn("logs", f"log-group:/aws/sagemaker/Endpoints/{name}")
        logs = [
            c(a, f"{group}:log-stream:*", "endpoint container logs")
            for a in ("logs:CreateLogStream", "logs:PutLogEvents")
        ]
        out += as_role(
            role, [c("logs:CreateLogGroup", group, "endpoint container logs"), *logs], "runtime"
        )
    return out


@register(
    "aws:sagemaker/endpoint:Endpoint",
    arn=_named("endpoint"),
    service=_endpoint_service,
    source=(
        SM_ARNS,
        "SageMaker API reference CreateEndpointConfig KmsKeyId ('The KMS key policy must grant "
        "permission to the IAM role that you specify in your CreateEndpoint, UpdateEndpoint "
        "requests') and DataCaptureConfig",
        VPC_ROLE,
        "terraform-provider-aws internal/service/sagemaker/endpoint.go",
        "SageMaker developer guide 'Auto-Rollback Configuration and Monitoring' (the role must "
        "be allowed cloudwatch:DescribeAlarms on the auto-rollback alarms)",
        SAR,
    ),
    unverified=(
        "that the storage-key grant carries kms:ViaService=sagemaker.<region>.amazonaws.com",
        "that data capture is written with the model's execution role (not a service identity)",
    ),
)
def _endpoint(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = sm_arn(v, "endpoint", v.physical_name(r))
    cfg_arn = sm_arn(v, "endpoint-config", str(value(r, "endpointConfigName") or "*"))
    calls = _sm_create(r, "sagemaker:CreateEndpoint", arn, "create the endpoint")
    calls.append(
        c(
            "sagemaker:CreateEndpoint",
            cfg_arn,
            "CreateEndpoint is authorised on the endpoint config too",
        )
    )
    rollback = (value(r, "deploymentConfig") or {}).get("autoRollbackConfiguration") or {}
    calls += [
        c(
            "cloudwatch:DescribeAlarms",
            v.arn("cloudwatch", f"alarm:{alarm['alarmName']}"),
            "deployment guardrails read the auto-rollback alarms as the caller",
        )
        for alarm in rollback.get("alarms") or []
        if isinstance(alarm.get("alarmName"), str)
    ]
    return calls + reads(arn, "sagemaker:DescribeEndpoint", "sagemaker:ListTags")


# --- autoscaling ----------------------------------------------------------------------------------
SCALING = (
    "SageMaker developer guide 'Automatic scaling prerequisites': the user needs "
    "sagemaker:DescribeEndpoint, DescribeEndpointConfig, UpdateEndpointWeightsAndCapacities, "
    "cloudwatch:PutMetricAlarm/DescribeAlarms/DeleteAlarms and iam:CreateServiceLinkedRole for "
    "sagemaker.application-autoscaling.amazonaws.com (AWSServiceRoleForApplicationAutoScaling_"
    "SageMakerEndpoint)"
)


def _scalable_target_arn(r: RecordedResource, v: ProgramView) -> str:
    st = r.state.get("arn")
    if isinstance(st, str) and ":scalable-target/" in st:
        return st
    return v.arn("application-autoscaling", f"scalable-target/{v.physical_name(r)}")


def _scaling_slr(r: RecordedResource, v: ProgramView) -> list[ServiceCall]:
    ns = str(value(r, "serviceNamespace") or "")
    roles = {
        "sagemaker": (
            "sagemaker.application-autoscaling.amazonaws.com",
            "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
        ),
        "lambda": (
            "lambda.application-autoscaling.amazonaws.com",
            "AWSServiceRoleForApplicationAutoScaling_LambdaConcurrency",
        ),
        "ecs": (
            "ecs.application-autoscaling.amazonaws.com",
            "AWSServiceRoleForApplicationAutoScaling_ECSService",
        ),
    }
    if ns not in roles:
        return []
    return slr(
        v, *roles[ns], "RegisterScalableTarget creates the service-linked role as the caller"
    )


def _scaling_ctx(r: RecordedResource) -> dict[str, Any]:
    return {
        "application-autoscaling:service-namespace": value(r, "serviceNamespace"),
        "application-autoscaling:scalable-dimension": value(r, "scalableDimension"),
    }


def _endpoint_config_arn(v: ProgramView, endpoint_arn: str) -> str:
    for e in v.of_type("aws:sagemaker/endpoint:Endpoint"):
        if sm_arn(v, "endpoint", v.physical_name(e)) == endpoint_arn and value(
            e, "endpointConfigName"
        ):
            return sm_arn(v, "endpoint-config", str(value(e, "endpointConfigName")))
    return v.arn("sagemaker", "endpoint-config/*")


def _endpoint_of_scaling(r: RecordedResource, v: ProgramView) -> str | None:
    rid = str(value(r, "resourceId") or "")
    if value(r, "serviceNamespace") == "sagemaker" and rid.startswith("endpoint/"):
        return sm_arn(v, "endpoint", rid.split("/")[1])
    return None


@register(
    "aws:appautoscaling/target:Target",
    arn=_scalable_target_arn,
    service=_scaling_slr,
    source=(SCALING, "terraform-provider-aws internal/service/appautoscaling/target.go", SAR),
)
def _scaling_target(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = _scalable_target_arn(r, v)
    calls = [
        c(
            "application-autoscaling:RegisterScalableTarget",
            arn,
            "register the target",
            {**_scaling_ctx(r), **tag_context(r)},
        )
    ]
    calls += tagged(r, "application-autoscaling:TagResource", arn)
    endpoint = _endpoint_of_scaling(r, v)
    if endpoint:
        calls += [
            c(
                "sagemaker:DescribeEndpoint",
                endpoint,
                "autoscaling a SageMaker variant (user permission)",
            ),
            c(
                "sagemaker:DescribeEndpointConfig",
                _endpoint_config_arn(v, endpoint),
                "autoscaling a SageMaker variant (user permission)",
            ),
            c(
                "sagemaker:UpdateEndpointWeightsAndCapacities",
                endpoint,
                "autoscaling a SageMaker variant (user permission)",
            ),
        ]
    return (
        calls
        + reads("*", "application-autoscaling:DescribeScalableTargets")
        + reads(arn, "application-autoscaling:ListTagsForResource")
    )


@register(
    "aws:appautoscaling/policy:Policy",
    source=(SCALING, "terraform-provider-aws internal/service/appautoscaling/policy.go", SAR),
    unverified=(
        "whether target tracking's alarms need the caller's cloudwatch:PutMetricAlarm or "
        "only the service-linked role's (modelled: the caller's, as the prerequisites list)",
        "the alarms' names TargetTracking-<resource id>-AlarmHigh/AlarmLow-<uuid> (as the "
        "console and CLI show them; the resource form the caller's permission needs)",
    ),
)
def _scaling_policy(r: RecordedResource, v: ProgramView) -> list[Call]:
    target = v.find("aws:appautoscaling/target:Target", resourceId=value(r, "resourceId"))
    arn = (
        _scalable_target_arn(target, v)
        if target is not None
        else v.arn("application-autoscaling", "scalable-target/*")
    )
    calls = [c("application-autoscaling:PutScalingPolicy", arn, "scaling policy", _scaling_ctx(r))]
    # target tracking names its alarms TargetTracking-<resource id>-AlarmHigh|AlarmLow-<uuid>
    resource_id = value(r, "resourceId")
    alarms = f"alarm:TargetTracking-{resource_id}-*" if resource_id else "alarm:*"
    calls += [
        c(a, v.arn("cloudwatch", alarms), "target tracking creates its alarms")
        for a in ("cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms")
    ]
    return calls + reads("*", "application-autoscaling:DescribeScalingPolicies")


# --- Studio ---------------------------------------------------------------------------------------
def _domain_arn(r: RecordedResource, v: ProgramView) -> str:
    return v.arn("sagemaker", f"domain/{value(r, 'id') or v.physical_name(r)}")


def _settings_roles(*blocks: dict[str, Any]) -> list[str]:
    return list(dict.fromkeys(str(b["executionRole"]) for b in blocks if b.get("executionRole")))


def _domain_service(r: RecordedResource, v: ProgramView) -> list[ServiceCall]:
    out = slr(
        v,
        "sagemaker.amazonaws.com",
        "AWSServiceRoleForAmazonSageMakerNotebooks",
        "CreateDomain creates the Studio service-linked role as the caller",
    )
    key = v.key_arn(str(value(r, "kmsKeyId"))) if value(r, "kmsKeyId") else None
    why = (
        "home EFS volume encrypted with the domain key: a grant is created with the caller's "
        "credentials"
    )
    out += [
        ServiceCall(CALLER, x, "create")
        for x in grant_for_service(key, "elasticfilesystem", v, why)
    ]
    return out


@register(
    "aws:sagemaker/domain:Domain",
    arn=_domain_arn,
    service=_domain_service,
    name_field="domainName",
    source=(
        "SageMaker developer guide 'AmazonSageMakerNotebooks service-linked role' (created at "
        "CreateDomain; the SAR lists iam:CreateServiceLinkedRole as a dependent action)",
        "terraform-provider-aws internal/service/sagemaker/domain.go",
        SAR,
    ),
    unverified=(
        "which service (EFS via SageMaker) creates the home-volume key grant with the "
        "caller's credentials, and with what kms:ViaService",
    ),
)
def _domain(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = _domain_arn(r, v)
    ds = block(r, "domainSettings")
    ctx = {
        "sagemaker:AppNetworkAccessType": value(r, "appNetworkAccessType"),
        "sagemaker:VpcSubnets": strings(r.inputs.get("subnetIds")),
        "sagemaker:VpcSecurityGroupIds": strings(ds.get("securityGroupIds")),
    }
    calls = _sm_create(r, "sagemaker:CreateDomain", arn, "create the Studio domain", ctx)
    for role in _settings_roles(block(r, "defaultUserSettings"), block(r, "defaultSpaceSettings")):
        calls += pass_role(
            v.role_arn(role), "sagemaker.amazonaws.com", "default execution role of users / spaces"
        )
    return calls + reads(arn, "sagemaker:DescribeDomain", "sagemaker:ListTags")


def _profile_arn(r: RecordedResource, v: ProgramView) -> str:
    return v.arn("sagemaker", f"user-profile/{value(r, 'domainId')}/{v.physical_name(r).lower()}")


@register(
    "aws:sagemaker/userProfile:UserProfile",
    arn=_profile_arn,
    name_field="userProfileName",
    source=("terraform-provider-aws internal/service/sagemaker/user_profile.go", SAR),
)
def _profile(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = _profile_arn(r, v)
    us = block(r, "userSettings")
    ctx = {"sagemaker:VpcSecurityGroupIds": strings(us.get("securityGroups"))}
    calls = _sm_create(r, "sagemaker:CreateUserProfile", arn, "create the user profile", ctx)
    for role in _settings_roles(us):
        calls += pass_role(v.role_arn(role), "sagemaker.amazonaws.com", "the user's execution role")
    return calls + reads(arn, "sagemaker:DescribeUserProfile", "sagemaker:ListTags")


# --- registry ------------------------------------------------------------------------------------
@register(
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup",
    arn=_named("model-package-group"),
    name_field="modelPackageGroupName",
    source=(
        SM_ARNS,
        "terraform-provider-aws internal/service/sagemaker/model_package_group.go",
        SAR,
    ),
)
def _group(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = sm_arn(v, "model-package-group", v.physical_name(r))
    calls = _sm_create(
        r, "sagemaker:CreateModelPackageGroup", arn, "create the model package group"
    )
    return calls + reads(arn, "sagemaker:DescribeModelPackageGroup", "sagemaker:ListTags")


@register(
    "aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy",
    principals=lambda r: policy_principals(r.inputs.get("resourcePolicy")),
    source=("terraform-provider-aws internal/service/sagemaker/model_package_group_policy.go", SAR),
)
def _group_policy(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = sm_arn(v, "model-package-group", str(value(r, "modelPackageGroupName")))
    return [
        c("sagemaker:PutModelPackageGroupPolicy", arn, "cross-account registry policy"),
        *reads(arn, "sagemaker:GetModelPackageGroupPolicy"),
    ]


@register(
    "aws:sagemaker/servicecatalogPortfolioStatus:ServicecatalogPortfolioStatus",
    source=(
        "terraform-provider-aws internal/service/sagemaker/servicecatalog_portfolio_status.go",
        SAR,
    ),
    unverified=(
        "the Service Catalog permissions SageMaker uses as the caller to import the "
        "SageMaker Projects portfolio (servicecatalog:AcceptPortfolioShare, "
        "AssociatePrincipalWithPortfolio)",
    ),
)
def _portfolio_status(r: RecordedResource, v: ProgramView) -> list[Call]:
    enabled = value(r, "status") == "Enabled"
    action = (
        "sagemaker:EnableSagemakerServicecatalogPortfolio"
        if enabled
        else "sagemaker:DisableSagemakerServicecatalogPortfolio"
    )
    calls = [c(action, "*", "SageMaker Projects portfolio")]
    if enabled:
        calls += [
            c(
                "servicecatalog:AcceptPortfolioShare",
                v.arn("catalog", "portfolio/*"),
                "SageMaker imports its Projects portfolio as the caller",
            ),
            c(
                "servicecatalog:AssociatePrincipalWithPortfolio",
                v.arn("catalog", "portfolio/*"),
                "SageMaker associates the caller",
            ),
        ]
    return calls + reads("*", "sagemaker:GetSagemakerServicecatalogPortfolioStatus")


# --- Model Monitor --------------------------------------------------------------------------------
def _monitor_service(r: RecordedResource, v: ProgramView) -> list[ServiceCall]:
    role = v.role_arn(str(value(r, "roleArn"))) if value(r, "roleArn") else None
    out = assume(
        "sagemaker.amazonaws.com",
        role,
        "each monitoring job runs as the job definition's role",
        "runtime",
    )
    cluster = sub(block(r, "jobResources"), "clusterConfig")
    key = v.key_arn(str(cluster.get("volumeKmsKeyId"))) if cluster.get("volumeKmsKeyId") else None
    why = "job volume key: SageMaker creates a grant for the job's volumes"
    out += as_role(role, grant_for_service(key, "sagemaker", v, why), "runtime")
    net = block(r, "networkConfig")
    if isinstance(net.get("vpcConfig"), dict):
        out += as_role(
            role, [c(a, eni(v, a), "monitoring job in the VPC") for a in VPC_ACTIONS], "runtime"
        )
    return out


def _job_definition(kind: str, action: str, prefix: str):
    def fn(r: RecordedResource, v: ProgramView) -> list[Call]:
        arn = sm_arn(v, kind, v.physical_name(r))
        net = block(r, "networkConfig")
        out = block(r, f"{prefix}JobOutputConfig")
        cluster = sub(block(r, "jobResources"), "clusterConfig")
        ctx = {
            "sagemaker:NetworkIsolation": bool(net.get("enableNetworkIsolation", False)),
            "sagemaker:InterContainerTrafficEncryption": bool(
                net.get("enableInterContainerTrafficEncryption", False)
            ),
            "sagemaker:OutputKmsKey": v.key_arn(str(out.get("kmsKeyId")))
            if out.get("kmsKeyId")
            else None,
            "sagemaker:VolumeKmsKey": v.key_arn(str(cluster.get("volumeKmsKeyId")))
            if cluster.get("volumeKmsKeyId")
            else None,
            "sagemaker:InstanceTypes": strings(cluster.get("instanceType")),
            **(_vpc_ctx(net["vpcConfig"]) if isinstance(net.get("vpcConfig"), dict) else {}),
        }
        role = v.role_arn(str(value(r, "roleArn"))) if value(r, "roleArn") else None
        calls = _sm_create(r, action, arn, "create the job definition", ctx)
        calls += pass_role(role, "sagemaker.amazonaws.com")
        describe = action.replace("Create", "Describe")
        return calls + reads(arn, describe, "sagemaker:ListTags")

    return fn


register(
    "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition",
    arn=_named("data-quality-job-definition"),
    service=_monitor_service,
    source=(
        "terraform-provider-aws internal/service/sagemaker/data_quality_job_definition.go",
        VPC_ROLE,
        SAR,
    ),
    unverified=("that monitoring jobs create their volume-key grant with the job role",),
)(
    _job_definition(
        "data-quality-job-definition", "sagemaker:CreateDataQualityJobDefinition", "dataQuality"
    )
)


@register(
    "aws:sagemaker/monitoringSchedule:MonitoringSchedule",
    arn=_named("monitoring-schedule"),
    source=("terraform-provider-aws internal/service/sagemaker/monitoring_schedule.go", SAR),
)
def _schedule(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = sm_arn(v, "monitoring-schedule", v.physical_name(r))
    cfg = block(r, "monitoringScheduleConfig")
    job = v.find(
        "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition",
        name=cfg.get("monitoringJobDefinitionName"),
    )
    calls = _sm_create(r, "sagemaker:CreateMonitoringSchedule", arn, "create the schedule")
    if job is not None and value(job, "roleArn"):
        calls += pass_role(
            v.role_arn(str(value(job, "roleArn"))),
            "sagemaker.amazonaws.com",
            "the job definition's role",
        )
    return calls + reads(arn, "sagemaker:DescribeMonitoringSchedule", "sagemaker:ListTags")
