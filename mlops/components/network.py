"""Networking: a VPC with private subnets only, VPC endpoints, flow logs and the SageMaker SG.

- Private subnets across the configured AZs; no internet or NAT gateway unless `nat_gateway` is
  set (then one public subnet + NAT gateway per AZ, and HTTPS egress to the internet).
- Flow logs (all traffic) to a KMS-encrypted CloudWatch log group with the configured retention.
- An S3 gateway endpoint on the private route tables, and the interface endpoints listed by
  `interface_endpoints()` (each with the reason it is needed).
- Security groups: `sagemaker` (self-referencing for distributed training, Studio apps and EFS;
  egress HTTPS to the endpoints and S3 only) and `endpoints` (HTTPS in from `sagemaker`).
- Existing VPC: with `existing_vpc_id` + `existing_private_subnet_ids` nothing is created for the
  VPC itself; SGs, interface endpoints and flow logs go into the given VPC. Its route tables are not
  known here, so the S3 gateway endpoint must already exist there (documented in docs/deploy.md).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops import iam
from mlops.components.logs import encrypted_log_group
from mlops.naming import NameContext, log_group_name, name, role_name
from mlops.tags import with_component

HTTPS = 443


@dataclass(frozen=True)
class Endpoint:
    service: str
    """Suffix of the endpoint service name (`com.amazonaws.<region>.<service>`)."""
    why: str


# Needed in every stack: jobs, endpoints and Lambdas in private subnets reach these APIs.
_COMMON = (
    Endpoint("sagemaker.api", "create/describe training, processing, pipelines, models, endpoints"),
    Endpoint("sagemaker.runtime", "invoke endpoints from Lambdas, smoke tests and Studio"),
    Endpoint("sts", "assume roles (execution roles, cross-account deployment) without internet"),
    Endpoint("kms", "encrypt/decrypt data keys for S3, EBS volumes and logs with our CMKs"),
    Endpoint("logs", "training, processing, endpoint and Lambda logs to CloudWatch Logs"),
    Endpoint("monitoring", "CloudWatch metrics from jobs, endpoints and autoscaling"),
    Endpoint("ecr.api", "authenticate to ECR and read image manifests for jobs and endpoints"),
    Endpoint("ecr.dkr", "pull training and inference container images from ECR"),
    Endpoint("states", "Step Functions: start executions and send task callbacks from the VPC"),
    Endpoint("xray", "active tracing from the VPC Lambdas (Lambda's X-Ray daemon sends segments)"),
    Endpoint("secretsmanager", "the decide Lambda reads its pseudonymisation key secret"),
)
# Dev (data science + governance) only.
_DEV = (
    Endpoint("studio", "SageMaker Studio UI in VpcOnly mode (aws.sagemaker.<region>.studio)"),
    Endpoint("servicecatalog", "SageMaker Projects: Studio lists and launches products"),
    Endpoint("codeartifact.api", "pip install from CodeArtifact in Studio (VpcOnly): auth token"),
    Endpoint("codeartifact.repositories", "pip install from CodeArtifact: package downloads"),
    Endpoint("codebuild", "the onboarding hook (a Lambda in the VPC) starts the onboarding build"),
)
_GIT = {
    "codecommit": (
        Endpoint("git-codecommit", "git clone/push over HTTPS from Studio and CodeBuild"),
        Endpoint("codecommit", "CodeCommit API (repositories, pull requests) from the VPC"),
    ),
    # GitHub/GitLab/Bitbucket through CodeConnections: Studio and CodeBuild use the connection.
    "connections": (
        Endpoint("codeconnections.api", "use the CodeConnections Git connection from the VPC"),
    ),
}


def interface_endpoints(environment: str, git_provider: str) -> list[Endpoint]:
    """The interface endpoints of one stack (pure; each has a reason)."""
    endpoints = list(_COMMON)
    if environment == "dev":
        endpoints += _DEV
        endpoints += _GIT["codecommit" if git_provider == "codecommit" else "connections"]
    return endpoints


def service_name(region: str, service: str) -> str:
    if service == "studio":  # Studio's endpoint service is named differently
        return f"aws.sagemaker.{region}.studio"
    return f"com.amazonaws.{region}.{service}"


def subnet_cidrs(vpc_cidr: str, az_count: int) -> tuple[list[str], list[str]]:
    """(private, public) CIDRs: private /+2 blocks first, public small blocks from the last one.

    A /16 gives /18 private subnets (16k addresses: SageMaker jobs take one IP per instance and
    Studio one per app); public subnets (NAT only) are /28 carved from the unused top quarter.
    """
    net = ipaddress.ip_network(vpc_cidr)
    quarters = list(net.subnets(prefixlen_diff=2))
    if az_count > 3:
        quarters = list(net.subnets(prefixlen_diff=3))
    private = [str(s) for s in quarters[:az_count]]
    public_pool = quarters[-1]
    public = [str(s) for s in list(public_pool.subnets(new_prefix=28))[:az_count]]
    return private, public


@dataclass(frozen=True, kw_only=True)
class NetworkArgs:
    names: NameContext
    tags: Mapping[str, str]
    vpc_cidr: str
    availability_zones: Sequence[str]
    logs_key_arn: pulumi.Input[str]
    log_retention_days: int
    git_provider: str = "github"
    nat_gateway: bool = False
    existing_vpc_id: str | None = None
    existing_private_subnet_ids: Sequence[str] = ()

    def __post_init__(self) -> None:
        if not self.availability_zones:
            raise ValueError("NetworkArgs.availability_zones: give at least one AZ")
        if self.existing_vpc_id and len(self.existing_private_subnet_ids) < len(
            self.availability_zones
        ):
            raise ValueError(
                "NetworkArgs.existing_private_subnet_ids: one subnet per AZ is needed "
                "with existing_vpc_id"
            )
        if self.existing_vpc_id and self.nat_gateway:
            raise ValueError("NetworkArgs.nat_gateway cannot be added to an existing VPC")


class Network(pulumi.ComponentResource):
    def __init__(
        self, name_: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:network:Network", name_, None, opts)
        self._name = name_
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        self._tags = with_component(args.tags, "network")
        ctx = args.names

        self.route_tables: list[aws.ec2.RouteTable] = []
        self.subnets: list[aws.ec2.Subnet] = []
        self.nat_gateways: list[aws.ec2.NatGateway] = []
        if args.existing_vpc_id:
            self.vpc = None
            self.vpc_id: pulumi.Output[str] = pulumi.Output.from_input(args.existing_vpc_id)
            self.private_subnet_ids: pulumi.Output[list[str]] = pulumi.Output.from_input(
                list(args.existing_private_subnet_ids)
            )
        else:
            self._build_vpc()

        self._build_security_groups()
        self._build_flow_logs(ctx)
        self.s3_endpoint: aws.ec2.VpcEndpoint | None = None
        if self.route_tables:
            self.s3_endpoint = aws.ec2.VpcEndpoint(
                f"{name_}-s3",
                vpc_id=self.vpc_id,
                service_name=f"com.amazonaws.{ctx.region}.s3",
                vpc_endpoint_type="Gateway",
                route_table_ids=[rt.id for rt in self.route_tables],
                tags={**self._tags, "Name": name(ctx, "s3"), "why": "S3 without internet"},
                opts=self._child,
            )
        self._build_sg_rules()
        self.endpoints: dict[str, aws.ec2.VpcEndpoint] = {}
        for ep in interface_endpoints(ctx.environment, args.git_provider):
            self.endpoints[ep.service] = aws.ec2.VpcEndpoint(
                f"{name_}-{ep.service.replace('.', '-')}",
                vpc_id=self.vpc_id,
                service_name=service_name(ctx.region, ep.service),
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=self.private_subnet_ids,
                security_group_ids=[self.endpoint_sg.id],
                tags={**self._tags, "Name": name(ctx, ep.service), "why": ep.why[:250]},
                opts=self._child,
            )
        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "private_subnet_ids": self.private_subnet_ids,
                "sagemaker_security_group_id": self.sagemaker_sg.id,
            }
        )

    # --- VPC, subnets, routes -------------------------------------------------------------
    def _build_vpc(self) -> None:
        a, ctx, n = self._args, self._args.names, self._name
        self.vpc = aws.ec2.Vpc(
            f"{n}-vpc",
            cidr_block=a.vpc_cidr,
            enable_dns_hostnames=True,  # private DNS names of interface endpoints
            enable_dns_support=True,
            tags={**self._tags, "Name": name(ctx, "vpc")},
            opts=self._child,
        )
        self.vpc_id = self.vpc.id
        # The default security group of a new VPC allows all traffic between its members:
        # adopt it and strip every rule so nothing can use it by accident.
        self.default_sg = aws.ec2.DefaultSecurityGroup(
            f"{n}-default-sg",
            vpc_id=self.vpc.id,
            ingress=[],
            egress=[],
            tags={**self._tags, "Name": name(ctx, "default-locked")},
            opts=self._child,
        )
        private, public = subnet_cidrs(a.vpc_cidr, len(a.availability_zones))
        if a.nat_gateway:
            self._build_nat(public)
        for i, (az, cidr) in enumerate(zip(a.availability_zones, private, strict=True)):
            subnet = aws.ec2.Subnet(
                f"{n}-private-{i}",
                vpc_id=self.vpc.id,
                cidr_block=cidr,
                availability_zone=az,
                map_public_ip_on_launch=False,
                tags={**self._tags, "Name": name(ctx, "private", az), "tier": "private"},
                opts=self._child,
            )
            rt = aws.ec2.RouteTable(
                f"{n}-private-{i}-rt",
                vpc_id=self.vpc.id,
                tags={**self._tags, "Name": name(ctx, "private", az)},
                opts=self._child,
            )
            aws.ec2.RouteTableAssociation(
                f"{n}-private-{i}-rta", subnet_id=subnet.id, route_table_id=rt.id, opts=self._child
            )
            if self.nat_gateways:
                aws.ec2.Route(
                    f"{n}-private-{i}-nat-route",
                    route_table_id=rt.id,
                    destination_cidr_block="0.0.0.0/0",
                    nat_gateway_id=self.nat_gateways[i].id,
                    opts=self._child,
                )
            self.subnets.append(subnet)
            self.route_tables.append(rt)
        self.private_subnet_ids = pulumi.Output.all(*[s.id for s in self.subnets])

    def _build_nat(self, public_cidrs: list[str]) -> None:
        """Opt-in internet egress: IGW, one small public subnet and one NAT gateway per AZ."""
        a, ctx, n = self._args, self._args.names, self._name
        self.internet_gateway = aws.ec2.InternetGateway(
            f"{n}-igw",
            vpc_id=self.vpc.id,
            tags={**self._tags, "Name": name(ctx, "igw")},
            opts=self._child,
        )
        public_rt = aws.ec2.RouteTable(
            f"{n}-public-rt",
            vpc_id=self.vpc.id,
            tags={**self._tags, "Name": name(ctx, "public")},
            opts=self._child,
        )
        aws.ec2.Route(
            f"{n}-public-igw-route",
            route_table_id=public_rt.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=self.internet_gateway.id,
            opts=self._child,
        )
        for i, (az, cidr) in enumerate(zip(a.availability_zones, public_cidrs, strict=True)):
            subnet = aws.ec2.Subnet(
                f"{n}-public-{i}",
                vpc_id=self.vpc.id,
                cidr_block=cidr,
                availability_zone=az,
                map_public_ip_on_launch=False,  # only the NAT gateway's EIP is public
                tags={**self._tags, "Name": name(ctx, "public", az), "tier": "public"},
                opts=self._child,
            )
            aws.ec2.RouteTableAssociation(
                f"{n}-public-{i}-rta",
                subnet_id=subnet.id,
                route_table_id=public_rt.id,
                opts=self._child,
            )
            eip = aws.ec2.Eip(
                f"{n}-nat-{i}-eip",
                domain="vpc",
                tags={**self._tags, "Name": name(ctx, "nat", az)},
                opts=self._child,
            )
            self.nat_gateways.append(
                aws.ec2.NatGateway(
                    f"{n}-nat-{i}",
                    subnet_id=subnet.id,
                    allocation_id=eip.id,
                    tags={**self._tags, "Name": name(ctx, "nat", az)},
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[self.internet_gateway]),
                )
            )

    # --- security groups ------------------------------------------------------------------
    def _build_security_groups(self) -> None:
        ctx, n = self._args.names, self._name
        self.sagemaker_sg = aws.ec2.SecurityGroup(
            f"{n}-sagemaker-sg",
            name=name(ctx, "sagemaker"),
            description="SageMaker jobs, Studio apps and endpoints: self + HTTPS to endpoints",
            vpc_id=self.vpc_id,
            revoke_rules_on_delete=True,
            tags={**self._tags, "Name": name(ctx, "sagemaker")},
            opts=self._child,
        )
        self.endpoint_sg = aws.ec2.SecurityGroup(
            f"{n}-endpoints-sg",
            name=name(ctx, "vpc-endpoints"),
            description="Interface VPC endpoints: HTTPS from the SageMaker security group",
            vpc_id=self.vpc_id,
            revoke_rules_on_delete=True,
            tags={**self._tags, "Name": name(ctx, "vpc-endpoints")},
            opts=self._child,
        )

    def _build_sg_rules(self) -> None:
        ctx, n = self._args.names, self._name
        rule_tags = with_component(self._args.tags, "network")
        sm, ep = self.sagemaker_sg.id, self.endpoint_sg.id
        rules: list[tuple[str, type, dict]] = [
            # Distributed training, Studio apps <-> EFS (NFS 2049) and kernel gateways talk
            # to each other inside the group only.
            ("sagemaker-self-in", aws.vpc.SecurityGroupIngressRule,
             dict(security_group_id=sm, referenced_security_group_id=sm, ip_protocol="-1",
                  description="all traffic between SageMaker members (training, Studio, EFS)")),
            ("sagemaker-self-out", aws.vpc.SecurityGroupEgressRule,
             dict(security_group_id=sm, referenced_security_group_id=sm, ip_protocol="-1",
                  description="all traffic between SageMaker members (training, Studio, EFS)")),
            ("sagemaker-to-endpoints", aws.vpc.SecurityGroupEgressRule,
             dict(security_group_id=sm, referenced_security_group_id=ep, ip_protocol="tcp",
                  from_port=HTTPS, to_port=HTTPS, description="HTTPS to interface endpoints")),
            ("endpoints-from-sagemaker", aws.vpc.SecurityGroupIngressRule,
             dict(security_group_id=ep, referenced_security_group_id=sm, ip_protocol="tcp",
                  from_port=HTTPS, to_port=HTTPS, description="HTTPS from SageMaker")),
        ]  # fmt: skip
        # S3 through the gateway endpoint: its AWS-managed prefix list is the only destination.
        if self.s3_endpoint is not None:
            s3_prefix_list: pulumi.Input[str] = self.s3_endpoint.prefix_list_id
        else:  # existing VPC: its S3 gateway endpoint already exists; look the list up
            s3_prefix_list = aws.ec2.get_prefix_list_output(
                name=f"com.amazonaws.{ctx.region}.s3"
            ).id
        rules.append(
            ("sagemaker-to-s3", aws.vpc.SecurityGroupEgressRule,
             dict(security_group_id=sm, prefix_list_id=s3_prefix_list, ip_protocol="tcp",
                  from_port=HTTPS, to_port=HTTPS, description="HTTPS to S3 (gateway endpoint)"))
        )  # fmt: skip
        if self._args.nat_gateway:
            rules.append(
                ("sagemaker-to-internet", aws.vpc.SecurityGroupEgressRule,
                 dict(security_group_id=sm, cidr_ipv4="0.0.0.0/0", ip_protocol="tcp",
                      from_port=HTTPS, to_port=HTTPS,
                      description="HTTPS to the internet through NAT (opt-in)"))
            )  # fmt: skip
        self.sg_rules = {
            rule: cls(f"{n}-{rule}", tags=rule_tags, opts=self._child, **kwargs)
            for rule, cls, kwargs in rules
        }

    # --- flow logs ------------------------------------------------------------------------
    def _build_flow_logs(self, ctx: NameContext) -> None:
        a, n = self._args, self._name
        self.flow_log_group = encrypted_log_group(
            f"{n}-flow-logs",
            physical_name=log_group_name(ctx, "vpc-flow-logs"),
            kms_key_arn=a.logs_key_arn,
            retention_days=a.log_retention_days,
            tags=self._tags,
            opts=self._child,
        )
        self.flow_log_role = aws.iam.Role(
            f"{n}-flow-logs-role",
            name=role_name(ctx, "vpc-flow-logs"),
            description="VPC flow logs delivery to CloudWatch Logs",
            assume_role_policy=iam.dumps(
                iam.service_trust("vpc-flow-logs.amazonaws.com", ctx.account_id)
            ),
            tags=self._tags,
            opts=self._child,
        )
        self.flow_log_policy = aws.iam.RolePolicy(
            f"{n}-flow-logs-policy",
            role=self.flow_log_role.id,
            policy=self.flow_log_group.arn.apply(
                lambda arn: iam.dumps(
                    iam.document(
                        iam.statement(
                            "DeliverFlowLogs",
                            [
                                "logs:CreateLogStream",
                                "logs:PutLogEvents",
                                "logs:DescribeLogStreams",
                            ],
                            [arn, f"{arn}:*"],
                        )
                    )
                )
            ),
            opts=self._child,
        )
        self.flow_log = aws.ec2.FlowLog(
            f"{n}-flow-log",
            vpc_id=self.vpc_id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=self.flow_log_group.arn,
            iam_role_arn=self.flow_log_role.arn,
            max_aggregation_interval=60,
            tags=self._tags,
            opts=self._child,
        )
