"""reach: hand-built networks, one per path and one per missing piece.

The base network has everything: interface endpoints with private DNS, an S3 gateway endpoint on
both private route tables, a NAT gateway behind an internet gateway, and groups that allow
exactly what each path needs. Each failure test takes one piece away.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from mlops.rehearsal.model import (
    AWS_SERVICE,
    PUBLIC,
    Call,
    NetworkModel,
    Origin,
    Policy,
    Route,
    RouteTable,
    SecurityGroup,
    SgRule,
    Subnet,
    Vpc,
    VpcEndpoint,
)
from mlops.rehearsal.reach import (
    destination_for,
    destination_parts,
    ecr_layer_bucket_arn,
    endpoint_service_name,
    reach,
    unreachable_reasons,
)

REGION = "eu-west-2"
SM_POLICY = Policy("endpoint policy of vpce-sm", {"Statement": [{"Effect": "Allow"}]})
S3_POLICY = Policy("endpoint policy of vpce-s3", {"Statement": [{"Effect": "Deny"}]})
TO_ENDPOINTS = SgRule("egress", "tcp", 443, 443, security_group_id="sg-ep")
TO_S3 = SgRule("egress", "tcp", 443, 443, prefix_list_id="pl-s3")
TO_WORLD = SgRule("egress", "tcp", 443, 443, cidr="0.0.0.0/0")
FROM_APP = SgRule("ingress", "tcp", 443, 443, security_group_id="sg-app")

APP = Origin("vpc", "vpc-1", ("sub-a", "sub-b"), ("sg-app",))


def _svc(suffix: str) -> str:
    return f"com.amazonaws.{REGION}.{suffix}"


def _interface(eid: str, suffix: str, **kw) -> VpcEndpoint:
    values = dict(
        id=eid,
        vpc_id="vpc-1",
        service_name=_svc(suffix),
        type="Interface",
        private_dns=True,
        subnet_ids=("sub-a", "sub-b"),
        security_group_ids=("sg-ep",),
    )
    values.update(kw)
    return VpcEndpoint(**values)


S3_GATEWAY = VpcEndpoint(
    "vpce-s3",
    "vpc-1",
    _svc("s3"),
    "Gateway",
    route_table_ids=("rt-a", "rt-b"),
    prefix_list_id="pl-s3",
    policy=S3_POLICY,
)


def _tables(nat: bool = True, gateway_on: tuple[str, ...] = ("rt-a", "rt-b")) -> dict:
    tables = {}
    for tid in ("rt-a", "rt-b"):
        routes = [Route("10.0.0.0/16", "local")]
        if tid in gateway_on:
            routes.append(Route("pl-s3", "gateway-endpoint", "vpce-s3"))
        if nat:
            routes.append(Route("0.0.0.0/0", "nat", "nat-1"))
        tables[tid] = RouteTable(tid, "vpc-1", tuple(routes))
    tables["rt-pub"] = RouteTable(
        "rt-pub", "vpc-1", (Route("10.0.0.0/16", "local"), Route("0.0.0.0/0", "igw", "igw-1"))
    )
    return tables


def _model(**kw) -> NetworkModel:
    values = dict(
        account="111111111111",
        region=REGION,
        vpcs={"vpc-1": "10.0.0.0/16"},
        vpc_details={"vpc-1": Vpc("vpc-1", "10.0.0.0/16", True, True)},
        subnets={
            "sub-a": Subnet("sub-a", "vpc-1", "10.0.0.0/24", "rt-a", f"{REGION}a"),
            "sub-b": Subnet("sub-b", "vpc-1", "10.0.1.0/24", "rt-b", f"{REGION}b"),
            "sub-pub": Subnet("sub-pub", "vpc-1", "10.0.255.0/28", "rt-pub", f"{REGION}a", True),
        },
        route_tables=_tables(),
        security_groups={
            "sg-app": SecurityGroup("sg-app", "vpc-1", (TO_ENDPOINTS, TO_S3, TO_WORLD)),
            "sg-ep": SecurityGroup("sg-ep", "vpc-1", (FROM_APP,)),
        },
        endpoints=(
            _interface("vpce-sm", "sagemaker.api", policy=SM_POLICY),
            _interface("vpce-dkr", "ecr.dkr"),
            S3_GATEWAY,
        ),
        nat_gateways={"nat-1": "sub-pub"},
        internet_gateways={"igw-1": "vpc-1"},
        prefix_lists={"pl-s3": _svc("s3")},
    )
    values.update(kw)
    return NetworkModel(**values)


def _without_nat(**kw) -> NetworkModel:
    return _model(**{"route_tables": _tables(nat=False), "nat_gateways": {}, **kw})


def _groups(app: tuple[SgRule, ...], ep: tuple[SgRule, ...] = (FROM_APP,)) -> dict:
    return {
        "sg-app": SecurityGroup("sg-app", "vpc-1", app),
        "sg-ep": SecurityGroup("sg-ep", "vpc-1", ep),
    }


# --- destinations ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("action", "destination"),
    [
        ("s3:GetObject", "s3"),
        ("sagemaker:InvokeEndpoint", "sagemaker.runtime"),
        ("sagemaker:InvokeEndpointAsync", "sagemaker.runtime"),
        ("sagemaker:CreateTrainingJob", "sagemaker.api"),
        ("ecr:GetAuthorizationToken", "ecr.api"),
        ("ecr:BatchGetImage", "ecr.dkr"),
        ("ecr:GetDownloadUrlForLayer", "ecr.dkr+s3"),
        ("ecr:DescribeImages", "ecr.api"),
        ("states:StartSyncExecution", "sync-states"),
        ("states:StartExecution", "states"),
        ("logs:PutLogEvents", "logs"),
        ("cloudwatch:PutMetricData", "monitoring"),
        ("kms:Decrypt", "kms"),
        ("sts:AssumeRole", "sts"),
        ("sts:GetServiceBearerToken", "sts"),
        ("secretsmanager:GetSecretValue", "secretsmanager"),
        ("ssm:GetParameter", "ssm"),
        ("lambda:InvokeFunction", "lambda"),
        ("firehose:PutRecordBatch", "kinesis-firehose"),
        ("xray:PutTraceSegments", "xray"),
        ("execute-api:Invoke", "execute-api"),
        ("codeartifact:GetAuthorizationToken", "codeartifact.api"),
        ("codeartifact:ReadFromRepository", "codeartifact.repositories"),
        ("codeconnections:UseConnection", "codeconnections.api"),
        ("codestar-connections:UseConnection", "codestar-connections.api"),
        ("codecommit:GitPull", "git-codecommit"),
        ("codecommit:GetRepository", "codecommit"),
        ("codebuild:StartBuild", "codebuild"),
        ("codepipeline:StartPipelineExecution", "codepipeline"),
        ("servicecatalog:ProvisionProduct", "servicecatalog"),
        ("S3:PutObject", "s3"),  # IAM actions are case-insensitive
    ],
)
def test_destination_of_each_action(action: str, destination: str) -> None:
    assert destination_for(Call(action, "*")) == destination


def test_a_declared_destination_wins_and_urls_stay_urls() -> None:
    call = Call("https:GET", "*", destination="https://pypi.org", network_only=True)
    assert destination_for(call) == "https://pypi.org"
    assert (
        destination_for(Call("sagemaker:CreatePresignedDomainUrl", "*", destination="studio"))
        == "studio"
    )
    assert destination_parts("https://pypi.org/simple+extra") == ("https://pypi.org/simple+extra",)
    assert destination_parts("ecr.dkr+s3") == ("ecr.dkr", "s3")
    assert endpoint_service_name(REGION, "studio") == f"aws.sagemaker.{REGION}.studio"


def test_an_action_without_a_service_prefix_is_refused() -> None:
    with pytest.raises(ValueError, match=r"Call.action 'GetObject'.*Call.destination"):
        destination_for(Call("GetObject", "*"))


# --- outside any VPC ---------------------------------------------------------------------------
def test_public_and_aws_origins_need_no_customer_network() -> None:
    empty = NetworkModel("111111111111", REGION)
    for destination in ("https://pypi.org", "sagemaker.api", "ecr.dkr+s3"):
        assert reach(PUBLIC, destination, empty).via.count("public internet") >= 1
        assert reach(PUBLIC, destination, empty).reachable
        assert reach(AWS_SERVICE, destination, empty).reachable
    assert reach(AWS_SERVICE, "kms", empty).via == "AWS internal"


# --- the paths ---------------------------------------------------------------------------------
def test_interface_endpoint_with_private_dns_is_the_route_and_carries_its_policy() -> None:
    result = reach(APP, "sagemaker.api", _model())
    assert result.reachable, result.reason
    assert result.via == "interface endpoint vpce-sm (private DNS)"
    assert result.endpoint_policy == SM_POLICY
    assert unreachable_reasons(APP, "sagemaker.api", _model()) == ()


def test_s3_goes_through_the_gateway_endpoint_not_the_nat() -> None:
    result = reach(APP, "s3", _model())
    assert (result.reachable, result.via, result.endpoint_policy) == (
        True,
        "gateway endpoint vpce-s3",
        S3_POLICY,
    )


def test_nat_behind_an_internet_gateway_reaches_the_internet() -> None:
    result = reach(APP, "https://pypi.org", _model())
    assert (result.reachable, result.via, result.endpoint_policy) == (True, "NAT nat-1", None)


def test_a_service_without_an_endpoint_falls_back_to_the_nat() -> None:
    result = reach(APP, "codeartifact.repositories", _model())
    assert (result.reachable, result.via) == (True, "NAT nat-1")


def test_egress_to_a_cidr_covering_the_endpoint_subnets_is_enough() -> None:
    wide = SgRule("egress", "tcp", 0, 65535, cidr="10.0.0.0/16")
    narrow = SgRule("egress", "tcp", 443, 443, cidr="10.0.0.0/24")  # only sub-a's interfaces
    assert reach(APP, "sagemaker.api", _model(security_groups=_groups((wide,)))).reachable
    assert not reach(APP, "sagemaker.api", _model(security_groups=_groups((narrow,)))).reachable


def test_endpoint_ingress_from_a_cidr_covering_the_origin_subnets_is_enough() -> None:
    from_vpc = SgRule("ingress", "tcp", 443, 443, cidr="10.0.0.0/16")
    from_a = SgRule("ingress", "tcp", 443, 443, cidr="10.0.0.0/24")  # sub-b is not covered
    all_traffic = SgRule("ingress", "-1", security_group_id="sg-app")
    assert reach(
        APP, "sagemaker.api", _model(security_groups=_groups((TO_ENDPOINTS,), (from_vpc,)))
    ).reachable
    assert reach(
        APP, "sagemaker.api", _model(security_groups=_groups((TO_ENDPOINTS,), (all_traffic,)))
    ).reachable
    assert not reach(
        APP, "sagemaker.api", _model(security_groups=_groups((TO_ENDPOINTS,), (from_a,)))
    ).reachable


def test_a_docker_pull_needs_the_registry_and_s3_for_the_layers() -> None:
    result = reach(APP, "ecr.dkr+s3", _model())
    assert result.reachable, result.reason
    registry, layers = result.legs
    assert (registry.destination, registry.via) == (
        "ecr.dkr",
        "interface endpoint vpce-dkr (private DNS)",
    )
    assert (layers.destination, layers.endpoint_policy) == ("s3", S3_POLICY)
    assert layers.resource == ecr_layer_bucket_arn(REGION)


# --- each failure ------------------------------------------------------------------------------
def test_missing_endpoint_and_no_nat() -> None:
    result = reach(APP, "codeartifact.repositories", _without_nat())
    assert not result.reachable
    assert result.reason == (
        f"no interface endpoint {_svc('codeartifact.repositories')} in vpc-1, "
        "and sub-a, sub-b have no route to a NAT gateway"
    )
    assert not result.unknown


def test_private_dns_off_sends_the_request_to_the_public_endpoint() -> None:
    model = _without_nat(endpoints=(_interface("vpce-sm", "sagemaker.api", private_dns=False),))
    assert unreachable_reasons(APP, "sagemaker.api", model) == (
        f"interface endpoint vpce-sm ({_svc('sagemaker.api')}) has private DNS off",
        "sub-a, sub-b have no route to a NAT gateway",
    )
    # with a NAT the request still gets there, over the public endpoint: no endpoint policy
    nat = reach(
        APP,
        "sagemaker.api",
        replace(model, route_tables=_tables(), nat_gateways={"nat-1": "sub-pub"}),
    )
    assert (nat.reachable, nat.via, nat.endpoint_policy) == (True, "NAT nat-1", None)


def test_private_dns_needs_dns_hostnames_on_the_vpc() -> None:
    model = _without_nat(vpc_details={"vpc-1": Vpc("vpc-1", "10.0.0.0/16", True, False)})
    reasons = unreachable_reasons(APP, "sagemaker.api", model)
    assert (
        reasons[0]
        == "interface endpoint vpce-sm has private DNS, but vpc-1 has enableDnsHostnames off"
    )
    # a VPC without recorded details has AWS's defaults: hostnames off
    assert not reach(APP, "sagemaker.api", _without_nat(vpc_details={})).reachable


def test_dns_support_off_resolves_nothing() -> None:
    model = _model(vpc_details={"vpc-1": Vpc("vpc-1", "10.0.0.0/16", False, True)})
    result = reach(APP, "https://pypi.org", model)
    assert result.reason == "vpc-1 has enableDnsSupport off: nothing there resolves pypi.org"


def test_origin_group_without_egress_to_the_endpoints_group() -> None:
    model = _model(security_groups=_groups((TO_S3,)))
    result = reach(APP, "sagemaker.api", model)
    assert not result.reachable
    assert (
        result.reason
        == "security group sg-app has no egress rule to tcp/443 of the endpoints' group sg-ep"
    )
    assert (
        result.via == "interface endpoint vpce-sm (private DNS)"
    )  # private DNS: the NAT is not used
    assert result.endpoint_policy == SM_POLICY


def test_endpoint_group_without_ingress_from_the_origin() -> None:
    model = _model(security_groups=_groups((TO_ENDPOINTS,), ()))
    assert unreachable_reasons(APP, "sagemaker.api", model) == (
        "the endpoints' group sg-ep has no ingress rule for tcp/443 from sg-app",
    )


def test_a_rule_for_another_port_does_not_count() -> None:
    ssh = SgRule("egress", "tcp", 22, 22, security_group_id="sg-ep")
    udp = SgRule("egress", "udp", 443, 443, security_group_id="sg-ep")
    assert not reach(APP, "sagemaker.api", _model(security_groups=_groups((ssh, udp)))).reachable


def test_no_nat_route_to_an_external_host() -> None:
    assert unreachable_reasons(APP, "https://pypi.org", _without_nat()) == (
        "sub-a, sub-b have no route to a NAT gateway",
    )


def test_nat_without_an_internet_gateway() -> None:
    tables = _tables()
    tables["rt-pub"] = RouteTable("rt-pub", "vpc-1", (Route("10.0.0.0/16", "local"),))
    result = reach(APP, "https://pypi.org", _model(route_tables=tables, internet_gateways={}))
    assert result.reason == (
        "sub-a, sub-b route 0.0.0.0/0 to NAT gateway nat-1, whose subnet sub-pub has no "
        "0.0.0.0/0 route to an internet gateway"
    )


def test_nat_whose_subnet_routes_the_internet_elsewhere() -> None:
    tables = _tables()
    tables["rt-pub"] = RouteTable("rt-pub", "vpc-1", (Route("0.0.0.0/0", "tgw", "tgw-1"),))
    result = reach(APP, "https://pypi.org", _model(route_tables=tables))
    assert "whose subnet sub-pub has no 0.0.0.0/0 route to an internet gateway" in result.reason


def test_nat_whose_internet_gateway_is_attached_elsewhere() -> None:
    result = reach(APP, "https://pypi.org", _model(internet_gateways={"igw-1": "vpc-9"}))
    assert "whose internet gateway igw-1 is not attached to vpc-1" in result.reason


def test_private_nat_and_direct_internet_gateway_routes_do_not_reach_the_internet() -> None:
    private = reach(APP, "https://pypi.org", _model(private_nat_gateways=("nat-1",)))
    assert "nat-1, which is private (no internet)" in private.reason
    tables = _tables(nat=False)
    tables["rt-a"] = replace(
        tables["rt-a"], routes=(*tables["rt-a"].routes, Route("0.0.0.0/0", "igw", "igw-1"))
    )
    direct = unreachable_reasons(APP, "https://pypi.org", _model(route_tables=tables))
    assert direct == (
        "sub-a routes 0.0.0.0/0 straight to internet gateway igw-1: interfaces there get no "
        "public IP, a NAT gateway is needed",
        "sub-b has no route to a NAT gateway",
    )


def test_nat_without_egress_to_the_internet() -> None:
    result = reach(APP, "https://pypi.org", _model(security_groups=_groups((TO_ENDPOINTS, TO_S3))))
    assert result.reason == "security group sg-app has no egress rule to tcp/443 of 0.0.0.0/0"
    corporate = SgRule("egress", "tcp", 443, 443, cidr="10.0.0.0/8")  # pypi.org is not in it
    assert not reach(
        APP, "https://pypi.org", _model(security_groups=_groups((corporate,)))
    ).reachable
    ssh = reach(APP, "ssh://git@github.com", _model())  # port follows the URL
    assert ssh.reason == "security group sg-app has no egress rule to tcp/22 of 0.0.0.0/0"


def test_gateway_endpoint_not_on_the_subnets_route_table() -> None:
    s3 = replace(S3_GATEWAY, route_table_ids=("rt-a",))
    model = _without_nat(route_tables=_tables(nat=False, gateway_on=("rt-a",)), endpoints=(s3,))
    assert unreachable_reasons(APP, "s3", model) == (
        "gateway endpoint vpce-s3 is not on route table rt-b of sub-b",
        "sub-b has no route to a NAT gateway",
    )
    # sub-b falls back to the NAT when there is one: both paths are named
    both = reach(
        APP,
        "s3",
        replace(
            model, route_tables=_tables(gateway_on=("rt-a",)), nat_gateways={"nat-1": "sub-pub"}
        ),
    )
    assert (both.reachable, both.via) == (True, "gateway endpoint vpce-s3 and NAT nat-1")


def test_no_s3_endpoint_at_all() -> None:
    model = _without_nat(endpoints=())
    assert (
        unreachable_reasons(APP, "s3", model)[0]
        == f"no gateway or interface endpoint {_svc('s3')} in vpc-1"
    )


def test_prefix_list_missing_from_the_egress() -> None:
    model = _model(security_groups=_groups((TO_ENDPOINTS,)))
    assert unreachable_reasons(APP, "s3", model) == (
        "security group sg-app has no egress rule to tcp/443 of prefix list pl-s3 or 0.0.0.0/0",
    )
    # all HTTPS out covers the prefix list too
    assert reach(APP, "s3", _model(security_groups=_groups((TO_WORLD,)))).reachable


def test_a_rule_whose_peer_was_unknown_is_named() -> None:
    lost = SgRule("egress", "tcp", 443, 443, name="net-sagemaker-to-s3")
    no_list = replace(S3_GATEWAY, prefix_list_id=None)
    model = _model(
        security_groups=_groups((TO_ENDPOINTS, lost)), endpoints=(no_list,), prefix_lists={}
    )
    assert unreachable_reasons(APP, "s3", model) == (
        "security group sg-app has no egress rule to tcp/443 of the s3 prefix list (vpce-s3 has "
        "none recorded) or 0.0.0.0/0 (rule net-sagemaker-to-s3 has no recorded peer)",
    )


def test_a_pull_fails_on_the_layer_leg_alone() -> None:
    model = _model(security_groups=_groups((TO_ENDPOINTS,)))
    result = reach(APP, "ecr.dkr+s3", model)
    assert not result.reachable
    assert [leg.reachable for leg in result.legs] == [True, False]
    assert (
        result.reason
        == "security group sg-app has no egress rule to tcp/443 of prefix list pl-s3 or 0.0.0.0/0"
    )


def test_an_imported_vpc_is_an_unknown_network() -> None:
    model = _model(vpcs={}, vpc_details={"vpc-1": Vpc("vpc-1", known=False)}, subnets={})
    result = reach(APP, "https://pypi.org", model)
    assert (result.reachable, result.unknown, result.via) == (False, True, "unknown network")
    assert result.reason.startswith("unknown network: vpc-1 is an imported VPC (existingVpcId)")
    endpoint = reach(APP, "sagemaker.api", model)
    assert (
        endpoint.unknown
        and "interface endpoint vpce-sm and its groups would admit it" in endpoint.reason
    )
    # a group rule that is missing fails whatever the VPC is
    broken = reach(APP, "sagemaker.api", replace(model, security_groups=_groups((TO_S3,))))
    assert (
        not broken.unknown and "no egress rule to tcp/443 of the endpoints' group" in broken.reason
    )


def test_subnet_on_the_main_route_table_has_only_the_local_route() -> None:
    subnets = {**_model().subnets, "sub-a": Subnet("sub-a", "vpc-1", "10.0.0.0/24", None)}
    origin = Origin("vpc", "vpc-1", ("sub-a",), ("sg-app",))
    assert unreachable_reasons(origin, "https://pypi.org", _model(subnets=subnets)) == (
        "sub-a has no route to a NAT gateway",
    )


def test_origins_outside_the_model_are_named() -> None:
    origin = Origin("vpc", "vpc-1", ("sub-a", "sub-x"), ("sg-app", "sg-x"))
    assert unreachable_reasons(origin, "sagemaker.api", _model()) == (
        "subnets sub-x are not in vpc-1 as the estate builds it",
        "security groups sg-x are not in the estate",
    )


def test_reasons_are_deterministic_and_short() -> None:
    subnets = {f"sub-{i}": Subnet(f"sub-{i}", "vpc-1", f"10.0.{i}.0/24", None) for i in range(6)}
    forward = Origin("vpc", "vpc-1", tuple(subnets), ("sg-app",))
    backward = Origin("vpc", "vpc-1", tuple(reversed(subnets)), ("sg-app",))
    model = _without_nat(subnets=subnets)
    first = reach(forward, "https://pypi.org", model).reason
    assert first == reach(backward, "https://pypi.org", model).reason
    assert first == "sub-0, sub-1, sub-2 and 3 more have no route to a NAT gateway"
