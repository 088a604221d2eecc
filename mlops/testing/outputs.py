"""Provider-computed outputs in the shapes AWS and pulumi-aws return them.

What the real provider adds to a resource's state on create: ids (``vpc-0…`` with 17 hex digits,
API Gateway's 10-character ids, KMS key UUIDs, ``AROA…`` role ids), ARNs in each service's own
format (SageMaker lower-cases names; Secrets Manager appends 6 random characters; log group ARNs
carry no ``:*`` since pulumi-aws 6), invoke URLs, endpoint DNS entries, prefix lists and network
interfaces. Everything is deterministic: a crc32 of (stack, URN, purpose), never Python's salted
``hash``, so previews and tests are reproducible.
"""

from __future__ import annotations

import string
import zlib
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

GLOBAL_SERVICES = frozenset({"iam", "organizations", "cloudfront", "route53"})

_B36 = string.digits + string.ascii_lowercase
_UPPER = string.ascii_uppercase + string.digits


def digest_hex(seed: str, length: int) -> str:
    """Deterministic lowercase hex of any length (crc32 chained over a counter)."""
    out, i = "", 0
    while len(out) < length:
        out += f"{zlib.crc32(f'{i}|{seed}'.encode()):08x}"
        i += 1
    return out[:length]


def _chars(seed: str, length: int, alphabet: str) -> str:
    n = int(digest_hex(seed, 2 * length + 8), 16)
    out = []
    for _ in range(length):
        n, r = divmod(n, len(alphabet))
        out.append(alphabet[r])
    return "".join(out)


def prefix_list_id(region: str, service: str) -> str:
    """The AWS-managed prefix list of a gateway service (same for the endpoint and the lookup)."""
    return "pl-" + digest_hex(f"prefix-list|{region}|{service}", 8)


@dataclass
class Ctx:
    """One resource as the provider sees it on create."""

    typ: str
    name: str
    inputs: dict[str, Any]
    urn: str
    stack: str
    account: str
    region: str
    physical: str | None
    index: MutableMapping[str, dict[str, Any]]
    """Recorded states by id (lookups such as a subnet's VPC or a resource's parent path)."""

    def hex(self, length: int, purpose: str = "") -> str:
        return digest_hex(f"{self.stack}|{self.urn}|{purpose}", length)

    def ec2_id(self, prefix: str, purpose: str = "") -> str:
        return f"{prefix}-0{self.hex(16, purpose or prefix)}"

    def b36(self, length: int, purpose: str = "") -> str:
        return _chars(f"{self.stack}|{self.urn}|{purpose}", length, _B36)

    def upper(self, length: int, purpose: str = "") -> str:
        return _chars(f"{self.stack}|{self.urn}|{purpose}", length, _UPPER)

    def uuid(self, purpose: str = "") -> str:
        h = self.hex(32, purpose or "uuid")
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True):
        reg = self.region if region else ""
        acct = self.account if account else ""
        return f"arn:aws:{service}:{reg}:{acct}:{resource}"

    @property
    def pname(self) -> str:
        return self.physical or self.name


Computed = Callable[[Ctx], dict[str, Any]]
_REGISTRY: dict[str, Computed] = {}


def _for(*types: str) -> Callable[[Computed], Computed]:
    def register(fn: Computed) -> Computed:
        for t in types:
            _REGISTRY[t] = fn
        return fn

    return register


def computed(ctx: Ctx) -> dict[str, Any]:
    """Outputs the provider adds for this resource (id included); the caller merges the inputs."""
    fn = _REGISTRY.get(ctx.typ)
    if fn is not None:
        return fn(ctx)
    return _generic(ctx)


def _service(typ: str) -> str:
    pkg, _, rest = typ.partition(":")
    return rest.split("/")[0] if "/" in rest else pkg


def _generic(c: Ctx) -> dict[str, Any]:
    kind = c.typ.rsplit(":", 1)[-1]
    kind = kind[0].lower() + kind[1:]
    return {
        "id": c.physical or f"{c.name}-{c.hex(8)}",
        "arn": c.arn(_service(c.typ), f"{kind}/{c.pname}"),
    }


