"""Network reachability of one call from its `Origin`: is there a route, and through what?

- ``public``: the public internet reaches AWS public endpoints and external hosts;
- ``aws``: service to service inside AWS, no customer network involved;
- ``vpc``: resolved as AWS resolves it, from the origin's subnets and security groups:
  1. an interface endpoint for the service in the origin's VPC with private DNS (and the VPC's
     ``enableDnsSupport`` and ``enableDnsHostnames``) takes the SDK's default hostname: the
     origin's groups must allow tcp/443 out to the endpoint's group (or a CIDR covering its
     subnets), and the endpoint's group must allow tcp/443 in from the origin's group (or a CIDR
     covering the origin's subnets). Its route decides alone: no NAT fallback;
  2. S3 and DynamoDB: a gateway endpoint on the subnet's route table (its prefix-list route is
     more specific than 0.0.0.0/0); the groups must allow tcp/443 to the prefix list or 0.0.0.0/0;
  3. otherwise the subnet's 0.0.0.0/0 route to a public NAT gateway whose own subnet routes
     0.0.0.0/0 to an internet gateway of the VPC, and egress to 0.0.0.0/0 on the port.
  Every origin subnet must have a path (a job or build may land in any of them).

A destination is an endpoint service suffix (``sagemaker.api``), an external URL
(``https://pypi.org``), or a composite joined by ``+`` (``ecr.dkr+s3``: a docker pull reads the
manifest from the registry and the layer bytes from S3); a composite is reachable when every leg
is, and each leg carries its own endpoint policy in `Reach.legs`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from mlops.rehearsal.model import (
    Call,
    NetworkModel,
    Origin,
    Reach,
    SgRule,
    Subnet,
    Vpc,
    VpcEndpoint,
)

__all__ = [
    "destination_for",
    "destination_parts",
    "ecr_layer_bucket_arn",
    "endpoint_service_name",
    "reach",
    "unreachable_reasons",
]

HTTPS = 443
ALL_IPV4 = "0.0.0.0/0"
_GATEWAY_SERVICES = ("s3", "dynamodb")
_MAX_IDS = 3

# Actions whose requests go to another endpoint than their service prefix's default.
_BY_ACTION = {
    "sagemaker:invokeendpoint": "sagemaker.runtime",
    "sagemaker:invokeendpointasync": "sagemaker.runtime",
    "sagemaker:invokeendpointwithresponsestream": "sagemaker.runtime",
    "sagemaker:putrecord": "sagemaker.featurestore-runtime",
    "sagemaker:getrecord": "sagemaker.featurestore-runtime",
    "sagemaker:deleterecord": "sagemaker.featurestore-runtime",
    "sagemaker:batchgetrecord": "sagemaker.featurestore-runtime",
    "ecr:getauthorizationtoken": "ecr.api",
    # docker pull: manifest from the registry, layers redirected to AWS's S3 bucket
    "ecr:batchgetimage": "ecr.dkr",
    "ecr:getdownloadurlforlayer": "ecr.dkr+s3",
    # docker push: everything to the registry
    "ecr:batchchecklayeravailability": "ecr.dkr",
    "ecr:initiatelayerupload": "ecr.dkr",
    "ecr:uploadlayerpart": "ecr.dkr",
    "ecr:completelayerupload": "ecr.dkr",
    "ecr:putimage": "ecr.dkr",
    "states:startsyncexecution": "sync-states",
    # package managers (pip, twine, npm) talk to the repository endpoint, the rest to the API
    "codeartifact:readfromrepository": "codeartifact.repositories",
    "codeartifact:publishpackageversion": "codeartifact.repositories",
    "codeartifact:putpackagemetadata": "codeartifact.repositories",
    "codecommit:gitpull": "git-codecommit",
    "codecommit:gitpush": "git-codecommit",
}
# Service prefixes whose endpoint suffix differs from the prefix.
_BY_SERVICE = {
    "sagemaker": "sagemaker.api",
    "ecr": "ecr.api",
    "cloudwatch": "monitoring",
    "firehose": "kinesis-firehose",
    "kinesis": "kinesis-streams",
    "codeartifact": "codeartifact.api",
    "codeconnections": "codeconnections.api",
    "codestar-connections": "codestar-connections.api",
}
# Endpoint services not named com.amazonaws.<region>.<suffix>.
_SAGEMAKER_UI = ("studio", "notebook")
_URL_PORTS = {"https": 443, "http": 80, "ssh": 22, "git": 9418}


# --- destinations ------------------------------------------------------------------------------
def destination_for(call: Call) -> str:
    """Where a call goes on the network: its own ``destination``, or the endpoint service suffix
    of its action (``s3``, ``sagemaker.runtime``, ``ecr.dkr+s3``, ``kinesis-firehose``, ...).

    Studio's UI traffic has no IAM action: declare it with ``destination="studio"``.
    """
    if call.destination:
        return call.destination
    service, sep, name = call.action.partition(":")
    if not sep or not service or not name:
        raise ValueError(
            f"Call.action {call.action!r} is not 'service:Action': give the action as IAM names "
            "it, or set Call.destination (an endpoint service suffix or a URL)"
        )
    key = f"{service.lower()}:{name.lower()}"
    return _BY_ACTION.get(key) or _BY_SERVICE.get(service.lower(), service.lower())


def destination_parts(destination: str) -> tuple[str, ...]:
    """``ecr.dkr+s3`` → ("ecr.dkr", "s3"); a URL or a single suffix → itself."""
    if _is_url(destination):
        return (destination,)
    parts = tuple(p.strip() for p in destination.split("+") if p.strip())
    if not parts:
        raise ValueError("destination is empty: give an endpoint service suffix or a URL")
    return parts


def endpoint_service_name(region: str, suffix: str) -> str:
    """The VPC endpoint service of a suffix: ``com.amazonaws.<region>.<suffix>``, except
    SageMaker's UI services (``aws.sagemaker.<region>.studio``)."""
    if suffix in _SAGEMAKER_UI:
        return f"aws.sagemaker.{region}.{suffix}"
    return f"com.amazonaws.{region}.{suffix}"


