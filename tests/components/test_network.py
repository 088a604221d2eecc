"""Network: private subnets only, opt-in NAT, flow logs, S3 gateway + interface endpoints, SGs."""

from __future__ import annotations

import ipaddress

import pytest

from components._helpers import ctx_of, of_type, tags_of
from mlops.components.network import (
    Network,
    NetworkArgs,
    interface_endpoints,
    service_name,
    subnet_cidrs,
)
from mlops.config import StackConfig
from mlops.testing.mocks import RecordingMocks, run

LOGS_KEY = "arn:aws:kms:eu-west-2:111111111111:key/logs"


def _args(cfg: StackConfig, **kw) -> NetworkArgs:
    values = dict(
        names=ctx_of(cfg),
        tags=tags_of(cfg),
        vpc_cidr=str(cfg.network.vpc_cidr),
        availability_zones=[f"{cfg.region}{c}" for c in "abc"[: cfg.network.az_count]],
        logs_key_arn=LOGS_KEY,
        log_retention_days=cfg.retention.log_days,
        git_provider=cfg.git.provider,
        nat_gateway=cfg.network.nat_gateway,
    )
    values.update(kw)
    return NetworkArgs(**values)


def test_private_subnets_only_by_default(stack_config: StackConfig, pulumi_mocks: RecordingMocks):
    run(lambda: Network("net", _args(stack_config)))
    subnets = of_type(pulumi_mocks, "aws:ec2/subnet:Subnet")
    assert len(subnets) == stack_config.network.az_count
    assert {s.inputs["availabilityZone"] for s in subnets} == set(
        _args(stack_config).availability_zones
    )
    for s in subnets:
        assert s.inputs["mapPublicIpOnLaunch"] is False, s.name
        assert ipaddress.ip_network(s.inputs["cidrBlock"]).subnet_of(stack_config.network.vpc_cidr)
    for typ in ("internetGateway:InternetGateway", "natGateway:NatGateway", "eip:Eip"):
        assert not pulumi_mocks.of_type(f"aws:ec2/{typ}"), typ
    for route in pulumi_mocks.of_type("aws:ec2/route:Route"):
        assert route.inputs.get("destinationCidrBlock") != "0.0.0.0/0", route.name
    egress = pulumi_mocks.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    assert not [r for r in egress if r.inputs.get("cidrIpv4") == "0.0.0.0/0"]


@pytest.mark.parametrize("stack_config", ["prod"], indirect=True)
def test_nat_is_opt_in(stack_config: StackConfig, pulumi_mocks: RecordingMocks):
    run(lambda: Network("net", _args(stack_config, nat_gateway=True)))
    assert len(pulumi_mocks.of_type("aws:ec2/natGateway:NatGateway")) == 3
    assert len(pulumi_mocks.of_type("aws:ec2/internetGateway:InternetGateway")) == 1
    nat_routes = [
        r for r in pulumi_mocks.of_type("aws:ec2/route:Route") if "natGatewayId" in r.inputs
    ]
    assert len(nat_routes) == 3
    assert pulumi_mocks.named("net-sagemaker-to-internet").inputs["fromPort"] == 443


def test_flow_logs_to_encrypted_log_group(stack_config: StackConfig, pulumi_mocks: RecordingMocks):
    run(lambda: Network("net", _args(stack_config)))
    group = pulumi_mocks.named("net-flow-logs")
    assert group.inputs["kmsKeyId"] == LOGS_KEY
    assert group.inputs["retentionInDays"] == stack_config.retention.log_days
    flow = of_type(pulumi_mocks, "aws:ec2/flowLog:FlowLog")[0]
    assert flow.inputs["trafficType"] == "ALL"
    assert flow.inputs["logDestinationType"] == "cloud-watch-logs"


