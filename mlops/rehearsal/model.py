"""The rehearsal's vocabulary: who calls (principals), what they call (calls), from where (origins),
and what AWS evaluates (policies, requests, decisions). Plain, frozen data; no Pulumi, no boto3.

Every other rehearsal module speaks these types:
- `mlops.rehearsal.declare`   components declare their runtime actors (`Actor`, `Call`, `Origin`);
- `mlops.rehearsal.estate`    the programs' recorded resources become `Principal`s, resource
                              policies, keys, buckets and a `NetworkModel` per account;
- `mlops.rehearsal.evaluator` evaluates one `Request` the way AWS does and returns a `Decision`;
- `mlops.rehearsal.reach`     decides whether a call's `Origin` has a route to its destination;
- `mlops.rehearsal.runner`    turns scenarios into steps and verdicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

ContextValue = str | list[str] | bool | int
Context = Mapping[str, ContextValue]

# --- where a call comes from -----------------------------------------------------------------
OriginKind = Literal["vpc", "public", "aws"]


@dataclass(frozen=True)
class Origin:
    """The network a call leaves from.

    - ``vpc``: from ENIs in these subnets with these security groups (CodeBuild, Lambda, SageMaker
      jobs and endpoints, Studio apps in a VPC): a route must exist (reach.py);
    - ``public``: outside any VPC, over the internet to public AWS endpoints or external hosts
      (CodeBuild without VPC config, a laptop, the Pulumi CLI, Lambda without VPC config);
    - ``aws``: inside AWS between services (CloudWatch Logs calling KMS, CodePipeline starting a
      build, Firehose writing S3): no customer network is involved.
    """

    kind: OriginKind
    vpc_id: str | None = None
    subnet_ids: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind == "vpc" and not (self.subnet_ids and self.security_group_ids):
            raise ValueError("a vpc origin needs subnet_ids and security_group_ids")


PUBLIC = Origin("public")
AWS_SERVICE = Origin("aws")


# --- what is called ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Call:
    """One API call as IAM sees it: action, resource ARN ("*" where the API takes none) and the
    request's own context keys (kms:ViaService, kms:EncryptionContext:..., iam:PassedToService,
    s3:x-amz-server-side-encryption-aws-kms-key-id, sagemaker:ModelApprovalStatus, ...).

    ``destination`` is where the request goes on the network: an AWS endpoint service suffix
    (``s3``, ``sagemaker.api``, ``sagemaker.runtime``, ``ecr.dkr``, ...) or an external URL
    (``https://pypi.org``). None: derived from the action's service prefix (reach.py).
    ``expect`` is what must happen: ``allow`` for a flow's steps, ``deny`` for attacks.
    """

    action: str
    resource: str
    context: Context = field(default_factory=dict)
    destination: str | None = None
    why: str = ""
    expect: Literal["allow", "deny"] = "allow"
    network_only: bool = False
    """An HTTPS request that IAM does not evaluate (package index, Git host, vendor API)."""


@dataclass(frozen=True)
class Actor:
    """A runtime actor of one flow: a principal calling from an origin, declared next to the code
    that creates it (``declare.actor``), so the list changes with the code."""

    flow: str
    """Scenario it belongs to: onboarding, training, promotion, decision, analytics, audit."""
    step: str
    """Short name of this step within the flow, e.g. "build: upsert and start the pipeline"."""
    principal: str
    """Role ARN, or ``service:<principal>`` (e.g. ``service:logs.eu-west-2.amazonaws.com``)."""
    account: str
    origin: Origin
    calls: tuple[Call, ...]
    order: int = 100
    """Position within the flow (lower runs first)."""
    source: str = ""
    """Where it was declared: ``module.py:line`` (the report names the code)."""
    program: str = ""
    """Program that declared it (``platform/dev``, ``remedy-inference/prod``); set by the runner."""
    context: Context = field(default_factory=dict)
    """Context keys every call of this actor carries (e.g. aws:SourceArn of a service)."""


# --- identities and policies -----------------------------------------------------------------
PrincipalKind = Literal["role", "service", "user", "root", "anonymous", "federated"]


@dataclass(frozen=True)
class Policy:
    """One policy document with a name the report can show (``role/inline-name``, ``key policy of
    alias/mlops-dev-logs``, ``bucket policy of mlops-dev-data-...``)."""

    name: str
    document: Mapping[str, Any]


@dataclass(frozen=True)
class Principal:
    """Who makes a request. Roles carry their policies; services carry none (only resource
    policies can grant a service principal anything)."""

    arn: str
    """Role ARN (arn:aws:iam::<acct>:role/<path><name>), user ARN, account root, or the service
    principal name for kind="service" (``logs.eu-west-2.amazonaws.com``)."""
    kind: PrincipalKind
    account: str | None
    identity_policies: tuple[Policy, ...] = ()
    boundary: Policy | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    trust_policy: Policy | None = None
    """Roles only: who may assume it (the role's resource policy for sts:AssumeRole)."""
    session_name: str = "rehearsal"


@dataclass(frozen=True)
class Grant:
    """A KMS grant: lets ``grantee`` perform ``operations`` on the key, optionally constrained by
    an encryption context (equals: all pairs must match exactly; subset: request context contains
    the pairs)."""

    key_arn: str
    grantee: str
    operations: tuple[str, ...]
    context_equals: Mapping[str, str] = field(default_factory=dict)
    context_subset: Mapping[str, str] = field(default_factory=dict)
    name: str = ""


ResourceKind = Literal["generic", "kms", "role-trust", "none"]


@dataclass(frozen=True)
class Request:
    """Everything AWS evaluates for one call.

    ``resource_policy`` is the policy of the resource named in the call (bucket policy, key policy,
    role trust policy, topic/queue/repository/model-package-group/API/Lambda/secret policy), or
    None where the resource has none. ``resource_kind`` selects the service's own rules:
    ``kms`` (the key policy must allow, directly or by delegating to the account; grants count),
    ``role-trust`` (sts:AssumeRole / iam:PassRole targets: the trust policy is the resource policy).
    ``endpoint_policy`` is the policy of the VPC endpoint the request passes through (must allow).
    ``scps`` are Organizations service control policies of the caller's account (must allow).
    ``context`` holds the request's own keys; the evaluator adds the global keys it can derive
    (aws:PrincipalArn, aws:PrincipalAccount, aws:PrincipalType, aws:ResourceAccount,
    aws:SecureTransport=true, aws:PrincipalTag/*, aws:PrincipalIsAWSService, aws:userid).
    """

    principal: Principal
    action: str
    resource: str
    resource_account: str | None
    context: Context = field(default_factory=dict)
    resource_policy: Policy | None = None
    resource_kind: ResourceKind = "generic"
    grants: tuple[Grant, ...] = ()
    endpoint_policy: Policy | None = None
    scps: tuple[Policy, ...] = ()


Outcome = Literal["allowed", "explicit-deny", "implicit-deny"]


@dataclass(frozen=True)
class StatementRef:
    policy: str
    sid: str
    """Statement id, or ``#<index>`` when the statement has none."""


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reason: str
    """One sentence a reader can act on, naming the principal, the policy and what is missing or
    which statement denies."""
    denied_by: tuple[StatementRef, ...] = ()
    allowed_by: tuple[StatementRef, ...] = ()
    missing: tuple[str, ...] = ()
    """Policies that would have to allow but do not (e.g. "identity policies of <role>",
    "key policy of <key>")."""

    @property
    def allowed(self) -> bool:
        return self.outcome == "allowed"


# --- networks ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Route:
    destination: str
    """CIDR (``0.0.0.0/0``, ``10.10.0.0/16``) or prefix-list id (gateway endpoints)."""
    target: Literal["local", "nat", "igw", "gateway-endpoint", "tgw", "peering", "other"]
    """``other``: a target the rehearsal does not follow (network interface, virtual private or
    carrier gateway, Gateway Load Balancer endpoint, an id it cannot resolve)."""
    target_id: str = ""


@dataclass(frozen=True)
class SgRule:
    direction: Literal["ingress", "egress"]
    protocol: str
    """``-1`` (all), ``tcp``, ``udp``."""
    from_port: int | None = None
    to_port: int | None = None
    cidr: str | None = None
    security_group_id: str | None = None
    prefix_list_id: str | None = None
    name: str = ""
    """The recorded resource that made the rule (a reason names it when its peer is unknown)."""


@dataclass(frozen=True)
class SecurityGroup:
    id: str
    vpc_id: str
    rules: tuple[SgRule, ...] = ()
    name: str = ""


@dataclass(frozen=True)
class Subnet:
    id: str
    vpc_id: str
    cidr: str
    route_table_id: str | None
    availability_zone: str = ""
    public: bool = False


@dataclass(frozen=True)
class RouteTable:
    id: str
    vpc_id: str
    routes: tuple[Route, ...] = ()


@dataclass(frozen=True)
class VpcEndpoint:
    id: str
    vpc_id: str
    service_name: str
    """Full endpoint service name: ``com.amazonaws.eu-west-2.sagemaker.api``,
    ``aws.sagemaker.eu-west-2.studio``."""
    type: Literal["Interface", "Gateway"]
    private_dns: bool = False
    subnet_ids: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()
    route_table_ids: tuple[str, ...] = ()
    prefix_list_id: str | None = None
    policy: Policy | None = None
    """None: the default full-access endpoint policy."""


@dataclass(frozen=True)
class Vpc:
    """A VPC's attributes that decide reachability. ``known=False``: an existing VPC the program
    imports by id (``existingVpcId``): its subnets, routes, DNS attributes and endpoints are not in
    the program, so nothing that depends on them can be checked."""

    id: str
    cidr: str = ""
    enable_dns_support: bool = True
    """AWS default: on. Off: nothing in the VPC resolves names through the Amazon DNS server."""
    enable_dns_hostnames: bool = False
    """AWS default for a new VPC: off. Interface endpoints' private DNS needs both on."""
    known: bool = True
    main_route_table_id: str | None = None
    default_security_group_id: str | None = None


@dataclass(frozen=True)
class NetworkModel:
    """One account's networks, as the program would create them."""

    account: str
    region: str
    vpcs: Mapping[str, str] = field(default_factory=dict)
    """{vpc id: CIDR}."""
    subnets: Mapping[str, Subnet] = field(default_factory=dict)
    route_tables: Mapping[str, RouteTable] = field(default_factory=dict)
    security_groups: Mapping[str, SecurityGroup] = field(default_factory=dict)
    endpoints: tuple[VpcEndpoint, ...] = ()
    nat_gateways: Mapping[str, str] = field(default_factory=dict)
    """{nat gateway id: public subnet id}."""
    internet_gateways: Mapping[str, str] = field(default_factory=dict)
    """{igw id: vpc id}."""
    prefix_lists: Mapping[str, str] = field(default_factory=dict)
    """{prefix-list id: service name} (``com.amazonaws.eu-west-2.s3``)."""
    vpc_details: Mapping[str, Vpc] = field(default_factory=dict)
    """{vpc id: attributes}. A VPC in ``vpcs`` without details has AWS's defaults (DNS support
    on, DNS hostnames off); one only here with ``known=False`` is an imported, unknown network."""
    private_nat_gateways: tuple[str, ...] = ()
    """NAT gateways with connectivity type ``private``: no route to the internet."""
    notes: tuple[str, ...] = ()
    """What the builder could not resolve from the recorded resources (unknown outputs, references
    to resources outside the estate)."""


@dataclass(frozen=True)
class Reach:
    """Whether a request from an origin gets to its destination, and through what."""

    reachable: bool
    via: str
    """``public internet``, ``interface endpoint vpce-... (private DNS)``, ``gateway endpoint``,
    ``NAT nat-...``, ``AWS internal``."""
    reason: str = ""
    """When unreachable: which route, endpoint or rule is missing."""
    endpoint_policy: Policy | None = None
    """Policy of the VPC endpoint the request goes through (the evaluator must also allow)."""
    destination: str = ""
    """What was reached: endpoint service suffix or URL (``ecr.dkr+s3`` for a composite)."""
    unknown: bool = False
    """Unreachable because the network is not known (an imported VPC), not because a route is
    shown to be missing."""
    legs: tuple[Reach, ...] = ()
    """A composite destination's parts, each with its own endpoint policy (a docker pull: the
    registry ``ecr.dkr``, then the layers from S3)."""
    resource: str = ""
    """The resource this leg's request targets when it is not the call's own: the S3 leg of an
    image pull reads AWS's layer bucket, so its endpoint policy is evaluated on that ARN."""