def ecr_layer_bucket_arn(region: str) -> str:
    """AWS's bucket that serves ECR image layers (an S3 endpoint policy must admit it)."""
    return f"arn:aws:s3:::prod-{region}-starport-layer-bucket/*"


def _is_url(destination: str) -> bool:
    return "://" in destination


def _url_port(url: str) -> int:
    parts = urlsplit(url)
    if parts.port:
        return parts.port
    return _URL_PORTS.get(parts.scheme.lower(), HTTPS)


# --- reach ---------------------------------------------------------------------------------------
def reach(origin: Origin, destination: str, model: NetworkModel) -> Reach:
    """Whether a request from ``origin`` gets to ``destination`` in ``model``, and through what."""
    return _evaluate(origin, destination, model)[0]


def unreachable_reasons(origin: Origin, destination: str, model: NetworkModel) -> tuple[str, ...]:
    """What is missing, one short clause each, in a fixed order (empty when reachable)."""
    result, clauses = _evaluate(origin, destination, model)
    return () if result.reachable else clauses


def _evaluate(
    origin: Origin, destination: str, model: NetworkModel
) -> tuple[Reach, tuple[str, ...]]:
    parts = destination_parts(destination)
    if len(parts) == 1:
        return _one(origin, parts[0], model)
    legs: list[Reach] = []
    clauses: list[str] = []
    for part in parts:
        resource = ecr_layer_bucket_arn(model.region) if part == "s3" and "ecr.dkr" in parts else ""
        leg, leg_clauses = _one(origin, part, model, resource)
        legs.append(leg)
        clauses += [c for c in leg_clauses if c not in clauses]
    reachable = all(leg.reachable for leg in legs)
    failed = [leg for leg in legs if not leg.reachable]
    return (
        Reach(
            reachable=reachable,
            via=" + ".join(f"{leg.destination}: {leg.via}" for leg in legs),
            reason="" if reachable else _join(clauses),
            endpoint_policy=legs[0].endpoint_policy,
            destination=destination,
            unknown=bool(failed) and all(leg.unknown for leg in failed),
            legs=tuple(legs),
        ),
        tuple(clauses),
    )


