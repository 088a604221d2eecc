"""VPC networking: VPCs, subnets, route tables, security groups and rules, endpoints, flow
logs, NAT and internet gateways."""

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
    policy_principals,
    reads,
    register,
    strings,
    tag_context,
    tags,
    value,
)
from .monitoring import log_group_arn

SAR = "Service Authorization Reference (parliament iam_definition.json)"
TF = "terraform-provider-aws internal/service/ec2"
TAGS = (
    "EC2 user guide 'Grant permission to tag resources during creation' (ec2:CreateTags "
    "with ec2:CreateAction)"
)


def ec2_arn(v: ProgramView, kind: str, ident: str | None) -> str:
    return v.arn("ec2", f"{kind}/{ident or '*'}")


def _id(r: RecordedResource) -> str:
    return str(value(r, "id") or r.name)


def _create_tags(r: RecordedResource, arn: str, create_action: str) -> list[Call]:
    if not tags(r):
        return []
    ctx = {"ec2:CreateAction": create_action, **tag_context(r)}
    return [c("ec2:CreateTags", arn, "tags on create", ctx)]


def _ec2(
    kind: str, action: str, describe: str, parents: tuple[str, ...] = ("vpcId",), more_calls=None
):
    def arn_fn(r: RecordedResource, v: ProgramView) -> str:
        return ec2_arn(v, kind, _id(r))

    def fn(r: RecordedResource, v: ProgramView) -> list[Call]:
        arn = arn_fn(r, v)
        calls = [c(action, arn, f"create the {kind}", tag_context(r))]
        parent_kinds = {"vpcId": "vpc", "subnetId": "subnet", "routeTableId": "route-table"}
        for p in parents:
            if value(r, p):
                calls.append(
                    c(
                        action,
                        ec2_arn(v, parent_kinds[p], str(value(r, p))),
                        f"{action} is authorised on the {parent_kinds[p]}",
                    )
                )
        calls += _create_tags(r, arn, action.split(":")[1])
        if more_calls:
            calls += more_calls(r, v, arn)
        return calls + reads("*", describe)

    return arn_fn, fn


def _vpc_extra(r: RecordedResource, v: ProgramView, arn: str) -> list[Call]:
    calls = []
    if value(r, "enableDnsHostnames") or value(r, "enableDnsSupport") is False:
        calls.append(c("ec2:ModifyVpcAttribute", arn, "DNS attributes"))
    calls += reads(arn, "ec2:DescribeVpcAttribute")
    calls += reads(
        "*",
        "ec2:DescribeRouteTables",
        "ec2:DescribeNetworkAcls",
        "ec2:DescribeSecurityGroups",
    )
    return calls


def _sg_extra(r: RecordedResource, v: ProgramView, arn: str) -> list[Call]:
    # the provider always removes the default allow-all egress rule of a new group
    calls = [c("ec2:RevokeSecurityGroupEgress", arn, "remove the default allow-all egress rule")]
    if r.inputs.get("ingress"):
        calls.append(c("ec2:AuthorizeSecurityGroupIngress", arn, "inline ingress rules"))
    if r.inputs.get("egress"):
        calls.append(c("ec2:AuthorizeSecurityGroupEgress", arn, "inline egress rules"))
    return calls


for _typ, _kind, _action, _describe, _parents, _extra in (
    ("aws:ec2/vpc:Vpc", "vpc", "ec2:CreateVpc", "ec2:DescribeVpcs", (), _vpc_extra),
    (
        "aws:ec2/subnet:Subnet",
        "subnet",
        "ec2:CreateSubnet",
        "ec2:DescribeSubnets",
        ("vpcId",),
        None,
    ),
    (
        "aws:ec2/routeTable:RouteTable",
        "route-table",
        "ec2:CreateRouteTable",
        "ec2:DescribeRouteTables",
        ("vpcId",),
        None,
    ),
    (
        "aws:ec2/securityGroup:SecurityGroup",
        "security-group",
        "ec2:CreateSecurityGroup",
        "ec2:DescribeSecurityGroups",
        ("vpcId",),
        _sg_extra,
    ),
    (
        "aws:ec2/internetGateway:InternetGateway",
        "internet-gateway",
        "ec2:CreateInternetGateway",
        "ec2:DescribeInternetGateways",
        (),
        None,
    ),
    ("aws:ec2/eip:Eip", "elastic-ip", "ec2:AllocateAddress", "ec2:DescribeAddresses", (), None),
    (
        "aws:ec2/natGateway:NatGateway",
        "natgateway",
        "ec2:CreateNatGateway",
        "ec2:DescribeNatGateways",
        ("subnetId",),
        None,
    ),
):
    _arn, _fn = _ec2(_kind, _action, _describe, _parents, _extra)
    register(_typ, arn=_arn, source=(f"{TF} ({_action})", TAGS, SAR))(_fn)


