"""networks: recorded resources → NetworkModel, and reach on what the platform builds today.

Ids are only ever read from the recorded state (the mocks' id format may change).
"""

from __future__ import annotations

import json
import zlib

import pytest
from components._helpers import ctx_of, tags_of

import mlops.program
from mlops.components.network import Network, NetworkArgs
from mlops.config import StackConfig
from mlops.rehearsal.model import Origin, SgRule
from mlops.rehearsal.networks import from_mocks, network_model, network_models
from mlops.rehearsal.reach import reach
from mlops.testing.mocks import RecordedResource, RecordingMocks, run

ACCOUNT, REGION = "111111111111", "eu-west-2"
EP = "aws:ec2/vpcEndpoint:VpcEndpoint"


def _r(typ: str, name: str, inputs: dict, **state) -> RecordedResource:
    short = typ.rsplit(":", 1)[-1]
    return RecordedResource(
        typ,
        name,
        inputs,
        True,
        f"urn:{short}:{name}",
        state={**inputs, "id": f"{name}-id", **state},
    )


def _ec2(kind: str) -> str:
    return f"aws:ec2/{kind[0].lower()}{kind[1:]}:{kind}"


def _id_of(mocks: RecordingMocks, name: str) -> str:
    return mocks.named(name).state["id"]


class _GatewayPrefixLists(RecordingMocks):
    """The provider returns a gateway endpoint's prefixListId; today's mocks leave it out, and the
    SG rule built from it then has no peer. Fill it in only when absent."""

    def new_resource(self, args):
        rid, state = super().new_resource(args)
        if args.typ == EP and state.get("vpcEndpointType", "Gateway") == "Gateway":
            state.setdefault("prefixListId", f"pl-{zlib.crc32(args.name.encode()):08x}")
        return rid, state


@pytest.fixture(scope="module")
def dev() -> RecordingMocks:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mlops.program, "RecordingMocks", _GatewayPrefixLists)
        return mlops.program.build_stack("dev")


def _vpc_origin(vpc_config: dict, subnets_key: str = "subnets") -> Origin:
    return Origin(
        "vpc",
        vpc_config["vpcId"],
        tuple(vpc_config[subnets_key]),
        tuple(vpc_config["securityGroupIds"]),
    )


def _env(project: RecordedResource) -> dict[str, str]:
    return {v["name"]: v["value"] for v in project.inputs["environment"]["environmentVariables"]}


# --- the real platform program (dev) -------------------------------------------------------------
def test_dev_network_is_read_from_the_program(dev: RecordingMocks) -> None:
    net = from_mocks(dev)
    vpc_id = _id_of(dev, "network-vpc")
    assert list(net.vpcs) == [vpc_id] and net.vpcs[vpc_id] == "10.10.0.0/16"
    details = net.vpc_details[vpc_id]
    assert details.known and details.enable_dns_support and details.enable_dns_hostnames
    subnets = {_id_of(dev, f"network-private-{i}") for i in range(2)}
    assert set(net.subnets) == subnets
    s3 = next(e for e in net.endpoints if e.type == "Gateway")
    assert s3.id == _id_of(dev, "network-s3")
    assert s3.prefix_list_id == dev.named("network-s3").state["prefixListId"]
    for sid in subnets:  # associated table: local route + the gateway endpoint's prefix list
        table = net.route_tables[net.subnets[sid].route_table_id]
        assert [(r.target, r.target_id) for r in table.routes] == [
            ("local", ""),
            ("gateway-endpoint", s3.id),
        ]
    interface = [e for e in net.endpoints if e.type == "Interface"]
    assert len(interface) == len(dev.of_type(EP)) - 1
    assert all(e.private_dns and set(e.subnet_ids) == subnets for e in interface)
    assert not net.nat_gateways and not net.internet_gateways
    sm = net.security_groups[_id_of(dev, "network-sagemaker-sg")]
    assert (
        SgRule(
            "egress",
            "tcp",
            443,
            443,
            prefix_list_id=s3.prefix_list_id,
            name="network-sagemaker-to-s3",
        )
        in sm.rules
    )
    adopted = net.security_groups[_id_of(dev, "network-default-sg")]
    assert adopted.rules == ()  # DefaultSecurityGroup with no rules strips AWS's defaults
    assert net.notes == ()