def test_endpoints(stack_config: StackConfig, pulumi_mocks: RecordingMocks):
    run(lambda: Network("net", _args(stack_config)))
    endpoints = of_type(pulumi_mocks, "aws:ec2/vpcEndpoint:VpcEndpoint")
    gateway = [e for e in endpoints if e.inputs["vpcEndpointType"] == "Gateway"]
    assert [g.inputs["serviceName"] for g in gateway] == [f"com.amazonaws.{stack_config.region}.s3"]
    assert len(gateway[0].inputs["routeTableIds"]) == stack_config.network.az_count
    interface = {e.inputs["serviceName"]: e for e in endpoints if e not in gateway}
    expected = {
        service_name(stack_config.region, e.service)
        for e in interface_endpoints(stack_config.environment, stack_config.git.provider)
    }
    assert set(interface) == expected
    for ep in interface.values():
        assert ep.inputs["privateDnsEnabled"] is True, ep.name
        assert len(ep.inputs["subnetIds"]) == stack_config.network.az_count, ep.name
    must = {"sagemaker.api", "sagemaker.runtime", "sts", "kms", "logs", "monitoring", "ecr.api",
            "ecr.dkr", "states"}  # fmt: skip
    assert {service_name(stack_config.region, s) for s in must} <= set(interface)
    studio = f"aws.sagemaker.{stack_config.region}.studio"
    assert (studio in interface) == stack_config.is_governance


def test_every_endpoint_says_why() -> None:
    for env in ("dev", "staging", "prod"):
        for provider in ("github", "codecommit"):
            eps = interface_endpoints(env, provider)
            assert len({e.service for e in eps}) == len(eps)
            assert all(len(e.why) > 10 for e in eps)
    dev_cc = {e.service for e in interface_endpoints("dev", "codecommit")}
    assert {"git-codecommit", "codecommit"} <= dev_cc
    assert "codeconnections.api" in {e.service for e in interface_endpoints("dev", "github")}


def test_security_groups_only_allow_what_is_needed(
    stack_config: StackConfig, pulumi_mocks: RecordingMocks
):
    run(lambda: Network("net", _args(stack_config)))
    ingress = pulumi_mocks.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    for rule in ingress:  # only from security groups, never from CIDRs
        assert rule.inputs.get("referencedSecurityGroupId"), rule.name
        assert "cidrIpv4" not in rule.inputs and "cidrIpv6" not in rule.inputs, rule.name
    endpoints_in = pulumi_mocks.named("net-endpoints-from-sagemaker").inputs
    assert (endpoints_in["fromPort"], endpoints_in["toPort"], endpoints_in["ipProtocol"]) == (
        443, 443, "tcp")  # fmt: skip
    default = pulumi_mocks.named("net-default-sg").inputs
    assert default["ingress"] == [] and default["egress"] == []


def test_existing_vpc_import(stack_config: StackConfig, pulumi_mocks: RecordingMocks):
    subnets = [f"subnet-0000000{i}" for i in range(stack_config.network.az_count)]
    run(lambda: Network("net", _args(stack_config, existing_vpc_id="vpc-0123456789abcdef0",
                                     existing_private_subnet_ids=subnets)))  # fmt: skip
    assert not pulumi_mocks.of_type("aws:ec2/vpc:Vpc")
    assert not pulumi_mocks.of_type("aws:ec2/subnet:Subnet")
    sg = pulumi_mocks.named("net-sagemaker-sg")
    assert sg.inputs["vpcId"] == "vpc-0123456789abcdef0"
    ep = pulumi_mocks.named("net-sts")
    assert ep.inputs["subnetIds"] == subnets


def test_bad_network_args_are_refused(stack_config: StackConfig) -> None:
    with pytest.raises(ValueError, match="existing_private_subnet_ids"):
        _args(stack_config, existing_vpc_id="vpc-0123456789abcdef0")
    with pytest.raises(ValueError, match="availability_zones"):
        _args(stack_config, availability_zones=[])


def test_subnet_plan_fits_and_does_not_overlap() -> None:
    for az in range(1, 7):
        private, public = subnet_cidrs("10.10.0.0/16", az)
        nets = [ipaddress.ip_network(c) for c in private + public]
        assert len(private) == len(public) == az
        assert all(not a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])