def _one(
    origin: Origin, destination: str, model: NetworkModel, resource: str = ""
) -> tuple[Reach, tuple[str, ...]]:
    if origin.kind == "aws":
        return Reach(True, "AWS internal", destination=destination, resource=resource), ()
    if origin.kind == "public":
        return Reach(True, "public internet", destination=destination, resource=resource), ()
    return _VpcReach(origin, destination, model, resource).evaluate()


class _VpcReach:
    """One destination from a VPC origin."""

    def __init__(self, origin: Origin, destination: str, model: NetworkModel, resource: str):
        self.origin = origin
        self.dest = destination
        self.model = model
        self.resource = resource
        self.url = _is_url(destination)
        self.target = destination if self.url else endpoint_service_name(model.region, destination)
        self.port = _url_port(destination) if self.url else HTTPS
        self.vpc_id = origin.vpc_id or next(
            (model.subnets[s].vpc_id for s in origin.subnet_ids if s in model.subnets), None
        )
        self.vpc = _vpc(model, self.vpc_id)
        self.groups = tuple(sorted(dict.fromkeys(origin.security_group_ids)))
        self.subnet_ids = tuple(sorted(dict.fromkeys(origin.subnet_ids)))

    def result(
        self,
        ok: bool,
        via: str,
        clauses: Sequence[str],
        endpoint: VpcEndpoint | None = None,
        unknown: bool = False,
    ) -> tuple[Reach, tuple[str, ...]]:
        clauses = tuple(dict.fromkeys(clauses))
        return (
            Reach(
                reachable=ok,
                via=via,
                reason="" if ok else _join(clauses),
                endpoint_policy=endpoint.policy if endpoint else None,
                destination=self.dest,
                unknown=unknown and not ok,
                resource=self.resource,
            ),
            () if ok else clauses,
        )

    # --- the resolution order ---------------------------------------------------------------
    def evaluate(self) -> tuple[Reach, tuple[str, ...]]:
        if self.vpc is None or not self.vpc.known:
            return self.unknown_network()
        setup = self.origin_problems()
        if setup:
            return self.result(False, "no route", setup)
        if not self.vpc.enable_dns_support:
            host = urlsplit(self.dest).hostname if self.url else self.target
            clause = f"{self.vpc_id} has enableDnsSupport off: nothing there resolves {host}"
            return self.result(False, "no DNS", [clause])
        clauses: list[str] = []
        if not self.url:
            endpoint, endpoint_clauses = self.interface_endpoint()
            if endpoint is not None:  # private DNS answers for the service: its route decides
                problems = self.interface_problems(endpoint)
                via = f"interface endpoint {endpoint.id} (private DNS)"
                return self.result(not problems, via, problems, endpoint)
            clauses += endpoint_clauses
        return self.routed(clauses)

    def unknown_network(self) -> tuple[Reach, tuple[str, ...]]:
        if self.vpc_id is None:
            clause = (
                f"unknown network: subnets {_ids(self.subnet_ids)} are not in the estate, "
                f"so the route to {self.target} cannot be checked"
            )
            return self.result(False, "unknown network", [clause], unknown=True)
        clauses = [
            f"unknown network: {self.vpc_id} is an imported VPC (existingVpcId) whose "
            f"routes, DNS attributes and endpoints are not in the program, so the route to "
            f"{self.target} cannot be checked"
        ]
        endpoint = None
        if not self.url:
            found = self.interfaces()
            endpoint = next((e for e in found if e.private_dns), None)
        if endpoint is not None:
            problems = self.interface_problems(endpoint)
            if problems:  # shown to fail whatever the VPC's attributes are
                return self.result(False, f"interface endpoint {endpoint.id}", problems, endpoint)
            clauses.append(f"interface endpoint {endpoint.id} and its groups would admit it")
        return self.result(False, "unknown network", clauses, endpoint, unknown=True)

    def origin_problems(self) -> list[str]:
        problems = []
        outside = [s for s in self.subnet_ids if s not in self.model.subnets]
        if outside:
            problems.append(
                f"subnets {_ids(outside)} are not in {self.vpc_id} as the estate builds it"
            )
        subnets = self.model.subnets
        wrong = [s for s in self.subnet_ids if s in subnets and subnets[s].vpc_id != self.vpc_id]
        if wrong:
            problems.append(f"subnets {_ids(wrong)} are not in {self.vpc_id}")
        missing = [g for g in self.groups if g not in self.model.security_groups]
        if missing:
            problems.append(f"security groups {_ids(missing)} are not in the estate")
        return problems

    # --- 1. interface endpoint -------------------------------------------------------------
    def interfaces(self) -> list[VpcEndpoint]:
        return self.endpoints("Interface")

    def gateways(self) -> list[VpcEndpoint]:
        return self.endpoints("Gateway")

    def endpoints(self, kind: str) -> list[VpcEndpoint]:
        found = [
            e
            for e in self.model.endpoints
            if e.vpc_id == self.vpc_id and e.type == kind and e.service_name == self.target
        ]
        return sorted(found, key=lambda e: e.id)

    def interface_endpoint(self) -> tuple[VpcEndpoint | None, list[str]]:
        """The endpoint private DNS sends the request to, or why there is none."""
        found = self.interfaces()
        with_dns = [e for e in found if e.private_dns]
        assert self.vpc is not None
        if with_dns:
            if self.vpc.enable_dns_hostnames:
                return with_dns[0], []
            return None, [
                f"interface endpoint {with_dns[0].id} has private DNS, but "
                f"{self.vpc_id} has enableDnsHostnames off"
            ]
        if found:
            return None, [f"interface endpoint {found[0].id} ({self.target}) has private DNS off"]
        if self.dest in _GATEWAY_SERVICES:
            return None, []  # the gateway endpoint is the usual way: reported with the routes
        return None, [f"no interface endpoint {self.target} in {self.vpc_id}"]

    def interface_problems(self, endpoint: VpcEndpoint) -> list[str]:
        problems = []
        subnets = self.model.subnets
        if not endpoint.subnet_ids:
            problems.append(
                f"interface endpoint {endpoint.id} has no subnets (no network interfaces)"
            )
        if not endpoint.security_group_ids:
            problems.append(f"interface endpoint {endpoint.id} has no security group recorded")
            return problems
        groups = endpoint.security_group_ids
        endpoint_cidrs = _cidrs(endpoint.subnet_ids, subnets)
        if not _allows(self.model, self.groups, "egress", self.port, groups, endpoint_cidrs):
            problems.append(
                f"{_groups(self.groups)} no egress rule to tcp/{self.port} of the endpoints' "
                f"group {_ids(groups)}{self.unresolved(self.groups, 'egress')}"
            )
        origin_cidrs = _cidrs(self.subnet_ids, subnets)
        if not _allows(self.model, groups, "ingress", self.port, self.groups, origin_cidrs):
            problems.append(
                f"the endpoints' group {_ids(groups)} has no ingress rule for tcp/{self.port} "
                f"from {_ids(self.groups)}{self.unresolved(groups, 'ingress')}"
            )
        return problems

    # --- 2. gateway endpoint, 3. NAT -------------------------------------------------------
    def routed(self, clauses: list[str]) -> tuple[Reach, tuple[str, ...]]:
        gateways = self.gateways() if not self.url and self.dest in _GATEWAY_SERVICES else []
        if not self.url and self.dest in _GATEWAY_SERVICES and not gateways and not clauses:
            clauses.append(f"no gateway or interface endpoint {self.target} in {self.vpc_id}")
        via_gateway: dict[str, VpcEndpoint] = {}
        via_nat: dict[str, str] = {}
        failures: list[tuple[str, str]] = []  # (subnet, predicate)
        off_route: list[str] = []
        for sid in self.subnet_ids:
            subnet = self.model.subnets[sid]
            gateway = _gateway_on(subnet, gateways, self.model)
            if gateway is not None:
                via_gateway[sid] = gateway
                continue
            if gateways:
                off_route.append(f"{subnet.route_table_id or 'the main route table'} of {sid}")
            nat, problem = self.nat_path(subnet)
            if nat:
                via_nat[sid] = nat
            else:
                failures.append((sid, problem))
        if off_route:
            tables = "route table" if len(off_route) == 1 else "route tables"
            clauses.append(
                f"gateway endpoint {_ids(g.id for g in gateways)} is not on "
                f"{tables} {_ids(off_route)}"
            )
        if failures:
            return self.result(False, "no route", clauses + _grouped(failures))
        problems = []
        endpoint = None
        if via_gateway:
            endpoint = next(iter(sorted(via_gateway.values(), key=lambda e: e.id)))
            prefix = endpoint.prefix_list_id or _prefix_list(self.model, self.target)
            if not _allows(self.model, self.groups, "egress", self.port, (), None, prefix):
                shown = (
                    f"prefix list {prefix}"
                    if prefix
                    else f"the {self.dest} prefix list ({endpoint.id} has none recorded)"
                )
                hint = self.unresolved(self.groups, "egress")
                problems.append(
                    f"{_groups(self.groups)} no egress rule to tcp/{self.port} of "
                    f"{shown} or {ALL_IPV4}{hint}"
                )
        if via_nat and not _allows(self.model, self.groups, "egress", self.port, (), None):
            problems.append(
                f"{_groups(self.groups)} no egress rule to tcp/{self.port} of "
                f"{ALL_IPV4}{self.unresolved(self.groups, 'egress')}"
            )
        vias = []
        if via_gateway:
            vias.append(f"gateway endpoint {_ids(sorted({g.id for g in via_gateway.values()}))}")
        if via_nat:
            vias.append(f"NAT {_ids(sorted(set(via_nat.values())))}")
        return self.result(not problems, " and ".join(vias), problems, endpoint)

    def nat_path(self, subnet: Subnet) -> tuple[str | None, str]:
        """(NAT gateway id, "") or (None, why not, as a predicate of the subnet)."""
        model = self.model
        default = _default_route(model, subnet)
        if default is None:
            return None, "has no route to a NAT gateway"
        if default.target == "igw":
            return None, (
                f"routes {ALL_IPV4} straight to internet gateway {default.target_id}: "
                "interfaces there get no public IP, a NAT gateway is needed"
            )
        if default.target != "nat":
            return None, (
                f"routes {ALL_IPV4} to {default.target} {default.target_id or '?'}, "
                "which the rehearsal does not follow"
            )
        nat = default.target_id
        if nat not in model.nat_gateways:
            return None, f"routes {ALL_IPV4} to NAT gateway {nat}, which is not in the estate"
        if nat in model.private_nat_gateways:
            return None, f"routes {ALL_IPV4} to NAT gateway {nat}, which is private (no internet)"
        nat_subnet = model.subnets.get(model.nat_gateways[nat])
        upstream = _default_route(model, nat_subnet) if nat_subnet else None
        if upstream is None or upstream.target != "igw":
            return None, (
                f"routes {ALL_IPV4} to NAT gateway {nat}, whose subnet "
                f"{model.nat_gateways[nat] or '?'} has no {ALL_IPV4} route to an "
                "internet gateway"
            )
        if model.internet_gateways.get(upstream.target_id) != self.vpc_id:
            return None, (
                f"routes {ALL_IPV4} to NAT gateway {nat}, whose internet gateway "
                f"{upstream.target_id} is not attached to {self.vpc_id}"
            )
        return nat, ""

    def unresolved(self, group_ids: Iterable[str], direction: str) -> str:
        """A hint when a rule of these groups lost its peer (an unknown output)."""
        for gid in sorted(group_ids):
            sg = self.model.security_groups.get(gid)
            for rule in sg.rules if sg else ():
                if rule.direction == direction and not _peer(rule):
                    return f" (rule {rule.name or '?'} has no recorded peer)"
        return ""