def test_a_build_in_the_dev_vpc_cannot_reach_the_package_index(dev: RecordingMocks) -> None:
    net = from_mocks(dev)
    # no build runs in the VPC any more (docs/deploy.md, "Egress"); one placed in its private
    # subnets with the SageMaker group would see this:
    exports = dev.stack_exports
    build = Origin(
        "vpc",
        exports["vpc_id"],
        tuple(exports["private_subnet_ids"]),
        (exports["sagemaker_security_group_id"],),
    )
    result = reach(build, "https://pypi.org", net)
    assert not result.reachable and not result.unknown
    subnets = sorted(build.subnet_ids)
    assert result.reason == f"{subnets[0]}, {subnets[1]} have no route to a NAT gateway"
    assert not reach(build, "https://github.com", net).reachable
    # what it can reach: the endpoints the network creates
    assert reach(build, "codeartifact.repositories", net).reachable
    assert reach(build, "secretsmanager", net).reachable  # the decide Lambda's key secret
    assert "no interface endpoint com.amazonaws.eu-west-2.sns" in reach(build, "sns", net).reason


def test_sagemaker_jobs_in_the_dev_vpc_reach_the_api_and_s3(dev: RecordingMocks) -> None:
    net = from_mocks(dev)
    env = _env(dev.named("usecase-remedy-training-pipeline"))
    jobs = Origin(
        "vpc",
        None,
        tuple(env["SUBNET_IDS"].split(",")),
        tuple(env["SECURITY_GROUP_IDS"].split(",")),
    )
    api = reach(jobs, "sagemaker.api", net)
    assert api.reachable, api.reason
    assert api.via == f"interface endpoint {_id_of(dev, 'network-sagemaker-api')} (private DNS)"
    s3 = reach(jobs, "s3", net)
    assert (s3.reachable, s3.via) == (True, f"gateway endpoint {_id_of(dev, 'network-s3')}"), (
        s3.reason
    )
    pull = reach(jobs, "ecr.dkr+s3", net)
    assert pull.reachable, pull.reason
    for service in ("logs", "kms", "sts", "monitoring", "ecr.api"):
        assert reach(jobs, service, net).reachable, service


# --- the Network component on its own ------------------------------------------------------------
def _network_args(cfg: StackConfig, **kw) -> NetworkArgs:
    values = dict(
        names=ctx_of(cfg),
        tags=tags_of(cfg),
        vpc_cidr="10.10.0.0/16",
        availability_zones=[f"{cfg.region}a", f"{cfg.region}b"],
        logs_key_arn="arn:aws:kms:eu-west-2:111111111111:key/logs",
        log_retention_days=30,
        git_provider="github",
    )
    values.update(kw)
    return NetworkArgs(**values)


@pytest.mark.parametrize("stack_config", ["dev"], indirect=True)
def test_opt_in_nat_reaches_the_internet(stack_config: StackConfig, pulumi_mocks: RecordingMocks):
    run(lambda: Network("net", _network_args(stack_config, nat_gateway=True)))
    net = from_mocks(pulumi_mocks)
    nats = sorted(net.nat_gateways)
    assert nats == sorted(r.state["id"] for r in pulumi_mocks.of_type(_ec2("NatGateway")))
    igw = _id_of(pulumi_mocks, "net-igw")
    assert net.internet_gateways == {igw: _id_of(pulumi_mocks, "net-vpc")}
    public = {sid for sid, s in net.subnets.items() if s.public}
    assert public == {_id_of(pulumi_mocks, f"net-public-{i}") for i in range(2)}
    assert set(net.nat_gateways.values()) == public
    sm = _id_of(pulumi_mocks, "net-sagemaker-sg")
    private = tuple(_id_of(pulumi_mocks, f"net-private-{i}") for i in range(2))
    origin = Origin("vpc", None, private, (sm,))
    pypi = reach(origin, "https://pypi.org", net)
    assert (pypi.reachable, pypi.via) == (True, f"NAT {nats[0]}, {nats[1]}"), pypi.reason
    # an endpoint's private DNS still takes its service's traffic
    assert reach(origin, "kms", net).via.startswith("interface endpoint ")