# --- EC2 / VPC --------------------------------------------------------------------------------
@_for("aws:ec2/vpc:Vpc")
def _vpc(c: Ctx) -> dict[str, Any]:
    vid = c.ec2_id("vpc")
    return {
        "id": vid,
        "arn": c.arn("ec2", f"vpc/{vid}"),
        "ownerId": c.account,
        "defaultSecurityGroupId": c.ec2_id("sg", "default-sg"),
        "defaultRouteTableId": c.ec2_id("rtb", "main-rtb"),
        "mainRouteTableId": c.ec2_id("rtb", "main-rtb"),
        "defaultNetworkAclId": c.ec2_id("acl", "default-acl"),
        "dhcpOptionsId": c.ec2_id("dopt"),
    }


def _ec2(prefix: str, kind: str) -> Computed:
    def fn(c: Ctx) -> dict[str, Any]:
        rid = c.ec2_id(prefix)
        return {"id": rid, "arn": c.arn("ec2", f"{kind}/{rid}"), "ownerId": c.account}

    return fn


_for("aws:ec2/subnet:Subnet")(_ec2("subnet", "subnet"))
_for("aws:ec2/routeTable:RouteTable")(_ec2("rtb", "route-table"))
_for("aws:ec2/internetGateway:InternetGateway")(_ec2("igw", "internet-gateway"))
_for("aws:ec2/natGateway:NatGateway")(_ec2("nat", "natgateway"))
_for("aws:ec2/flowLog:FlowLog")(_ec2("fl", "vpc-flow-log"))


@_for("aws:ec2/securityGroup:SecurityGroup")
def _sg(c: Ctx) -> dict[str, Any]:
    sid = c.ec2_id("sg")
    return {"id": sid, "arn": c.arn("ec2", f"security-group/{sid}"), "ownerId": c.account}


