"""AWS quotas and naming rules, checked on every resource a program records (offline).

The mocks (`mlops.testing.mocks`) name resources as pulumi-aws does (auto-names with random
suffixes, provider-computed ids and ARNs), so the names and documents checked here are the ones
AWS would receive. `check_resources` measures, per stack:

- IAM: managed policies attached per role (default quota 10), aggregate inline policy size per role
  (10,240 characters), managed policy size (6,144), trust policy size (2,048 default), role name
  length (64) and policy name length (128), roles per account (1,000 default), customer managed
  policies per account (1,500 default). IAM counts policy size without whitespace;
- S3: bucket name rules (3–63 characters, lower-case letters, digits, dots and hyphens, start and
  end with a letter or digit, no `..`, not an IP address, reserved prefixes and suffixes);
- SageMaker names (63 characters, `^[a-zA-Z0-9](-*[a-zA-Z0-9])*$`; pipelines 256) and Step
  Functions state machine names (80 characters, no whitespace or special characters);
- other name lengths AWS enforces (Lambda, CodeBuild, CodePipeline, EventBridge rules, SNS, SQS,
  KMS aliases, log groups, ...);
- network: rules per security group (60 inbound and 60 outbound, default), interface VPC endpoints
  per VPC (50 default), gateway endpoints per VPC (20 default); EventBridge rules per bus (300
  default).

`generated_usecases(n)` points the manifest loader at `n` generated use cases (the rehearsal's
`MLOPS_USECASES_DIR` mechanism) so the platform can be checked at 1, 10 and 75 use cases:
`mlops quotas --all --usecases 75`.

Defaults are AWS's documented default quotas (IAM User Guide "IAM and AWS STS quotas", Amazon S3
"Bucket naming rules", Amazon VPC quotas, SageMaker and Step Functions API references); adjustable
ones can be raised per account, the check uses the defaults so a fresh account fits.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import shutil
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlops.testing.mocks import RecordedResource


@dataclass(frozen=True)
class Limit:
    key: str
    what: str
    maximum: int
    adjustable: bool = False


LIMITS: dict[str, Limit] = {
    limit.key: limit
    for limit in (
        Limit("iam.managed-per-role", "managed policies attached to a role", 10, True),
        Limit("iam.inline-size-per-role", "inline policies of a role, characters", 10_240),
        Limit("iam.managed-policy-size", "managed policy document, characters", 6_144),
        Limit("iam.trust-policy-size", "role trust policy, characters", 2_048, True),
        Limit("iam.role-name", "role name length", 64),
        Limit("iam.policy-name", "policy name length", 128),
        Limit("iam.roles-per-account", "roles in an account", 1_000, True),
        Limit("iam.policies-per-account", "customer managed policies in an account", 1_500, True),
        Limit("s3.bucket-name", "bucket name length (and naming rules)", 63),
        Limit("sagemaker.name", "SageMaker resource name length (and pattern)", 63),
        Limit("sagemaker.pipeline-name", "SageMaker pipeline name length", 256),
        Limit("states.name", "Step Functions state machine name length (and characters)", 80),
        Limit("ec2.sg-inbound-rules", "inbound rules per security group", 60, True),
        Limit("ec2.sg-outbound-rules", "outbound rules per security group", 60, True),
        Limit("vpc.interface-endpoints", "interface VPC endpoints per VPC", 50, True),
        Limit("vpc.gateway-endpoints", "gateway VPC endpoints per VPC", 20, True),
        Limit("events.rules-per-bus", "EventBridge rules per event bus", 300, True),
    )
}

# type -> (what, max length): names AWS limits (the physical name, given or auto-named)
NAME_LIMITS: dict[str, tuple[str, int]] = {
    "aws:lambda/function:Function": ("Lambda function name", 64),
    "aws:codebuild/project:Project": ("CodeBuild project name", 150),
    "aws:codepipeline/pipeline:Pipeline": ("CodePipeline name", 100),
    "aws:cloudwatch/eventRule:EventRule": ("EventBridge rule name", 64),
    "aws:sns/topic:Topic": ("SNS topic name", 256),
    "aws:sqs/queue:Queue": ("SQS queue name", 80),
    "aws:kms/alias:Alias": ("KMS alias name", 256),
    "aws:cloudwatch/logGroup:LogGroup": ("log group name", 512),
    "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream": ("Firehose stream name", 64),
    "aws:codecommit/repository:Repository": ("CodeCommit repository name", 100),
    "aws:ecr/repository:Repository": ("ECR repository name", 256),
    "aws:ssm/parameter:Parameter": ("SSM parameter name", 2048),
    "aws:secretsmanager/secret:Secret": ("secret name", 512),
    "aws:ssoadmin/permissionSet:PermissionSet": ("permission set name", 32),
    "aws:glue/catalogDatabase:CatalogDatabase": ("Glue database name", 255),
    "aws:athena/workgroup:Workgroup": ("Athena workgroup name", 128),
    "aws:ec2/securityGroup:SecurityGroup": ("security group name", 255),
    "aws:servicecatalog/portfolio:Portfolio": ("Service Catalog portfolio name", 100),
    "aws:servicecatalog/product:Product": ("Service Catalog product name", 8191),
    "aws:cloudtrail/trail:Trail": ("CloudTrail trail name", 128),
    "aws:apigateway/restApi:RestApi": ("API Gateway REST API name", 1024),
}
SAGEMAKER_NAMES: dict[str, tuple[str, int]] = {
    "aws:sagemaker/domain:Domain": ("domainName", 63),
    "aws:sagemaker/userProfile:UserProfile": ("userProfileName", 63),
    "aws:sagemaker/space:Space": ("spaceName", 63),
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": ("modelPackageGroupName", 63),
    "aws:sagemaker/model:Model": ("name", 63),
    "aws:sagemaker/endpoint:Endpoint": ("name", 63),
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": ("name", 63),
    "aws:sagemaker/project:Project": ("projectName", 32),
    "aws:sagemaker/featureGroup:FeatureGroup": ("featureGroupName", 64),
    "aws:sagemaker/image:Image": ("imageName", 63),
    "aws:sagemaker/appImageConfig:AppImageConfig": ("appImageConfigName", 63),
    "aws:sagemaker/notebookInstance:NotebookInstance": ("name", 63),
    "aws:sagemaker/pipeline:Pipeline": ("pipelineName", 256),
}
_SAGEMAKER_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")
_STATES_BAD = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$")
_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")

_ROLE = "aws:iam/role:Role"
_POLICY = "aws:iam/policy:Policy"
_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
_ATTACH = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
_ATTACH_EXCLUSIVE = "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive"
_SG = "aws:ec2/securityGroup:SecurityGroup"
_SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
_EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
_STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"
_BUCKET_TYPE = "aws:s3/bucket:Bucket"
_EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"


@dataclass(frozen=True)
class Finding:
    limit: str
    resource: str
    """Logical name of the resource measured (or the role, security group, VPC, account)."""
    value: int
    maximum: int
    message: str = ""

    @property
    def ok(self) -> bool:
        return not self.message


@dataclass
class QuotaReport:
    stack: str
    resources: int
    findings: list[Finding] = field(default_factory=list)

    @property
    def violations(self) -> list[Finding]:
        return [f for f in self.findings if not f.ok]

    def figures(self) -> dict[str, dict[str, Any]]:
        """Per limit: the largest value measured, where, and the maximum."""
        out: dict[str, dict[str, Any]] = {}
        for f in self.findings:
            best = out.get(f.limit)
            if best is None or f.value > best["value"]:
                out[f.limit] = {"value": f.value, "maximum": f.maximum, "where": f.resource}
        return dict(sorted(out.items()))

    def as_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "resources": self.resources,
            "figures": self.figures(),
            "violations": [asdict(v) for v in self.violations],
        }


def _value(r: RecordedResource, key: str) -> Any:
    value = r.state.get(key)
    return value if value not in (None, "") else r.inputs.get(key)


def _doc(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, dict) else None


def policy_size(document: Any) -> int:
    """Characters IAM counts for a policy: the JSON without whitespace."""
    doc = _doc(document)
    if doc is None:
        return len(re.sub(r"\s", "", str(document or "")))
    return len(json.dumps(doc, separators=(",", ":"), ensure_ascii=False))


def bucket_name_problems(name: str) -> list[str]:
    problems = []
    if not 3 <= len(name) <= 63:
        problems.append(f"{len(name)} characters (3 to 63)")
    if not _BUCKET.match(name):
        problems.append(
            "only lower-case letters, digits, dots and hyphens, letter or digit at ends"
        )
    if ".." in name:
        problems.append("two adjacent periods")
    with contextlib.suppress(ValueError):
        ipaddress.IPv4Address(name)
        problems.append("formatted as an IP address")
    problems += [f"reserved prefix {p}" for p in _BUCKET_PREFIXES if name.startswith(p)]
    problems += [f"reserved suffix {s}" for s in _BUCKET_SUFFIXES if name.endswith(s)]
    return problems


def _finding(limit: str, where: str, value: int, maximum: int, problem: str = "") -> Finding:
    if not problem and value > maximum:
        problem = f"{LIMITS[limit].what}: {value} > {maximum}"
    return Finding(limit, where, value, maximum, problem)


def check_resources(resources: Sequence[RecordedResource], stack: str = "") -> QuotaReport:
    """Every quota and naming rule above over one program's recorded resources."""
    custom = [r for r in resources if r.custom]
    report = QuotaReport(stack=stack, resources=len(custom))
    add = report.findings.append
    by_type: dict[str, list[RecordedResource]] = defaultdict(list)
    for r in custom:
        by_type[r.type].append(r)

    # --- IAM ---------------------------------------------------------------------------------
    roles: dict[str, RecordedResource] = {}
    for r in by_type[_ROLE]:
        for ref in (_value(r, "name"), r.state.get("id"), r.state.get("arn")):
            if ref:
                roles[str(ref)] = r
    managed = Counter()
    inline: Counter[str] = Counter()
    for r in by_type[_ATTACH]:
        role = roles.get(str(r.inputs.get("role")))
        managed[role.name if role else str(r.inputs.get("role"))] += 1
    for r in by_type[_ATTACH_EXCLUSIVE]:
        role = roles.get(str(r.inputs.get("roleName")))
        managed[role.name if role else str(r.inputs.get("roleName"))] += len(
            r.inputs.get("policyArns") or []
        )
    for r in by_type[_ROLE_POLICY]:
        role = roles.get(str(r.inputs.get("role")))
        inline[role.name if role else str(r.inputs.get("role"))] += policy_size(
            r.inputs.get("policy")
        )
        name = str(_value(r, "name") or r.physical_name or "")
        add(_finding("iam.policy-name", r.name, len(name), 128))
    for r in by_type[_ROLE]:
        managed[r.name] += len(r.inputs.get("managedPolicyArns") or [])
        for item in r.inputs.get("inlinePolicies") or []:
            if isinstance(item, dict):
                inline[r.name] += policy_size(item.get("policy"))
        add(_finding("iam.trust-policy-size", r.name,
                     policy_size(r.inputs.get("assumeRolePolicy")), 2_048))  # fmt: skip
        add(_finding("iam.role-name", r.name, len(str(r.physical_name or "")), 64))
    for role, count in managed.items():
        add(_finding("iam.managed-per-role", role, count, 10))
    for role, size in inline.items():
        add(_finding("iam.inline-size-per-role", role, size, 10_240))
    for r in by_type[_POLICY]:
        add(_finding("iam.managed-policy-size", r.name, policy_size(r.inputs.get("policy")), 6_144))
        add(_finding("iam.policy-name", r.name, len(str(r.physical_name or "")), 128))
    add(_finding("iam.roles-per-account", stack or "account", len(by_type[_ROLE]), 1_000))
    add(_finding("iam.policies-per-account", stack or "account", len(by_type[_POLICY]), 1_500))

    # --- names -------------------------------------------------------------------------------
    for r in by_type[_BUCKET_TYPE]:
        name = str(r.physical_name or _value(r, "bucket") or "")
        problems = "; ".join(bucket_name_problems(name))
        problem = f"bucket name {name!r}: {problems}" if problems else ""
        add(_finding("s3.bucket-name", r.name, len(name), 63, problem))
    for typ, (prop, maximum) in SAGEMAKER_NAMES.items():
        limit = "sagemaker.pipeline-name" if prop == "pipelineName" else "sagemaker.name"
        for r in by_type[typ]:
            name = str(_value(r, prop) or r.physical_name or "")
            problem = ""
            if not _SAGEMAKER_PATTERN.match(name):
                problem = f"SageMaker name {name!r} does not match {_SAGEMAKER_PATTERN.pattern}"
            elif len(name) > maximum:
                problem = f"SageMaker {prop} {name!r}: {len(name)} > {maximum} characters"
            add(_finding(limit, r.name, len(name), maximum, problem))
    for r in by_type[_STATE_MACHINE]:
        name = str(r.physical_name or _value(r, "name") or "")
        bad = sorted(set(_STATES_BAD.findall(name)))
        add(_finding("states.name", r.name, len(name), 80,
                     f"state machine name {name!r} contains {bad}" if bad else ""))  # fmt: skip
    for typ, (what, maximum) in NAME_LIMITS.items():
        for r in by_type[typ]:
            name = str(r.physical_name or _value(r, "name") or "")
            problem = f"{what} {name!r}: {len(name)} > {maximum}" if len(name) > maximum else ""
            add(Finding(f"name.length:{what}", r.name, len(name), maximum, problem))

    # --- network -----------------------------------------------------------------------------
    sgs: dict[str, RecordedResource] = {}
    for r in by_type[_SG]:
        for ref in (r.state.get("id"), r.id):
            if ref:
                sgs[str(ref)] = r
    rules: dict[tuple[str, str], int] = Counter()

    def count(sg_ref: Any, direction: str, n: int = 1) -> None:
        sg = sgs.get(str(sg_ref))
        rules[(sg.name if sg else str(sg_ref), direction)] += n

    for r in by_type[_SG]:
        rules[(r.name, "ingress")] += sum(_rule_count(x) for x in r.inputs.get("ingress") or [])
        rules[(r.name, "egress")] += sum(_rule_count(x) for x in r.inputs.get("egress") or [])
    for r in by_type[_INGRESS]:
        count(r.inputs.get("securityGroupId"), "ingress")
    for r in by_type[_EGRESS]:
        count(r.inputs.get("securityGroupId"), "egress")
    for r in by_type[_SG_RULE]:
        direction = "ingress" if r.inputs.get("type") == "ingress" else "egress"
        count(r.inputs.get("securityGroupId"), direction, _rule_count(r.inputs))
    for (sg, direction), n in rules.items():
        key = "ec2.sg-inbound-rules" if direction == "ingress" else "ec2.sg-outbound-rules"
        add(_finding(key, sg, n, 60))
    endpoints: Counter[tuple[str, str]] = Counter()
    for r in by_type[_ENDPOINT]:
        kind = str(r.inputs.get("vpcEndpointType") or "Gateway")
        endpoints[(str(r.inputs.get("vpcId")), kind)] += 1
    for (vpc, kind), n in endpoints.items():
        if kind == "Interface":
            add(_finding("vpc.interface-endpoints", vpc, n, 50))
        elif kind == "Gateway":
            add(_finding("vpc.gateway-endpoints", vpc, n, 20))
    buses = Counter(str(r.inputs.get("eventBusName") or "default") for r in by_type[_EVENT_RULE])
    for bus, n in buses.items():
        add(_finding("events.rules-per-bus", bus, n, 300))
    return report