# --- helpers -------------------------------------------------------------------------------------
def _vpc(model: NetworkModel, vpc_id: str | None) -> Vpc | None:
    if not vpc_id:
        return None
    if vpc_id in model.vpc_details:
        return model.vpc_details[vpc_id]
    if vpc_id in model.vpcs:  # hand-built model without details: AWS defaults
        return Vpc(vpc_id, model.vpcs[vpc_id])
    return None


def _default_route(model: NetworkModel, subnet: Subnet | None):
    if subnet is None or not subnet.route_table_id:
        return None  # the main route table as AWS creates it: local route only
    table = model.route_tables.get(subnet.route_table_id)
    return next((r for r in table.routes if r.destination == ALL_IPV4), None) if table else None


def _gateway_on(
    subnet: Subnet, gateways: list[VpcEndpoint], model: NetworkModel
) -> VpcEndpoint | None:
    table = model.route_tables.get(subnet.route_table_id or "")
    routed = (
        {r.target_id for r in table.routes if r.target == "gateway-endpoint"} if table else set()
    )
    for gateway in gateways:
        if subnet.route_table_id in gateway.route_table_ids or gateway.id in routed:
            return gateway
    return None


def _prefix_list(model: NetworkModel, service_name: str) -> str | None:
    return next((pl for pl, svc in sorted(model.prefix_lists.items()) if svc == service_name), None)