@_for("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
def _default_sg(c: Ctx) -> dict[str, Any]:
    vpc = c.index.get(str(c.inputs.get("vpcId")), {})
    sid = vpc.get("defaultSecurityGroupId") or c.ec2_id("sg")
    return {"id": sid, "arn": c.arn("ec2", f"security-group/{sid}"), "name": "default",
            "ownerId": c.account}  # fmt: skip


@_for("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
      "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")  # fmt: skip
def _sg_rule(c: Ctx) -> dict[str, Any]:
    rid = c.ec2_id("sgr")
    return {
        "id": rid,
        "securityGroupRuleId": rid,
        "arn": c.arn("ec2", f"security-group-rule/{rid}"),
    }


@_for("aws:ec2/routeTableAssociation:RouteTableAssociation")
def _rtb_assoc(c: Ctx) -> dict[str, Any]:
    return {"id": c.ec2_id("rtbassoc")}


@_for("aws:ec2/route:Route")
def _route(c: Ctx) -> dict[str, Any]:
    dest = c.inputs.get("destinationCidrBlock") or c.inputs.get("destinationPrefixListId") or ""
    return {"id": f"r-{c.inputs.get('routeTableId')}{zlib.crc32(str(dest).encode())}",
            "origin": "CreateRoute", "state": "active"}  # fmt: skip


@_for("aws:ec2/eip:Eip")
def _eip(c: Ctx) -> dict[str, Any]:
    h = c.hex(6, "ip")
    ip = f"18.{int(h[:2], 16)}.{int(h[2:4], 16)}.{int(h[4:6], 16) or 1}"
    aid = c.ec2_id("eipalloc")
    return {"id": aid, "allocationId": aid, "publicIp": ip, "domain": "vpc",
            "arn": c.arn("ec2", f"elastic-ip/{aid}")}  # fmt: skip


def _endpoint_service(service_name: str, region: str) -> str:
    """``com.amazonaws.<region>.sagemaker.api`` -> ``sagemaker.api``."""
    marker = f".{region}."
    return service_name.split(marker, 1)[1] if marker in service_name else service_name


def _private_dns(service: str, service_name: str, region: str) -> str:
    if service_name.startswith("aws.sagemaker."):  # Studio: aws.sagemaker.<region>.studio
        return f"{service}.{region}.sagemaker.aws"
    head, _, tail = service.partition(".")
    if tail in ("api", "runtime", "dkr") and head in ("sagemaker", "ecr"):
        return f"{tail}.{head}.{region}.amazonaws.com"
    if service == "codeartifact.repositories":
        return f"*.d.codeartifact.{region}.amazonaws.com"
    if service == "codeartifact.api":
        return f"codeartifact.{region}.amazonaws.com"
    return f"{service.replace('.api', '')}.{region}.amazonaws.com"


@_for("aws:ec2/vpcEndpoint:VpcEndpoint")
def _vpc_endpoint(c: Ctx) -> dict[str, Any]:
    vid = c.ec2_id("vpce")
    service_name = str(c.inputs.get("serviceName", ""))
    service = _endpoint_service(service_name, c.region)
    kind = c.inputs.get("vpcEndpointType") or "Gateway"
    out: dict[str, Any] = {
        "id": vid,
        "arn": c.arn("ec2", f"vpc-endpoint/{vid}"),
        "ownerId": c.account,
        "state": "available",
        "requesterManaged": False,
        "vpcEndpointType": kind,
    }
    if kind == "Gateway":
        out.update(prefixListId=prefix_list_id(c.region, service), cidrBlocks=[],
                   dnsEntries=[], networkInterfaceIds=[])  # fmt: skip
        return out
    subnets = list(c.inputs.get("subnetIds") or [])
    tail = c.hex(8, "dns")
    zone = "Z" + c.upper(13, "zone")
    entries = [{"dnsName": f"{vid}-{tail}.{service}.{c.region}.vpce.amazonaws.com",
                "hostedZoneId": zone}]  # fmt: skip
    for i, _ in enumerate(subnets):
        az = f"{c.region}{'abcdef'[i % 6]}"
        entries.append({"dnsName": f"{vid}-{tail}-{az}.{service}.{c.region}.vpce.amazonaws.com",
                        "hostedZoneId": zone})  # fmt: skip
    if c.inputs.get("privateDnsEnabled"):
        entries.append({"dnsName": _private_dns(service, service_name, c.region),
                        "hostedZoneId": "Z" + c.upper(13, "private-zone")})  # fmt: skip
    out.update(
        dnsEntries=entries,
        networkInterfaceIds=[c.ec2_id("eni", f"eni-{s}") for s in subnets],
        prefixListId="",
        cidrBlocks=[],
    )
    return out


# --- IAM ----------------------------------------------------------------------------------------
def _iam_path(c: Ctx) -> str:
    path = str(c.inputs.get("path") or "/")
    return path if path.endswith("/") else path + "/"


@_for("aws:iam/role:Role")
def _role(c: Ctx) -> dict[str, Any]:
    return {"id": c.pname, "arn": c.arn("iam", f"role{_iam_path(c)}{c.pname}", region=False),
            "uniqueId": "AROA" + c.upper(17, "unique"), "path": _iam_path(c),
            "createDate": "2026-01-01T00:00:00Z"}  # fmt: skip


@_for("aws:iam/policy:Policy")
def _policy(c: Ctx) -> dict[str, Any]:
    arn = c.arn("iam", f"policy{_iam_path(c)}{c.pname}", region=False)
    return {"id": arn, "arn": arn, "policyId": "ANPA" + c.upper(17, "policy"),
            "path": _iam_path(c), "attachmentCount": 0}  # fmt: skip


@_for("aws:iam/instanceProfile:InstanceProfile")
def _instance_profile(c: Ctx) -> dict[str, Any]:
    arn = c.arn("iam", f"instance-profile{_iam_path(c)}{c.pname}", region=False)
    return {"id": c.pname, "arn": arn, "uniqueId": "AIPA" + c.upper(17, "unique")}


@_for("aws:iam/rolePolicy:RolePolicy")
def _role_policy(c: Ctx) -> dict[str, Any]:
    return {"id": f"{c.inputs.get('role')}:{c.pname}"}


@_for("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
def _attachment(c: Ctx) -> dict[str, Any]:
    return {"id": f"{c.inputs.get('role')}-{c.hex(26, 'attach')}"}


# --- KMS ----------------------------------------------------------------------------------------
@_for("aws:kms/key:Key")
def _key(c: Ctx) -> dict[str, Any]:
    key_id = c.uuid("key")
    return {"id": key_id, "keyId": key_id, "arn": c.arn("kms", f"key/{key_id}")}


@_for("aws:kms/alias:Alias")
def _alias(c: Ctx) -> dict[str, Any]:
    target = str(c.inputs.get("targetKeyId", ""))
    key_arn = target if target.startswith("arn:") else c.arn("kms", f"key/{target}")
    return {"id": c.pname, "arn": c.arn("kms", c.pname), "targetKeyArn": key_arn}


@_for("aws:kms/grant:Grant")
def _grant(c: Ctx) -> dict[str, Any]:
    gid = c.hex(64, "grant")
    return {"id": f"{c.inputs.get('keyId')}:{gid}", "grantId": gid, "grantToken": c.hex(64, "t")}


# --- S3 -----------------------------------------------------------------------------------------
@_for("aws:s3/bucket:Bucket")
def _bucket(c: Ctx) -> dict[str, Any]:
    b = c.pname
    return {"id": b, "bucket": b, "arn": f"arn:aws:s3:::{b}", "region": c.region,
            "bucketDomainName": f"{b}.s3.amazonaws.com",
            "bucketRegionalDomainName": f"{b}.s3.{c.region}.amazonaws.com",
            "hostedZoneId": "Z" + c.upper(13, "s3-zone")}  # fmt: skip


def _by_bucket(c: Ctx) -> dict[str, Any]:
    return {"id": str(c.inputs.get("bucket", c.name))}


for _t in ("BucketLifecycleConfiguration", "BucketLogging", "BucketNotification",
           "BucketObjectLockConfiguration", "BucketOwnershipControls", "BucketPolicy",
           "BucketPublicAccessBlock", "BucketServerSideEncryptionConfiguration",
           "BucketVersioning"):  # fmt: skip
    _for(f"aws:s3/{_t[0].lower()}{_t[1:]}:{_t}")(_by_bucket)


@_for("aws:s3/bucketObjectv2:BucketObjectv2")
def _object(c: Ctx) -> dict[str, Any]:
    return {"id": c.pname, "key": c.pname, "etag": c.hex(32, "etag"),
            "versionId": c.b36(32, "version")}  # fmt: skip


# --- CloudWatch Logs / metrics / EventBridge ------------------------------------------------------
@_for("aws:cloudwatch/logGroup:LogGroup")
def _log_group(c: Ctx) -> dict[str, Any]:
    return {"id": c.pname, "arn": c.arn("logs", f"log-group:{c.pname}")}


@_for("aws:cloudwatch/logStream:LogStream")
def _log_stream(c: Ctx) -> dict[str, Any]:
    group = c.inputs.get("logGroupName")
    return {"id": c.pname, "arn": c.arn("logs", f"log-group:{group}:log-stream:{c.pname}")}


@_for("aws:cloudwatch/logMetricFilter:LogMetricFilter")
def _metric_filter(c: Ctx) -> dict[str, Any]:
    return {"id": c.pname}


@_for("aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter")
def _subscription(c: Ctx) -> dict[str, Any]:
    group = c.inputs.get("logGroup")
    return {"id": f"cwlsf-{zlib.crc32(f'{c.pname}{group}'.encode())}"}


@_for("aws:cloudwatch/metricAlarm:MetricAlarm")
def _alarm(c: Ctx) -> dict[str, Any]:
    return {"id": c.pname, "arn": c.arn("cloudwatch", f"alarm:{c.pname}")}


@_for("aws:cloudwatch/eventRule:EventRule")
def _event_rule(c: Ctx) -> dict[str, Any]:
    bus = c.inputs.get("eventBusName") or "default"
    path = c.pname if bus == "default" else f"{bus}/{c.pname}"
    return {"id": path, "arn": c.arn("events", f"rule/{path}")}


@_for("aws:cloudwatch/eventTarget:EventTarget")
def _event_target(c: Ctx) -> dict[str, Any]:
    return {"id": f"{c.inputs.get('rule')}-{c.pname}"}


@_for("aws:cloudwatch/eventBus:EventBus")
def _event_bus(c: Ctx) -> dict[str, Any]:
    return {"id": c.pname, "arn": c.arn("events", f"event-bus/{c.pname}")}


# --- Lambda, Step Functions, API Gateway ----------------------------------------------------------
@_for("aws:lambda/function:Function")
def _function(c: Ctx) -> dict[str, Any]:
    arn = c.arn("lambda", f"function:{c.pname}")
    invoke = f"arn:aws:apigateway:{c.region}:lambda:path/2015-03-31/functions/{arn}/invocations"
    return {"id": c.pname, "arn": arn, "invokeArn": invoke, "qualifiedArn": f"{arn}:$LATEST",
            "qualifiedInvokeArn": invoke.replace(arn, f"{arn}:$LATEST"), "version": "$LATEST",
            "lastModified": "2026-01-01T00:00:00.000+0000",
            "sourceCodeHash": c.hex(44, "code")}  # fmt: skip


@_for("aws:lambda/layerVersion:LayerVersion")
def _layer_version(c: Ctx) -> dict[str, Any]:
    # a layer version's ARN is the layer's ARN and the version: ...:layer:<name>:<version>
    layer = c.arn("lambda", f"layer:{c.inputs.get('layerName') or c.pname}")
    return {"id": f"{layer}:1", "arn": f"{layer}:1", "layerArn": layer, "version": "1",
            "createdDate": "2026-01-01T00:00:00.000+0000"}  # fmt: skip


@_for("aws:lambda/permission:Permission")
def _permission(c: Ctx) -> dict[str, Any]:
    return {"id": c.pname}


@_for("aws:sfn/stateMachine:StateMachine")
def _state_machine(c: Ctx) -> dict[str, Any]:
    arn = c.arn("states", f"stateMachine:{c.pname}")
    return {"id": arn, "arn": arn, "status": "ACTIVE", "revisionId": c.uuid("revision"),
            "stateMachineVersionArn": ""}  # fmt: skip


@_for("aws:apigateway/restApi:RestApi")
def _rest_api(c: Ctx) -> dict[str, Any]:
    api_id, root = c.b36(10, "api"), c.b36(10, "root")
    c.index[root] = {"id": root, "path": "/", "restApi": api_id}
    return {"id": api_id, "rootResourceId": root,
            "arn": f"arn:aws:apigateway:{c.region}::/restapis/{api_id}",
            "executionArn": c.arn("execute-api", api_id),
            "createdDate": "2026-01-01T00:00:00Z"}  # fmt: skip


@_for("aws:apigateway/resource:Resource")
def _api_resource(c: Ctx) -> dict[str, Any]:
    parent = c.index.get(str(c.inputs.get("parentId")), {})
    base = str(parent.get("path", "/"))
    part = str(c.inputs.get("pathPart", ""))
    return {"id": c.b36(6, "resource"), "path": (base.rstrip("/") + "/" + part) or "/"}


@_for("aws:apigateway/deployment:Deployment")
def _deployment(c: Ctx) -> dict[str, Any]:
    return {"id": c.b36(6, "deployment"), "createdDate": "2026-01-01T00:00:00Z"}


@_for("aws:apigateway/stage:Stage")
def _stage(c: Ctx) -> dict[str, Any]:
    api, stage = c.inputs.get("restApi"), c.inputs.get("stageName")
    return {"id": f"ags-{api}-{stage}",
            "arn": f"arn:aws:apigateway:{c.region}::/restapis/{api}/stages/{stage}",
            "executionArn": c.arn("execute-api", f"{api}/{stage}"),
            "invokeUrl": f"https://{api}.execute-api.{c.region}.amazonaws.com/{stage}"}  # fmt: skip


@_for("aws:apigateway/method:Method")
def _method(c: Ctx) -> dict[str, Any]:
    i = c.inputs
    return {"id": f"agm-{i.get('restApi')}-{i.get('resourceId')}-{i.get('httpMethod')}"}


@_for("aws:apigateway/integration:Integration")
def _integration(c: Ctx) -> dict[str, Any]:
    i = c.inputs
    return {"id": f"agi-{i.get('restApi')}-{i.get('resourceId')}-{i.get('httpMethod')}"}


@_for("aws:apigateway/methodResponse:MethodResponse",
      "aws:apigateway/integrationResponse:IntegrationResponse")  # fmt: skip
def _responses(c: Ctx) -> dict[str, Any]:
    i = c.inputs
    kind = "agmr" if c.typ.endswith("MethodResponse") else "agir"
    return {"id": f"{kind}-{i.get('restApi')}-{i.get('resourceId')}-{i.get('httpMethod')}-"
                  f"{i.get('statusCode')}"}  # fmt: skip


@_for("aws:apigateway/model:Model")
def _api_model(c: Ctx) -> dict[str, Any]:
    return {"id": c.b36(6, "model")}


@_for("aws:apigateway/requestValidator:RequestValidator")
def _validator(c: Ctx) -> dict[str, Any]:
    return {"id": c.b36(6, "validator")}


@_for("aws:apigateway/response:Response")
def _gateway_response(c: Ctx) -> dict[str, Any]:
    return {"id": f"aggr-{c.inputs.get('restApiId')}-{c.inputs.get('responseType')}"}


@_for("aws:apigateway/restApiPolicy:RestApiPolicy")
def _api_policy(c: Ctx) -> dict[str, Any]:
    return {"id": str(c.inputs.get("restApiId"))}


@_for("aws:apigateway/methodSettings:MethodSettings")
def _method_settings(c: Ctx) -> dict[str, Any]:
    i = c.inputs
    return {"id": f"{i.get('restApi')}-{i.get('stageName')}-{i.get('methodPath')}"}


@_for("aws:apigateway/account:Account")
def _api_account(c: Ctx) -> dict[str, Any]:
    return {"id": "api-gateway-account", "throttleSettings": [{"burstLimit": 5000,
            "rateLimit": 10000}]}  # fmt: skip


# --- SageMaker ------------------------------------------------------------------------------------
def _sagemaker(kind: str, name_input: str | None = None) -> Computed:
    def fn(c: Ctx) -> dict[str, Any]:
        n = str(c.inputs.get(name_input) if name_input else c.pname)
        return {"id": n, "arn": c.arn("sagemaker", f"{kind}/{n.lower()}")}

    return fn


_for("aws:sagemaker/model:Model")(_sagemaker("model"))
_for("aws:sagemaker/endpointConfiguration:EndpointConfiguration")(_sagemaker("endpoint-config"))
_for("aws:sagemaker/endpoint:Endpoint")(_sagemaker("endpoint"))
_for("aws:sagemaker/modelPackageGroup:ModelPackageGroup")(
    _sagemaker("model-package-group", "modelPackageGroupName")
)
_for("aws:sagemaker/pipeline:Pipeline")(_sagemaker("pipeline", "pipelineName"))
_for("aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition")(
    _sagemaker("data-quality-job-definition")
)
_for("aws:sagemaker/monitoringSchedule:MonitoringSchedule")(_sagemaker("monitoring-schedule"))


@_for("aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy")
def _mpg_policy(c: Ctx) -> dict[str, Any]:
    return {"id": str(c.inputs.get("modelPackageGroupName"))}


@_for("aws:sagemaker/domain:Domain")
def _domain(c: Ctx) -> dict[str, Any]:
    did = "d-" + c.b36(12, "domain")
    return {"id": did, "arn": c.arn("sagemaker", f"domain/{did}"),
            "url": f"https://{did}.studio.{c.region}.sagemaker.aws",
            "homeEfsFileSystemId": c.ec2_id("fs"),
            "securityGroupIdForDomainBoundary": c.ec2_id("sg", "boundary"),
            "singleSignOnManagedApplicationInstanceId": ""}  # fmt: skip


@_for("aws:sagemaker/userProfile:UserProfile")
def _user_profile(c: Ctx) -> dict[str, Any]:
    domain, user = c.inputs.get("domainId"), c.inputs.get("userProfileName")
    return {"id": c.arn("sagemaker", f"user-profile/{domain}/{user}"),
            "arn": c.arn("sagemaker", f"user-profile/{domain}/{user}"),
            "homeEfsFileSystemUid": str(200000 + zlib.crc32(c.urn.encode()) % 100000)}  # fmt: skip


@_for("aws:sagemaker/servicecatalogPortfolioStatus:ServicecatalogPortfolioStatus")
def _portfolio_status(c: Ctx) -> dict[str, Any]:
    return {"id": c.region}


# --- SNS, SQS, Firehose, SSM, Secrets Manager -----------------------------------------------------
@_for("aws:sns/topic:Topic")
def _topic(c: Ctx) -> dict[str, Any]:
    arn = c.arn("sns", c.pname)
    return {"id": arn, "arn": arn, "owner": c.account}


@_for("aws:sns/topicSubscription:TopicSubscription")
def _subscription_sns(c: Ctx) -> dict[str, Any]:
    arn = f"{c.inputs.get('topic')}:{c.uuid('subscription')}"
    return {"id": arn, "arn": arn, "ownerId": c.account, "confirmationWasAuthenticated": True}


@_for("aws:sns/topicPolicy:TopicPolicy")
def _topic_policy(c: Ctx) -> dict[str, Any]:
    return {"id": str(c.inputs.get("arn")), "owner": c.account}


@_for("aws:sqs/queue:Queue")
def _queue(c: Ctx) -> dict[str, Any]:
    url = f"https://sqs.{c.region}.amazonaws.com/{c.account}/{c.pname}"
    return {"id": url, "url": url, "arn": c.arn("sqs", c.pname)}


@_for("aws:sqs/queuePolicy:QueuePolicy")
def _queue_policy(c: Ctx) -> dict[str, Any]:
    return {"id": str(c.inputs.get("queueUrl"))}


@_for("aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream")
def _firehose(c: Ctx) -> dict[str, Any]:
    arn = c.arn("firehose", f"deliverystream/{c.pname}")
    return {"id": arn, "arn": arn, "versionId": "1"}


@_for("aws:ssm/parameter:Parameter")
def _parameter(c: Ctx) -> dict[str, Any]:
    n = c.pname
    return {"id": n, "arn": c.arn("ssm", f"parameter{n if n.startswith('/') else '/' + n}"),
            "version": 1, "tier": c.inputs.get("tier") or "Standard"}  # fmt: skip


@_for("aws:secretsmanager/secret:Secret")
def _secret(c: Ctx) -> dict[str, Any]:
    arn = c.arn("secretsmanager", f"secret:{c.pname}-{_chars(c.urn, 6, string.ascii_letters)}")
    return {"id": arn, "arn": arn}


@_for("aws:secretsmanager/secretPolicy:SecretPolicy")
def _secret_policy(c: Ctx) -> dict[str, Any]:
    return {"id": str(c.inputs.get("secretArn"))}


# --- Code*, ECR -----------------------------------------------------------------------------
@_for("aws:codebuild/project:Project")
def _codebuild(c: Ctx) -> dict[str, Any]:
    arn = c.arn("codebuild", f"project/{c.pname}")
    return {"id": arn, "arn": arn, "badgeUrl": ""}


@_for("aws:codepipeline/pipeline:Pipeline")
def _codepipeline(c: Ctx) -> dict[str, Any]:
    return {"id": c.pname, "arn": c.arn("codepipeline", c.pname)}


@_for("aws:codecommit/repository:Repository")
def _codecommit(c: Ctx) -> dict[str, Any]:
    repo = str(c.inputs.get("repositoryName"))
    host = f"git-codecommit.{c.region}.amazonaws.com/v1/repos/{repo}"
    return {"id": repo, "arn": c.arn("codecommit", repo), "repositoryId": c.uuid("repo"),
            "cloneUrlHttp": f"https://{host}", "cloneUrlSsh": f"ssh://{host}"}  # fmt: skip


@_for("aws:codestarconnections/connection:Connection")
def _connection(c: Ctx) -> dict[str, Any]:
    arn = c.arn("codeconnections", f"connection/{c.uuid('connection')}")
    return {"id": arn, "arn": arn, "connectionStatus": "PENDING"}


@_for("aws:codeartifact/domain:Domain")
def _ca_domain(c: Ctx) -> dict[str, Any]:
    arn = c.arn("codeartifact", f"domain/{c.inputs.get('domain')}")
    return {
        "id": arn,
        "arn": arn,
        "owner": c.account,
        "s3BucketArn": f"arn:aws:s3:::assets-{c.hex(12)}",
    }


@_for("aws:codeartifact/repository:Repository")
def _ca_repo(c: Ctx) -> dict[str, Any]:
    arn = c.arn("codeartifact", f"repository/{c.inputs.get('domain')}/{c.inputs.get('repository')}")
    return {"id": arn, "arn": arn, "administratorAccount": c.account,
            "domainOwner": c.inputs.get("domainOwner") or c.account}  # fmt: skip


@_for("aws:ecr/repository:Repository")
def _ecr(c: Ctx) -> dict[str, Any]:
    return {"id": c.pname, "arn": c.arn("ecr", f"repository/{c.pname}"), "registryId": c.account,
            "repositoryUrl": f"{c.account}.dkr.ecr.{c.region}.amazonaws.com/{c.pname}"}  # fmt: skip


@_for("aws:ecr/repositoryPolicy:RepositoryPolicy")
def _ecr_policy(c: Ctx) -> dict[str, Any]:
    return {"id": str(c.inputs.get("repository")), "registryId": c.account}


# --- audit and governance services ----------------------------------------------------------
@_for("aws:cloudtrail/trail:Trail")
def _trail(c: Ctx) -> dict[str, Any]:
    arn = c.arn("cloudtrail", f"trail/{c.pname}")
    return {"id": arn, "arn": arn, "homeRegion": c.region}


@_for("aws:cfg/recorder:Recorder", "aws:cfg/deliveryChannel:DeliveryChannel",
      "aws:cfg/recorderStatus:RecorderStatus")  # fmt: skip
def _config(c: Ctx) -> dict[str, Any]:
    return {"id": c.pname}


@_for("aws:cfg/rule:Rule")
def _config_rule(c: Ctx) -> dict[str, Any]:
    rule_id = "config-rule-" + c.b36(6, "rule")
    return {"id": c.pname, "ruleId": rule_id, "arn": c.arn("config", f"config-rule/{rule_id}")}


@_for("aws:guardduty/detector:Detector")
def _detector(c: Ctx) -> dict[str, Any]:
    did = c.hex(32, "detector")
    return {"id": did, "arn": c.arn("guardduty", f"detector/{did}"), "accountId": c.account}


@_for("aws:guardduty/detectorFeature:DetectorFeature")
def _detector_feature(c: Ctx) -> dict[str, Any]:
    return {"id": f"{c.inputs.get('detectorId')}/{c.pname}"}


@_for("aws:inspector2/enabler:Enabler")
def _enabler(c: Ctx) -> dict[str, Any]:
    accounts = "_".join(c.inputs.get("accountIds") or [c.account])
    types = "_".join(c.inputs.get("resourceTypes") or [])
    return {"id": f"{accounts}-{types}"}


# --- Service Catalog, autoscaling ----------------------------------------------------------------
def _catalog(prefix: str, kind: str | None) -> Computed:
    def fn(c: Ctx) -> dict[str, Any]:
        rid = f"{prefix}-{c.b36(13, prefix)}"
        out: dict[str, Any] = {"id": rid}
        if kind:
            out["arn"] = c.arn("catalog", f"{kind}/{rid}")
        return out

    return fn


_for("aws:servicecatalog/portfolio:Portfolio")(_catalog("port", "portfolio"))
_for("aws:servicecatalog/product:Product")(_catalog("prod", "product"))
_for("aws:servicecatalog/constraint:Constraint")(_catalog("cons", None))


@_for("aws:servicecatalog/principalPortfolioAssociation:PrincipalPortfolioAssociation",
      "aws:servicecatalog/productPortfolioAssociation:ProductPortfolioAssociation")  # fmt: skip
def _catalog_association(c: Ctx) -> dict[str, Any]:
    i = c.inputs
    other = i.get("principalArn") or i.get("productId")
    return {"id": f"en,{i.get('portfolioId')},{other}"}


@_for("aws:appautoscaling/target:Target")
def _scalable_target(c: Ctx) -> dict[str, Any]:
    arn = c.arn("application-autoscaling", f"scalable-target/{c.b36(32, 'target')}")
    return {"id": str(c.inputs.get("resourceId")), "arn": arn}


@_for("aws:appautoscaling/policy:Policy")
def _scaling_policy(c: Ctx) -> dict[str, Any]:
    res = c.inputs.get("resourceId")
    arn = c.arn("autoscaling", f"scalingPolicy:{c.uuid('policy')}:resource/"
                f"{c.inputs.get('serviceNamespace')}/{res}:policyName/{c.pname}")  # fmt: skip
    return {"id": c.pname, "arn": arn, "alarmArns": []}