def _rule_count(rule: Mapping[str, Any]) -> int:
    """AWS counts one rule per CIDR block, IPv6 block, prefix list and referenced group."""
    n = (
        len(rule.get("cidrBlocks") or [])
        + len(rule.get("ipv6CidrBlocks") or [])
        + len(rule.get("prefixListIds") or [])
        + len(rule.get("securityGroups") or [])
    )
    if rule.get("sourceSecurityGroupId") or rule.get("self"):
        n += 1
    return max(n, 1)


# --- generated use cases -----------------------------------------------------------------------
_WORDS = (
    "motor", "quotes", "fraud", "triage", "subrogation", "pricing", "renewal", "churn", "repair",
    "valuation", "household", "flood", "telematics", "recovery", "underwriting", "reserving",
)  # fmt: skip


def usecase_names(count: int) -> list[str]:
    """`count` realistic use-case names that pass every manifest rule (prefix-free, distinct first
    ten characters); every third one as long as a manifest allows (32 characters), so the longest
    physical names are measured."""
    from mlops.usecases import NAME_MAX, check_artifact_prefixes, check_prefix_free, is_valid_name

    names: list[str] = []
    for i in range(count):
        a, b = _WORDS[i % len(_WORDS)], _WORDS[(i * 7 + 3) % len(_WORDS)]
        name = f"{a[:5]}-{i:03d}-{b}"  # the first ten characters are unique
        if i % 3 == 0:  # long: pad with further words up to the limit
            for w in _WORDS:
                if len(f"{name}-{w}") <= NAME_MAX:
                    name = f"{name}-{w}"
        if not is_valid_name(name):
            name = f"uc{i:03d}"
        names.append(name)
    check_prefix_free(names)
    check_artifact_prefixes(names)
    return names