def _cidrs(subnet_ids: Iterable[str], subnets) -> list[str] | None:
    """The subnets' CIDRs, or None when one is unknown (then only 0.0.0.0/0 covers them)."""
    cidrs = []
    for sid in subnet_ids:
        subnet = subnets.get(sid)
        if subnet is None or not subnet.cidr:
            return None
        cidrs.append(subnet.cidr)
    return cidrs


def _peer(rule: SgRule) -> bool:
    return bool(rule.cidr or rule.security_group_id or rule.prefix_list_id)


def _port_ok(rule: SgRule, port: int) -> bool:
    if rule.protocol == "-1":
        return True
    if rule.protocol != "tcp":
        return False
    low = rule.from_port if rule.from_port is not None else 0
    high = rule.to_port if rule.to_port is not None else 65535
    return low <= port <= high


def _covers(rule_cidr: str | None, cidrs: list[str] | None) -> bool:
    if not rule_cidr:
        return False
    try:
        net = ipaddress.ip_network(rule_cidr, strict=False)
        if cidrs is None:
            return net.version == 4 and net.prefixlen == 0
        nets = [ipaddress.ip_network(c, strict=False) for c in cidrs]
    except ValueError:
        return False
    return bool(nets) and all(n.version == net.version and n.subnet_of(net) for n in nets)  # type: ignore[arg-type]


