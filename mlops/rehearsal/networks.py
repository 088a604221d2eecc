"""One `NetworkModel` per (account, region) from a program's recorded resources.

Reads what the engine would have received (inputs, camelCase) and what the provider returned
(state: ``id``, ``prefixListId``, ``defaultSecurityGroupId``, ``mainRouteTableId``), and follows
references only through recorded ids, never through their format. Provider behaviour that
decides reachability is applied here, as pulumi-aws applies it:

- a new ``aws.ec2.SecurityGroup`` has no egress at all (the provider revokes AWS's allow-all
  rule); a VPC's default group keeps AWS's rules (all in from itself, all out) unless
  ``DefaultSecurityGroup`` adopts it, which replaces every rule with its inline ones;
- a VPC endpoint is ``Gateway`` unless typed otherwise; private DNS is off unless enabled; an
  interface endpoint with no security group gets the VPC's default group;
- a gateway endpoint adds a route to its service's prefix list in each of its route tables;
- a subnet with no route-table association uses the VPC's main route table (local route only);
- a VPC referenced by id but not created (``existingVpcId``) is an unknown network.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlops.rehearsal.model import (
    NetworkModel,
    Policy,
    Route,
    RouteTable,
    SecurityGroup,
    SgRule,
    Subnet,
    Vpc,
    VpcEndpoint,
)

if TYPE_CHECKING:  # only the shape is used: no Pulumi import for a pure reader
    from mlops.testing.mocks import RecordedResource

__all__ = ["from_mocks", "network_model", "network_models"]

_VPC = "aws:ec2/vpc:Vpc"
_SUBNET = "aws:ec2/subnet:Subnet"
_ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
_ROUTE = "aws:ec2/route:Route"
_RTA = "aws:ec2/routeTableAssociation:RouteTableAssociation"
_SG = "aws:ec2/securityGroup:SecurityGroup"
_DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
_SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
_EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
_EP_RT = "aws:ec2/vpcEndpointRouteTableAssociation:VpcEndpointRouteTableAssociation"
_EP_SUBNET = "aws:ec2/vpcEndpointSubnetAssociation:VpcEndpointSubnetAssociation"
_EP_SG = "aws:ec2/vpcEndpointSecurityGroupAssociation:VpcEndpointSecurityGroupAssociation"
_EP_POLICY = "aws:ec2/vpcEndpointPolicy:VpcEndpointPolicy"
_NAT = "aws:ec2/natGateway:NatGateway"
_IGW = "aws:ec2/internetGateway:InternetGateway"
_IGW_ATTACH = "aws:ec2/internetGatewayAttachment:InternetGatewayAttachment"
_EIP = "aws:ec2/eip:Eip"

ALL_IPV4 = "0.0.0.0/0"


def from_mocks(mocks: Any) -> NetworkModel:
    """The network of one program run under `RecordingMocks` (its account and region)."""
    return network_model(mocks.resources, account=mocks.account_id, region=mocks.region)


def network_models(
    programs: Iterable[tuple[str, str, Iterable[RecordedResource]]],
) -> dict[tuple[str, str], NetworkModel]:
    """One model per (account, region) from (account, region, resources) of several programs.

    Programs of one account share its networks (an inference program's groups and rules in the
    platform's VPC), so their resources are read together.
    """
    grouped: dict[tuple[str, str], list[RecordedResource]] = {}
    for account, region, resources in programs:
        grouped.setdefault((account, region), []).extend(resources)
    return {
        key: network_model(resources, account=key[0], region=key[1])
        for key, resources in sorted(grouped.items())
    }


def network_model(
    resources: Iterable[RecordedResource],
    account: str,
    region: str,
    *,
    existing_vpc_ids: Iterable[str] = (),
) -> NetworkModel:
    """The networks these resources create in one account and region.

    ``existing_vpc_ids``: VPCs imported by id (config ``existingVpcId``); a VPC that resources
    reference but none creates is treated the same way.
    """
    return _Builder(list(resources), account, region, tuple(existing_vpc_ids)).build()


# --- reading recorded values ------------------------------------------------------------------
def _values(r: RecordedResource) -> dict[str, Any]:
    return {**r.inputs, **r.state}


def _id(r: RecordedResource) -> str | None:
    value = r.state.get("id")
    return value if isinstance(value, str) and value else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _strs(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list | tuple):
        return [v for v in value if isinstance(v, str) and v]
    return []


def _port(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


_PROTOCOLS = {"-1": "-1", "all": "-1", "6": "tcp", "tcp": "tcp", "17": "udp", "udp": "udp"}


def _protocol(value: Any) -> str:
    text = str(value if value is not None else "-1").lower()
    if text.endswith(".0"):  # numbers arrive as floats from the mocks
        text = text[:-2]
    return _PROTOCOLS.get(text, text)


def _policy(value: Any, name: str) -> Policy | None:
    if isinstance(value, Mapping):
        return Policy(name, dict(value))
    if isinstance(value, str) and value.strip():
        try:
            return Policy(name, json.loads(value))
        except json.JSONDecodeError:
            return None
    return None


@dataclass
class _Sg:
    id: str
    vpc_id: str
    name: str
    rules: list[SgRule] = field(default_factory=list)


@dataclass
class _Endpoint:
    id: str
    vpc_id: str
    service_name: str
    type: str
    private_dns: bool
    subnet_ids: list[str]
    security_group_ids: list[str]
    route_table_ids: list[str]
    prefix_list_id: str | None
    policy: Policy | None


class _Builder:
    def __init__(
        self,
        resources: list[RecordedResource],
        account: str,
        region: str,
        existing_vpc_ids: tuple[str, ...],
    ) -> None:
        self.resources = resources
        self.account = account
        self.region = region
        self.existing = existing_vpc_ids
        self.notes: list[str] = []
        self.vpcs: dict[str, Vpc] = {}
        self.referenced_vpcs: set[str] = set(existing_vpc_ids)
        self.igws: dict[str, str] = {}
        self.subnets: dict[str, dict[str, Any]] = {}
        self.route_tables: dict[str, tuple[str, list[Route]]] = {}
        self.associations: dict[str, str] = {}
        self.sgs: dict[str, _Sg] = {}
        self.endpoints: dict[str, _Endpoint] = {}
        self.nats: dict[str, str] = {}
        self.private_nats: list[str] = []

    def of(self, typ: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == typ]

    def identified(self, typ: str) -> list[tuple[str, RecordedResource]]:
        out = []
        for r in self.of(typ):
            rid = _id(r)
            if rid is None:
                self.notes.append(f"{r.name} ({typ.rsplit(':', 1)[-1]}) has no recorded id")
                continue
            out.append((rid, r))
        return out

    def vpc_ref(self, value: Any) -> str:
        vpc_id = _str(value) or ""
        if vpc_id:
            self.referenced_vpcs.add(vpc_id)
        return vpc_id

    # --- the pieces, in dependency order ------------------------------------------------------
    def build(self) -> NetworkModel:
        self.read_vpcs()
        self.read_internet_gateways()
        self.read_subnets()
        self.read_endpoints()  # before routes: a route's gatewayId may be a gateway endpoint
        self.read_route_tables()
        self.read_nat_gateways()
        self.read_security_groups()
        self.read_rules()
        return self.freeze()

    def read_vpcs(self) -> None:
        for vid, r in self.identified(_VPC):
            v = _values(r)
            support = v.get("enableDnsSupport")
            hostnames = v.get("enableDnsHostnames")
            self.vpcs[vid] = Vpc(
                id=vid,
                cidr=_str(v.get("cidrBlock")) or "",
                enable_dns_support=True if support is None else bool(support),
                enable_dns_hostnames=False if hostnames is None else bool(hostnames),
                main_route_table_id=_str(r.state.get("mainRouteTableId")),
                default_security_group_id=_str(r.state.get("defaultSecurityGroupId")),
            )

    def read_internet_gateways(self) -> None:
        for gid, r in self.identified(_IGW):
            self.igws[gid] = self.vpc_ref(_values(r).get("vpcId"))
        for r in self.of(_IGW_ATTACH):
            v = _values(r)
            gid = _str(v.get("internetGatewayId"))
            if gid:
                self.igws[gid] = self.vpc_ref(v.get("vpcId"))

    def read_subnets(self) -> None:
        for sid, r in self.identified(_SUBNET):
            v = _values(r)
            self.subnets[sid] = {
                "vpc_id": self.vpc_ref(v.get("vpcId")),
                "cidr": _str(v.get("cidrBlock")) or "",
                "az": _str(v.get("availabilityZone")) or "",
            }

    def read_endpoints(self) -> None:
        for eid, r in self.identified(_ENDPOINT):
            v = _values(r)
            service = _str(v.get("serviceName")) or ""
            self.endpoints[eid] = _Endpoint(
                id=eid,
                vpc_id=self.vpc_ref(v.get("vpcId")),
                service_name=service,
                type=_str(v.get("vpcEndpointType")) or "Gateway",
                private_dns=bool(v.get("privateDnsEnabled") or False),
                subnet_ids=_strs(v.get("subnetIds")),
                security_group_ids=_strs(v.get("securityGroupIds")),
                route_table_ids=_strs(v.get("routeTableIds")),
                prefix_list_id=_str(r.state.get("prefixListId")),
                policy=_policy(v.get("policy"), f"endpoint policy of {eid} ({service})"),
            )
        for typ, key, attr in (
            (_EP_RT, "routeTableId", "route_table_ids"),
            (_EP_SUBNET, "subnetId", "subnet_ids"),
            (_EP_SG, "securityGroupId", "security_group_ids"),
        ):
            for r in self.of(typ):
                v = _values(r)
                ep = self.endpoints.get(_str(v.get("vpcEndpointId")) or "")
                value = _str(v.get(key))
                if ep is None or value is None:
                    self.notes.append(f"{r.name} names an endpoint or {key} not in the estate")
                    continue
                getattr(ep, attr).append(value)
        for r in self.of(_EP_POLICY):
            v = _values(r)
            ep = self.endpoints.get(_str(v.get("vpcEndpointId")) or "")
            if ep is None:
                self.notes.append(f"{r.name} names an endpoint not in the estate")
                continue
            ep.policy = _policy(v.get("policy"), f"endpoint policy of {ep.id} ({ep.service_name})")

    def route_target(self, v: Mapping[str, Any]) -> tuple[str, str]:
        if gid := _str(v.get("natGatewayId")):
            return "nat", gid
        if gid := _str(v.get("transitGatewayId")):
            return "tgw", gid
        if gid := _str(v.get("vpcPeeringConnectionId")):
            return "peering", gid
        if gid := _str(v.get("gatewayId")):
            if gid == "local":
                return "local", ""
            if gid in self.igws:
                return "igw", gid
            if gid in self.endpoints:
                return "gateway-endpoint", gid
            return "other", gid
        for key in (
            "vpcEndpointId",
            "networkInterfaceId",
            "carrierGatewayId",
            "localGatewayId",
            "egressOnlyGatewayId",
            "coreNetworkArn",
        ):
            if gid := _str(v.get(key)):
                return "other", gid
        return "other", ""

    def read_route_tables(self) -> None:
        for tid, r in self.identified(_ROUTE_TABLE):
            v = _values(r)
            vpc_id = self.vpc_ref(v.get("vpcId"))
            routes = []
            for inline in v.get("routes") or []:
                if not isinstance(inline, Mapping):
                    continue
                dest = _str(inline.get("cidrBlock")) or _str(inline.get("destinationPrefixListId"))
                if dest:
                    routes.append(Route(dest, *self.route_target(inline)))
            self.route_tables[tid] = (vpc_id, routes)
        for vpc in self.vpcs.values():  # the main table exists with the VPC, local route only
            if vpc.main_route_table_id and vpc.main_route_table_id not in self.route_tables:
                self.route_tables[vpc.main_route_table_id] = (vpc.id, [])
        for r in self.of(_ROUTE):
            v = _values(r)
            tid = _str(v.get("routeTableId")) or ""
            dest = _str(v.get("destinationCidrBlock")) or _str(v.get("destinationPrefixListId"))
            if tid not in self.route_tables:
                self.notes.append(
                    f"route {r.name} is in route table {tid or '?'}, not in the estate"
                )
                continue
            if not dest:
                self.notes.append(f"route {r.name} has no recorded destination")
                continue
            self.route_tables[tid][1].append(Route(dest, *self.route_target(v)))
        for ep in self.endpoints.values():
            if ep.type != "Gateway":
                continue
            for tid in ep.route_table_ids:
                if tid not in self.route_tables:
                    self.notes.append(f"gateway endpoint {ep.id} names route table {tid}, unknown")
                    continue
                dest = ep.prefix_list_id or ep.service_name
                self.route_tables[tid][1].append(Route(dest, "gateway-endpoint", ep.id))
        for r in self.of(_RTA):
            v = _values(r)
            sid, tid = _str(v.get("subnetId")), _str(v.get("routeTableId"))
            if sid and tid:
                self.associations[sid] = tid

    def read_nat_gateways(self) -> None:
        eips = {eid for eid, _ in self.identified(_EIP)}
        eips |= {a for _, r in self.identified(_EIP) if (a := _str(r.state.get("allocationId")))}
        for nid, r in self.identified(_NAT):
            v = _values(r)
            self.nats[nid] = _str(v.get("subnetId")) or ""
            if (_str(v.get("connectivityType")) or "public") == "private":
                self.private_nats.append(nid)
                continue
            allocation = _str(v.get("allocationId"))
            if allocation is None:
                self.notes.append(f"public NAT gateway {nid} has no recorded Elastic IP")
            elif eips and allocation not in eips:
                self.notes.append(
                    f"NAT gateway {nid} uses Elastic IP {allocation}, not created here"
                )

    def read_security_groups(self) -> None:
        for gid, r in self.identified(_SG):
            v = _values(r)
            sg = _Sg(gid, self.vpc_ref(v.get("vpcId")), _str(v.get("name")) or r.name)
            for direction in ("ingress", "egress"):  # no egress unless given: provider behaviour
                for inline in v.get(direction) or []:
                    sg.rules += _inline_rules(direction, inline, gid, r.name)
            self.sgs[gid] = sg
        adopted: set[str] = set()
        for gid, r in self.identified(_DEFAULT_SG):
            v = _values(r)
            vpc_id = self.vpc_ref(v.get("vpcId"))
            rules: list[SgRule] = []
            for direction in ("ingress", "egress"):
                for inline in v.get(direction) or []:
                    rules += _inline_rules(direction, inline, gid, r.name)
            # The adopted group is the VPC's default group: both ids name the same group.
            ids = {gid}
            vpc = self.vpcs.get(vpc_id)
            if vpc and vpc.default_security_group_id:
                ids.add(vpc.default_security_group_id)
            for sid in sorted(ids):
                self.sgs[sid] = _Sg(sid, vpc_id, "default", list(rules))
            adopted.add(vpc_id)
        for vpc in self.vpcs.values():
            gid = vpc.default_security_group_id
            if gid and vpc.id not in adopted and gid not in self.sgs:
                self.sgs[gid] = _Sg(
                    gid,
                    vpc.id,
                    "default",
                    [
                        SgRule("ingress", "-1", security_group_id=gid, name="AWS default"),
                        SgRule("egress", "-1", cidr=ALL_IPV4, name="AWS default"),
                    ],
                )

    def sg_for_rule(self, r: RecordedResource, gid: str | None) -> _Sg | None:
        sg = self.sgs.get(gid or "")
        if sg is None:
            self.notes.append(f"rule {r.name} is in security group {gid or '?'}, not in the estate")
        return sg

    def read_rules(self) -> None:
        for typ, direction in ((_INGRESS_RULE, "ingress"), (_EGRESS_RULE, "egress")):
            for r in self.of(typ):
                v = _values(r)
                sg = self.sg_for_rule(r, _str(v.get("securityGroupId")))
                if sg is None:
                    continue
                rule = SgRule(
                    direction,  # type: ignore[arg-type]
                    _protocol(v.get("ipProtocol")),
                    _port(v.get("fromPort")),
                    _port(v.get("toPort")),
                    cidr=_str(v.get("cidrIpv4")) or _str(v.get("cidrIpv6")),
                    security_group_id=_str(v.get("referencedSecurityGroupId")),
                    prefix_list_id=_str(v.get("prefixListId")),
                    name=r.name,
                )
                sg.rules.append(rule)
        for r in self.of(_SG_RULE):
            v = _values(r)
            sg = self.sg_for_rule(r, _str(v.get("securityGroupId")))
            direction = _str(v.get("type"))
            if sg is None or direction not in ("ingress", "egress"):
                continue
            peer = sg.id if v.get("self") else _str(v.get("sourceSecurityGroupId"))
            inline = {**v, "securityGroups": [peer] if peer else [], "self": False}
            sg.rules += _inline_rules(direction, inline, sg.id, r.name)

    # --- frozen model -----------------------------------------------------------------------
    def freeze(self) -> NetworkModel:
        details = dict(self.vpcs)
        for vid in sorted(self.referenced_vpcs - set(self.vpcs)):
            details[vid] = Vpc(id=vid, known=False)
        route_tables = {
            tid: RouteTable(tid, vpc_id, _with_local(routes, self.vpcs.get(vpc_id)))
            for tid, (vpc_id, routes) in sorted(self.route_tables.items())
        }
        subnets = {}
        for sid, s in sorted(self.subnets.items()):
            vpc = self.vpcs.get(s["vpc_id"])
            tid = self.associations.get(sid) or (vpc.main_route_table_id if vpc else None)
            table = route_tables.get(tid or "")
            public = bool(table) and any(
                rt.destination == ALL_IPV4 and rt.target == "igw" for rt in table.routes
            )
            subnets[sid] = Subnet(sid, s["vpc_id"], s["cidr"], tid, s["az"], public)
        sgs = {
            gid: SecurityGroup(gid, sg.vpc_id, tuple(sg.rules), sg.name)
            for gid, sg in sorted(self.sgs.items())
        }
        endpoints = []
        for eid, ep in sorted(self.endpoints.items()):
            groups = list(ep.security_group_ids)
            vpc = self.vpcs.get(ep.vpc_id)
            if ep.type == "Interface" and not groups and vpc and vpc.default_security_group_id:
                groups = [vpc.default_security_group_id]  # AWS attaches the default group
            endpoints.append(
                VpcEndpoint(
                    id=eid,
                    vpc_id=ep.vpc_id,
                    service_name=ep.service_name,
                    type="Interface" if ep.type == "Interface" else "Gateway",
                    private_dns=ep.private_dns and ep.type == "Interface",
                    subnet_ids=tuple(dict.fromkeys(ep.subnet_ids)),
                    security_group_ids=tuple(dict.fromkeys(groups)),
                    route_table_ids=tuple(dict.fromkeys(ep.route_table_ids)),
                    prefix_list_id=ep.prefix_list_id,
                    policy=ep.policy,
                )
            )
            if ep.type not in ("Interface", "Gateway"):
                self.notes.append(f"endpoint {eid} is of type {ep.type}, read as a gateway")
            elif ep.type == "Gateway" and not ep.prefix_list_id:
                self.notes.append(f"gateway endpoint {eid} has no recorded prefixListId")
        for sg in sgs.values():
            for rule in sg.rules:
                if not (rule.cidr or rule.security_group_id or rule.prefix_list_id):
                    self.notes.append(f"rule {rule.name} of {sg.id} has no recorded peer")
        return NetworkModel(
            account=self.account,
            region=self.region,
            vpcs={vid: v.cidr for vid, v in sorted(self.vpcs.items())},
            subnets=subnets,
            route_tables=route_tables,
            security_groups=sgs,
            endpoints=tuple(endpoints),
            nat_gateways=dict(sorted(self.nats.items())),
            internet_gateways=dict(sorted(self.igws.items())),
            prefix_lists={
                ep.prefix_list_id: ep.service_name
                for ep in endpoints
                if ep.type == "Gateway" and ep.prefix_list_id
            },
            vpc_details=dict(sorted(details.items())),
            private_nat_gateways=tuple(sorted(self.private_nats)),
            notes=tuple(dict.fromkeys(self.notes)),
        )


def _with_local(routes: list[Route], vpc: Vpc | None) -> tuple[Route, ...]:
    local = [Route(vpc.cidr, "local")] if vpc and vpc.cidr else []
    return tuple(local + [r for r in routes if r.target != "local"])


def _inline_rules(direction: str, inline: Any, own_id: str, name: str) -> list[SgRule]:
    """One inline/legacy rule block → one SgRule per peer (CIDR, group, prefix list).

    A block with no peer at all is kept as a rule that admits nothing, so a reason can name it
    (its destination was an unknown output when the program ran).
    """
    if not isinstance(inline, Mapping):
        return []
    proto = _protocol(inline.get("protocol", inline.get("ipProtocol")))
    lo, hi = _port(inline.get("fromPort")), _port(inline.get("toPort"))
    if proto == "-1":
        lo = hi = None
    peers: list[dict[str, str]] = []
    peers += [{"cidr": c} for c in _strs(inline.get("cidrBlocks"))]
    peers += [{"cidr": c} for c in _strs(inline.get("ipv6CidrBlocks"))]
    peers += [{"prefix_list_id": p} for p in _strs(inline.get("prefixListIds"))]
    peers += [{"security_group_id": g} for g in _strs(inline.get("securityGroups"))]
    if inline.get("self"):
        peers.append({"security_group_id": own_id})
    if not peers:
        peers = [{}]
    return [SgRule(direction, proto, lo, hi, name=name, **p) for p in peers]  # type: ignore[arg-type]