@pytest.mark.parametrize("stack_config", ["dev"], indirect=True)
def test_existing_vpc_is_an_unknown_network(
    stack_config: StackConfig, pulumi_mocks: RecordingMocks
):
    subnets = ["subnet-0aaa", "subnet-0bbb"]
    run(
        lambda: Network(
            "net",
            _network_args(
                stack_config,
                existing_vpc_id="vpc-0123456789abcdef0",
                existing_private_subnet_ids=subnets,
            ),
        )
    )
    net = from_mocks(pulumi_mocks)
    assert net.vpcs == {} and not net.vpc_details["vpc-0123456789abcdef0"].known
    origin = Origin(
        "vpc", "vpc-0123456789abcdef0", tuple(subnets), (_id_of(pulumi_mocks, "net-sagemaker-sg"),)
    )
    result = reach(origin, "https://pypi.org", net)
    assert (result.reachable, result.unknown) == (False, True)
    assert (
        "unknown network: vpc-0123456789abcdef0 is an imported VPC (existingVpcId)" in result.reason
    )
    assert reach(origin, "sts", net).unknown  # endpoint is created, the VPC's DNS is not known


# --- provider behaviour, on hand-made recordings -------------------------------------------------
def _vpc(**inputs) -> RecordedResource:
    return _r(
        _ec2("Vpc"),
        "v",
        {"cidrBlock": "10.0.0.0/16", **inputs},
        defaultSecurityGroupId="sg-dflt",
        mainRouteTableId="rtb-main",
    )


def _subnet(name: str = "s", cidr: str = "10.0.0.0/24") -> RecordedResource:
    return _r(_ec2("Subnet"), name, {"vpcId": "v-id", "cidrBlock": cidr})


def _model(*resources: RecordedResource):
    return network_model(resources, ACCOUNT, REGION)  # positional, as the runner calls it


def test_vpc_dns_defaults_are_the_providers() -> None:
    details = _model(_vpc()).vpc_details["v-id"]
    assert (details.enable_dns_support, details.enable_dns_hostnames) == (True, False)


def test_a_new_security_group_has_no_egress_but_a_default_group_keeps_awss_rules() -> None:
    sg = _r(
        _ec2("SecurityGroup"),
        "g",
        {
            "vpcId": "v-id",
            "ingress": [
                {
                    "protocol": "tcp",
                    "fromPort": 443.0,
                    "toPort": 443.0,
                    "cidrBlocks": ["10.0.0.0/8"],
                    "self": True,
                }
            ],
        },
    )
    net = _model(_vpc(), sg)
    assert net.security_groups["g-id"].rules == (
        SgRule("ingress", "tcp", 443, 443, cidr="10.0.0.0/8", name="g"),
        SgRule("ingress", "tcp", 443, 443, security_group_id="g-id", name="g"),
    )
    default = net.security_groups["sg-dflt"].rules
    assert {(r.direction, r.protocol, r.cidr, r.security_group_id) for r in default} == {
        ("ingress", "-1", None, "sg-dflt"),
        ("egress", "-1", "0.0.0.0/0", None),
    }


def test_standalone_rules_of_both_generations_join_their_group() -> None:
    sg = _r(_ec2("SecurityGroup"), "g", {"vpcId": "v-id"})
    legacy = _r(
        _ec2("SecurityGroupRule"),
        "old",
        {
            "type": "egress",
            "securityGroupId": "g-id",
            "protocol": "6",
            "fromPort": 443.0,
            "toPort": 443.0,
            "prefixListIds": ["pl-1"],
        },
    )
    new = _r(
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "new",
        {"securityGroupId": "g-id", "ipProtocol": "-1", "referencedSecurityGroupId": "g-id"},
    )
    lost = _r(
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        "lost",
        {"securityGroupId": "g-id", "ipProtocol": "tcp", "fromPort": 443, "toPort": 443},
    )
    net = _model(_vpc(), sg, legacy, new, lost)
    assert net.security_groups["g-id"].rules == (
        SgRule("ingress", "-1", security_group_id="g-id", name="new"),
        SgRule("egress", "tcp", 443, 443, name="lost"),
        SgRule("egress", "tcp", 443, 443, prefix_list_id="pl-1", name="old"),
    )
    assert "rule lost of g-id has no recorded peer" in net.notes