def _allows(
    model: NetworkModel,
    group_ids: Iterable[str],
    direction: str,
    port: int,
    peer_groups: Iterable[str] = (),
    peer_cidrs: list[str] | None = None,
    prefix_list: str | None = None,
) -> bool:
    """Some rule of these groups admits tcp/port in ``direction`` to or from the peer: one of
    ``peer_groups``, a CIDR covering every one of ``peer_cidrs`` (None: only 0.0.0.0/0), or
    ``prefix_list``."""
    peers = set(peer_groups)
    for gid in group_ids:
        sg = model.security_groups.get(gid)
        for rule in sg.rules if sg else ():
            if rule.direction != direction or not _port_ok(rule, port):
                continue
            if rule.security_group_id and rule.security_group_id in peers:
                return True
            if prefix_list and rule.prefix_list_id == prefix_list:
                return True
            if _covers(rule.cidr, peer_cidrs):
                return True
    return False


def _ids(ids: Iterable[str]) -> str:
    items = list(dict.fromkeys(ids))
    if len(items) <= _MAX_IDS:
        return ", ".join(items)
    return f"{', '.join(items[:_MAX_IDS])} and {len(items) - _MAX_IDS} more"


def _groups(group_ids: Sequence[str]) -> str:
    """Subject and verb: "security group sg-1 has" / "security groups sg-1, sg-2 have"."""
    if len(group_ids) == 1:
        return f"security group {group_ids[0]} has"
    return f"security groups {_ids(group_ids)} have"


_PLURAL = {"has": "have", "routes": "route", "is": "are"}


def _grouped(failures: list[tuple[str, str]]) -> list[str]:
    """[(subnet, predicate)] → one clause per predicate, naming its subnets in order."""
    by_predicate: dict[str, list[str]] = {}
    for subject, predicate in failures:
        by_predicate.setdefault(predicate, []).append(subject)
    clauses = []
    for predicate, subjects in by_predicate.items():
        if len(subjects) > 1:
            verb, _, rest = predicate.partition(" ")
            predicate = f"{_PLURAL.get(verb, verb)} {rest}"
        clauses.append(f"{_ids(subjects)} {predicate}")
    return clauses


def _join(clauses: Iterable[str]) -> str:
    return ", and ".join(clauses)
