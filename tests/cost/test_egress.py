"""The egress design's monthly cost line (mlops.cost.egress): hand-built stacks, hand-computed
expectations (tests/cost/factories.py: 100 hours a month, round prices), and the real dev stack."""

from __future__ import annotations

import pytest

from mlops.cost.egress import egress_cost
from mlops.cost.estimator import estimate

from .factories import price_table, res, usage

VPCE = "aws:ec2/vpcEndpoint:VpcEndpoint"
PROJECT = "aws:codebuild/project:Project"


def _stack(*extra):
    return [
        res(VPCE, "sts", vpcEndpointType="Interface", subnetIds=["a", "b"]),
        res(VPCE, "kms", vpcEndpointType="Interface", subnetIds=["a", "b"]),
        res(VPCE, "s3", vpcEndpointType="Gateway"),
        res(PROJECT, "tests", environment={"computeType": "BUILD_GENERAL1_SMALL"}),
        *extra,
    ]


def _egress(resources, **changes):
    u = usage(endpoint_gb_per_month=10, nat_gb_per_month=20, **changes)
    e = estimate("dev", resources, price_table(), u, az_count=2)
    return egress_cost(e, resources, az_count=2)


def test_builds_outside_the_vpc_pay_only_for_the_endpoints_and_the_rejected_nat_is_priced():
    egress = _egress(_stack())
    # 2 endpoints x 2 AZ x 100 h x $0.01 + 2 x 10 GB x $0.01 (the gateway endpoint is free)
    assert egress.endpoints_monthly == pytest.approx(4.0 + 0.2)
    assert (egress.builds, egress.builds_in_vpc, egress.nat_gateways) == (1, 0, 0)
    assert egress.monthly == pytest.approx(4.2)
    # 2 AZ x (100 h x ($0.05 NAT + $0.005 IPv4) + 20 GB x $0.05)
    assert egress.alternative_monthly == pytest.approx(2 * (5.5 + 1.0))
    line = egress.line()
    assert "1 build project(s) all outside the VPC ($0)" in line
    assert "2 interface endpoints $4.20" in line and "no NAT = $4.20/month" in line
    assert "rejected: the builds in the VPC behind NAT would add 2 NAT gateways" in line
    assert "$13.00/month" in line


def test_a_stack_with_nat_and_a_build_in_the_vpc_says_so():
    vpc = {"vpcId": "vpc-1", "subnets": ["a"], "securityGroupIds": ["sg"]}
    nat = res("aws:ec2/natGateway:NatGateway", "nat")
    build = res(
        PROJECT, "deploy", vpcConfig=vpc, environment={"computeType": "BUILD_GENERAL1_SMALL"}
    )
    egress = _egress(_stack(nat, build))
    assert egress.builds_in_vpc == 1 and egress.nat_gateways == 1
    assert egress.nat_monthly == pytest.approx(100 * 0.05 + 20 * 0.05)
    assert egress.monthly == pytest.approx(4.2 + 6.0)
    assert egress.alternative_monthly is None  # NAT is already on: nothing to compare
    assert "1 in the VPC" in egress.line() and "1 NAT gateway(s) $6.00" in egress.line()


def test_mlops_cost_dev_shows_the_egress_line_and_json():
    """The real dev stack: every build outside the VPC, no NAT; the line's total is the estimate's
    interface-endpoint and CodeArtifact lines."""
    from mlops.cost.report import stack_cost

    cost = stack_cost("dev")
    e, egress = cost.estimate, cost.egress
    assert egress is not None and egress.builds >= 5 and egress.builds_in_vpc == 0
    assert egress.nat_gateways == 0 and egress.alternative_monthly is not None
    lines = [i for i in e.items if i.unit == "endpoint-AZ-hours" or "CodeArtifact" in i.what]
    assert len(lines) == 2
    assert egress.monthly == pytest.approx(sum(i.monthly for i in lines))
    assert cost.to_json()["egress"]["line"] == egress.line()
