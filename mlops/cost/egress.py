"""The egress design's monthly cost line (`mlops cost`; docs/deploy.md "Egress").

The design: builds that touch nothing VPC-private run outside the VPC (CodeBuild's own network,
no charge); what stays inside (SageMaker jobs, the VPC Lambdas, Studio) reaches AWS through
interface endpoints; Python packages come from the platform's CodeArtifact domain; no NAT
gateway unless a stack opts in. The line adds up what the stack pays for that (its interface
endpoints, CodeArtifact, any NAT it has) from the estimate's own line items, and prices the
rejected alternative for stacks with builds: the builds in the VPC behind one NAT gateway and
public IPv4 address per AZ (the Pulumi CLI download, GitHub and the package index are on the
internet), which would also give everything in the VPC the internet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mlops.cost.model import Estimate
from mlops.testing.mocks import RecordedResource

PROJECT = "aws:codebuild/project:Project"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
CODEARTIFACT = "aws:codeartifact/domain:Domain"
NAT = "aws:ec2/natGateway:NatGateway"
EIP = "aws:ec2/eip:Eip"


@dataclass(frozen=True)
class EgressCost:
    builds: int
    builds_in_vpc: int
    interface_endpoints: int
    endpoints_monthly: float
    codeartifact_monthly: float
    nat_gateways: int
    nat_monthly: float
    """NAT gateways and public IPv4 addresses the stack has (opted in)."""
    alternative_monthly: float | None
    """What the builds in the VPC behind NAT would add (None: no builds, or NAT already on)."""
    az_count: int
    nat_gb: float

    @property
    def monthly(self) -> float:
        return self.endpoints_monthly + self.codeartifact_monthly + self.nat_monthly

    def line(self) -> str:
        parts = []
        if self.builds:
            where = (
                "all outside the VPC ($0)"
                if not self.builds_in_vpc
                else f"{self.builds_in_vpc} in the VPC"
            )
            parts.append(f"{self.builds} build project(s) {where}")
        parts.append(
            f"{self.interface_endpoints} interface endpoints ${self.endpoints_monthly:,.2f}"
        )
        if self.codeartifact_monthly:
            parts.append(f"CodeArtifact ${self.codeartifact_monthly:,.2f}")
        parts.append(
            f"{self.nat_gateways} NAT gateway(s) ${self.nat_monthly:,.2f}"
            if self.nat_gateways
            else "no NAT"
        )
        text = 'egress design (docs/deploy.md "Egress"): '
        text += f"{', '.join(parts)} = ${self.monthly:,.2f}/month"
        if self.alternative_monthly is not None:
            text += (
                f"; rejected: the builds in the VPC behind NAT would add {self.az_count} NAT "
                f"gateways + {self.az_count} public IPv4 = ${self.alternative_monthly:,.2f}/month "
                f"({self.nat_gb:g} GB processed each) and open the internet to the whole VPC"
            )
        return text

    def to_json(self) -> dict[str, Any]:
        return {
            "builds": self.builds,
            "builds_in_vpc": self.builds_in_vpc,
            "interface_endpoints": self.interface_endpoints,
            "monthly_endpoints": round(self.endpoints_monthly, 2),
            "monthly_codeartifact": round(self.codeartifact_monthly, 2),
            "nat_gateways": self.nat_gateways,
            "monthly_nat": round(self.nat_monthly, 2),
            "monthly_total": round(self.monthly, 2),
            "rejected_nat_for_builds_monthly": (
                None if self.alternative_monthly is None else round(self.alternative_monthly, 2)
            ),
            "line": self.line(),
        }


def egress_cost(
    estimate: Estimate, resources: Sequence[RecordedResource], az_count: int
) -> EgressCost:
    """The egress design's cost in one stack, from its estimate's line items."""
    items = estimate.items

    def monthly(typ: str, unit: str | None = None) -> float:
        return sum(i.monthly for i in items if i.resource_type == typ and unit in (None, i.unit))

    projects = [r for r in resources if r.type == PROJECT]
    in_vpc = [r for r in projects if r.inputs.get("vpcConfig")]
    endpoints = [
        r
        for r in resources
        if r.type == ENDPOINT and (r.inputs.get("vpcEndpointType") or "Gateway") == "Interface"
    ]
    nats = [r for r in resources if r.type == NAT]
    p, u = estimate.prices, estimate.usage
    alternative = None
    if projects and not nats:
        hours = p.hours_per_month
        alternative = az_count * (
            hours * (p.get("vpc.nat_gateway_hour") + p.get("vpc.public_ipv4_hour"))
            + u.nat_gb_per_month * p.get("vpc.nat_gateway_gb")
        )
    return EgressCost(
        builds=len(projects),
        builds_in_vpc=len(in_vpc),
        interface_endpoints=len(endpoints),
        endpoints_monthly=monthly(ENDPOINT, "endpoint-AZ-hours"),
        codeartifact_monthly=monthly(CODEARTIFACT),
        nat_gateways=len(nats),
        nat_monthly=monthly(NAT) + (monthly(EIP) if nats else 0.0),
        alternative_monthly=alternative,
        az_count=az_count,
        nat_gb=u.nat_gb_per_month,
    )