@register(
    "aws:ec2/routeTableAssociation:RouteTableAssociation",
    source=(f"{TF}/vpc_route_table_association.go", SAR),
)
def _rta(r: RecordedResource, v: ProgramView) -> list[Call]:
    rt = ec2_arn(v, "route-table", str(value(r, "routeTableId")))
    out = [c("ec2:AssociateRouteTable", rt, "associate the route table")]
    if value(r, "subnetId"):
        out.append(
            c(
                "ec2:AssociateRouteTable",
                ec2_arn(v, "subnet", str(value(r, "subnetId"))),
                "associate the route table",
            )
        )
    return out + reads("*", "ec2:DescribeRouteTables")


@register("aws:ec2/route:Route", source=(f"{TF}/vpc_route.go", SAR))
def _route(r: RecordedResource, v: ProgramView) -> list[Call]:
    rt = ec2_arn(v, "route-table", str(value(r, "routeTableId")))
    return [c("ec2:CreateRoute", rt, "add the route"), *reads("*", "ec2:DescribeRouteTables")]


@register(
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
    source=(
        f"{TF}/vpc_default_security_group.go (adopts, then revokes all rules not in config)",
        SAR,
    ),
)
def _default_sg(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = ec2_arn(v, "security-group", str(value(r, "id") or "*"))
    calls = reads("*", "ec2:DescribeSecurityGroups", why="adopt the VPC's default group")
    calls += [
        c(a, arn, "remove the default rules")
        for a in ("ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress")
    ]
    if tags(r):
        calls.append(c("ec2:CreateTags", arn, "tags", tag_context(r)))
    return calls


def _rule(action: str, kind: str):
    def fn(r: RecordedResource, v: ProgramView) -> list[Call]:
        sg = ec2_arn(v, "security-group", str(value(r, "securityGroupId")))
        rule = ec2_arn(v, "security-group-rule", _id(r))
        return [
            c(action, sg, f"{kind} rule", tag_context(r)),
            *reads("*", "ec2:DescribeSecurityGroupRules"),
            *([c("ec2:CreateTags", rule, "tags", tag_context(r))] if tags(r) else []),
        ]

    return fn


register(
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    source=(f"{TF}/vpc_security_group_ingress_rule.go", SAR),
)(_rule("ec2:AuthorizeSecurityGroupIngress", "ingress"))
register(
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    source=(f"{TF}/vpc_security_group_egress_rule.go", SAR),
)(_rule("ec2:AuthorizeSecurityGroupEgress", "egress"))
register(
    "aws:ec2/securityGroupRule:SecurityGroupRule", source=(f"{TF}/vpc_security_group_rule.go", SAR)
)(
    lambda r, v: _rule(
        "ec2:AuthorizeSecurityGroupIngress"
        if value(r, "type") == "ingress"
        else "ec2:AuthorizeSecurityGroupEgress",
        str(value(r, "type")),
    )(r, v)
)


def _endpoint_arn(r: RecordedResource, v: ProgramView) -> str:
    return ec2_arn(v, "vpc-endpoint", _id(r))


@register(
    "aws:ec2/vpcEndpoint:VpcEndpoint",
    arn=_endpoint_arn,
    principals=lambda r: policy_principals(r.inputs.get("policy")),
    source=(
        "Service Authorization Reference: ec2:CreateVpcEndpoint is authorised on the VPC, the "
        "endpoint, and each subnet, security group and route table; dependent actions "
        "ec2:CreateTags and route53:AssociateVPCWithHostedZone (private DNS)",
        f"{TF}/vpc_endpoint.go (DescribeVpcEndpoints, DescribePrefixLists for gateway endpoints)",
    ),
)
def _endpoint(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = _endpoint_arn(r, v)
    ctx = {"ec2:VpceServiceName": value(r, "serviceName"), **tag_context(r)}
    calls = [c("ec2:CreateVpcEndpoint", arn, "create the endpoint", ctx)]
    calls.append(
        c("ec2:CreateVpcEndpoint", ec2_arn(v, "vpc", str(value(r, "vpcId"))), "on the VPC")
    )
    for key, kind in (
        ("subnetIds", "subnet"),
        ("securityGroupIds", "security-group"),
        ("routeTableIds", "route-table"),
    ):
        calls += [
            c("ec2:CreateVpcEndpoint", ec2_arn(v, kind, x), f"on the {kind}")
            for x in strings(r.inputs.get(key))
        ]
    calls += _create_tags(r, arn, "CreateVpcEndpoint")
    if value(r, "privateDnsEnabled"):
        calls.append(
            c(
                "route53:AssociateVPCWithHostedZone",
                "*",
                "private DNS: the endpoint's private hosted zone",
            )
        )
    calls += reads("*", "ec2:DescribeVpcEndpoints")
    if value(r, "vpcEndpointType") == "Gateway":
        calls += reads("*", "ec2:DescribePrefixLists")
    return calls


def _flow_log_service(r: RecordedResource, v: ProgramView) -> list[ServiceCall]:
    role = v.role_arn(str(value(r, "iamRoleArn"))) if value(r, "iamRoleArn") else None
    dest = str(value(r, "logDestination") or "")
    out = assume(
        "vpc-flow-logs.amazonaws.com", role, "flow logs delivery assumes the role", "runtime"
    )
    if dest.startswith("arn:aws:logs:") and role:
        group = dest.removesuffix(":*")
        writes = [
            c("logs:CreateLogStream", f"{group}:log-stream:*", "flow log delivery"),
            c("logs:PutLogEvents", f"{group}:log-stream:*", "flow log delivery"),
            c("logs:DescribeLogGroups", "*", "flow log delivery"),
            c("logs:DescribeLogStreams", f"{group}:*", "flow log delivery"),
        ]
        out += as_role(role, writes, "runtime")
    elif dest.startswith("arn:aws:s3:::"):
        ctx = {"s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceAccount": v.account}
        obj = dest.rstrip("/") + "/AWSLogs/" + v.account + "/*"
        out.append(
            ServiceCall(
                "service:delivery.logs.amazonaws.com",
                c("s3:PutObject", obj, "flow log delivery to S3", ctx),
                "runtime",
            )
        )
    return out


@register(
    "aws:ec2/flowLog:FlowLog",
    service=_flow_log_service,
    source=(
        "VPC user guide 'IAM role for publishing flow logs to CloudWatch Logs' (trust "
        "vpc-flow-logs.amazonaws.com; logs:CreateLogStream, PutLogEvents, DescribeLogGroups, "
        "DescribeLogStreams); CreateFlowLogs needs iam:PassRole",
        f"{TF}/vpc_flow_log.go",
        SAR,
    ),
)
def _flow_log(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = ec2_arn(v, "vpc-flow-log", _id(r))
    role = v.role_arn(str(value(r, "iamRoleArn"))) if value(r, "iamRoleArn") else None
    calls = [c("ec2:CreateFlowLogs", arn, "create the flow log", tag_context(r))]
    for key, kind in (("vpcId", "vpc"), ("subnetId", "subnet")):
        if value(r, key):
            calls.append(
                c("ec2:CreateFlowLogs", ec2_arn(v, kind, str(value(r, key))), f"on the {kind}")
            )
    calls += pass_role(role, "vpc-flow-logs.amazonaws.com")
    calls += _create_tags(r, arn, "CreateFlowLogs")
    if str(value(r, "logDestination") or "").startswith("arn:aws:logs:"):
        calls += reads(
            "*", "logs:DescribeLogGroups", why="the flow log checks its destination group"
        )
    return calls + reads("*", "ec2:DescribeFlowLogs")


__all__ = ["ec2_arn", "log_group_arn"]