@contextlib.contextmanager
def generated_usecases(count: int, template: str = "remedy") -> Iterator[list[str]]:
    """Point the manifest loader (`MLOPS_USECASES_DIR`) at `count` copies of `usecases/<template>`
    with generated names and repositories; restored afterwards."""
    import yaml

    from mlops.usecases import USECASES_DIR, USECASES_DIR_ENV

    base = yaml.safe_load((USECASES_DIR / f"{template}.yaml").read_text())
    folder = Path(tempfile.mkdtemp(prefix="mlops-quotas-"))
    names = usecase_names(count)
    for name in names:
        data = {**base, "name": name, "description": f"generated for quota checks ({template})"}
        data["git"] = {**base["git"], "training_repo": f"{name}-training",
                       "inference_repo": f"{name}-inference"}  # fmt: skip
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    previous = os.environ.get(USECASES_DIR_ENV)
    os.environ[USECASES_DIR_ENV] = str(folder)
    try:
        yield names
    finally:
        if previous is None:
            os.environ.pop(USECASES_DIR_ENV, None)
        else:
            os.environ[USECASES_DIR_ENV] = previous
        shutil.rmtree(folder, ignore_errors=True)


def check_stack(stack: str, usecases: int | None = None) -> QuotaReport:
    """Build the platform program for `stack` (with `usecases` generated use cases, or the
    repository's `usecases/`) under the mocks and check every recorded resource."""
    from mlops.program import build_stack

    if usecases is None:
        mocks = build_stack(stack)
    else:
        with generated_usecases(usecases):
            mocks = build_stack(stack)
    return check_resources(mocks.resources, stack)


def format_reports(reports: Iterable[QuotaReport]) -> str:
    lines = []
    for report in reports:
        lines.append(f"{report.stack}: {report.resources} resources")
        for key, fig in report.figures().items():
            mark = "!!" if fig["value"] > fig["maximum"] else "  "
            lines.append(
                f"  {mark} {key:42} {fig['value']:>6} / {fig['maximum']:<6} {fig['where']}"
            )
        for v in report.violations:
            lines.append(f"  violation: {v.resource}: {v.message}")
    return "\n".join(lines)