def test_routes_associations_and_the_main_table() -> None:
    igw = _r(_ec2("InternetGateway"), "igw", {"vpcId": "v-id"})
    table = _r(
        _ec2("RouteTable"),
        "rt",
        {"vpcId": "v-id", "routes": [{"cidrBlock": "0.0.0.0/0", "gatewayId": "igw-id"}]},
    )
    nat = _r(_ec2("NatGateway"), "nat", {"subnetId": "pub-id", "allocationId": "eip-id"})
    eip = _r(_ec2("Eip"), "eip", {"domain": "vpc"})
    private = _r(_ec2("RouteTable"), "prt", {"vpcId": "v-id"})
    route = _r(
        _ec2("Route"),
        "r",
        {"routeTableId": "prt-id", "destinationCidrBlock": "0.0.0.0/0", "natGatewayId": "nat-id"},
    )
    rta = [
        _r(_ec2("RouteTableAssociation"), f"a{i}", {"subnetId": s, "routeTableId": t})
        for i, (s, t) in enumerate([("pub-id", "rt-id"), ("priv-id", "prt-id")])
    ]
    net = _model(
        _vpc(),
        igw,
        table,
        nat,
        eip,
        private,
        route,
        *rta,
        _subnet("pub"),
        _subnet("priv", "10.0.1.0/24"),
        _subnet("orphan", "10.0.2.0/24"),
    )
    assert net.subnets["pub-id"].public and not net.subnets["priv-id"].public
    assert [(r.destination, r.target) for r in net.route_tables["prt-id"].routes] == [
        ("10.0.0.0/16", "local"),
        ("0.0.0.0/0", "nat"),
    ]
    assert net.subnets["orphan-id"].route_table_id == "rtb-main"
    assert net.route_tables["rtb-main"].routes[0].target == "local"
    assert net.nat_gateways == {"nat-id": "pub-id"} and net.notes == ()


def test_endpoints_defaults_policy_and_associations() -> None:
    interface = _r(
        EP,
        "kms",
        {
            "vpcId": "v-id",
            "serviceName": "com.amazonaws.eu-west-2.kms",
            "vpcEndpointType": "Interface",
            "subnetIds": ["s-id"],
            "policy": json.dumps({"Statement": []}),
        },
    )
    gateway = _r(
        EP,
        "s3",
        {"vpcId": "v-id", "serviceName": "com.amazonaws.eu-west-2.s3"},
        prefixListId="pl-s3",
    )
    table = _r(_ec2("RouteTable"), "rt", {"vpcId": "v-id"})
    assoc = _r(
        _ec2("VpcEndpointRouteTableAssociation"),
        "era",
        {"vpcEndpointId": "s3-id", "routeTableId": "rt-id"},
    )
    net = _model(_vpc(), _subnet(), interface, gateway, table, assoc)
    kms, s3 = sorted(net.endpoints, key=lambda e: e.id)
    assert (kms.type, kms.private_dns, kms.security_group_ids) == ("Interface", False, ("sg-dflt",))
    assert kms.policy is not None and kms.policy.document == {"Statement": []}
    assert (s3.type, s3.route_table_ids, s3.prefix_list_id) == ("Gateway", ("rt-id",), "pl-s3")
    assert net.prefix_lists == {"pl-s3": "com.amazonaws.eu-west-2.s3"}
    assert net.route_tables["rt-id"].routes[-1].target_id == "s3-id"


def test_programs_of_one_account_share_their_networks() -> None:
    platform = [_vpc(), _r(_ec2("SecurityGroup"), "g", {"vpcId": "v-id"})]
    inference = [
        _r(
            "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
            "out",
            {"securityGroupId": "g-id", "ipProtocol": "-1", "cidrIpv4": "0.0.0.0/0"},
        )
    ]
    models = network_models(
        [(ACCOUNT, REGION, platform), (ACCOUNT, REGION, inference), ("222222222222", REGION, [])]
    )
    assert sorted(models) == [(ACCOUNT, REGION), ("222222222222", REGION)]
    assert models[(ACCOUNT, REGION)].security_groups["g-id"].rules[0].cidr == "0.0.0.0/0"
    # alone, the inference program's rule names a group it does not have
    assert "rule out is in security group g-id, not in the estate" in _model(*inference).notes
