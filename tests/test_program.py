"""The whole platform program, per stack: the security promises hold for EVERY resource.

Built once per stack (the `program` fixture) and shared by these tests; other engineers' resources
wired into platform/__main__.py are checked by the same rules.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
import warnings
from functools import cache

import pulumi_aws
import pytest
from components._helpers import of_type, policy, statements
from components.test_storage import assert_secure_buckets

from mlops.config import StackConfig
from mlops.iam import wildcard_admin_statements
from mlops.program import PROGRAM, stack_exports
from mlops.tags import REQUIRED_TAGS
from mlops.testing.mocks import RecordedResource, RecordingMocks, policy_documents

CORE_COMPONENTS = {
    "mlops:keys:Keys",
    "mlops:network:Network",
    "mlops:storage:Storage",
    "mlops:storage:SecureBucket",
    "mlops:audit:Audit",
}
DEV_COMPONENTS = {
    "mlops:identity:StudioRoles",
    "mlops:studio:Studio",
}
TARGET_COMPONENTS = {"mlops:crossaccount:DeploymentAccess"}


def test_components_per_stack(stack_config: StackConfig, program: RecordingMocks) -> None:
    types = {r.type for r in program.resources if r.is_component}
    expected = CORE_COMPONENTS | (
        DEV_COMPONENTS if stack_config.is_governance else TARGET_COMPONENTS
    )
    assert expected <= types
    unexpected = TARGET_COMPONENTS if stack_config.is_governance else DEV_COMPONENTS
    assert not (unexpected & types)
    assert not program.duplicate_keys()


def test_every_bucket_in_the_program_is_secure(program: RecordingMocks) -> None:
    assert_secure_buckets(program)


def test_studio_is_vpc_only_with_kms(stack_config: StackConfig, program: RecordingMocks) -> None:
    domains = program.of_type("aws:sagemaker/domain:Domain")
    if not stack_config.is_governance:
        assert domains == []
        return
    (domain,) = domains
    assert domain.inputs["appNetworkAccessType"] == "VpcOnly"
    assert domain.inputs["kmsKeyId"].startswith("arn:aws:kms:")
    (studio_key,) = [k for k in program.of_type("aws:kms/key:Key") if k.name == "keys-studio"]
    assert domain.inputs["kmsKeyId"] == studio_key.state["arn"]


def test_no_policy_grants_everything(program: RecordingMocks) -> None:
    docs = policy_documents(program.resources)
    assert len(docs) > 10
    offenders = [(name, st) for name, doc in docs for st in wildcard_admin_statements(doc)]
    assert not offenders, offenders


_FULL_ACCESS = re.compile(r"^arn:aws:iam::aws:policy/.*(FullAccess|AdministratorAccess|PowerUser)")


def test_no_role_uses_aws_managed_full_access(program: RecordingMocks) -> None:
    attached = [
        (r.name, arn)
        for r in program.of_type("aws:iam/role:Role")
        for arn in r.inputs.get("managedPolicyArns") or []
    ]
    attached += [
        (r.name, r.inputs["policyArn"])
        for typ in ("aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                    "aws:iam/policyAttachment:PolicyAttachment")
        for r in program.of_type(typ)
    ]  # fmt: skip
    assert not [(n, a) for n, a in attached if _FULL_ACCESS.match(a)], attached


def test_no_platform_wide_deployment_role(stack_config: StackConfig, program: RecordingMocks):
    """Deployments go through the per-use-case deployers only (mlops:usecase:DeploymentTarget)."""
    roles = {r.inputs["name"] for r in of_type(program, "aws:iam/role:Role")}
    env = stack_config.environment
    assert f"mlops-{env}-deployment" not in roles
    assert "mlops-dev-deploy-pipeline" not in roles
    assert f"mlops-{env}-remedy-deployer" in roles


def test_dev_artifacts_are_readable_by_staging_and_prod_model_roles(
    stack_config: StackConfig, program: RecordingMocks
) -> None:
    """The artifact contract's resource side, in dev only: the bucket policy and the key policy
    admit each other stage's model roles to registered models (`*/models/*`) only."""
    key = next(k for k in program.of_type("aws:kms/key:Key") if k.name == "keys-artifacts")
    key_sids = statements(policy(key))
    bucket_policy = next(
        p for p in program.of_type("aws:s3/bucketPolicy:BucketPolicy")
        if p.inputs["bucket"].startswith(f"mlops-{stack_config.environment}-model-artifacts-")
    )  # fmt: skip
    bucket_sids = statements(policy(bucket_policy))
    for env in ("staging", "prod"):
        account = stack_config.accounts.for_env(env)
        roles = f"arn:aws:iam::{account}:role/mlops-{env}-*-model"
        shared = stack_config.is_governance
        sid = env.capitalize()
        assert (f"ModelDecrypt{sid}" in key_sids) == shared
        assert (f"ModelRead{sid}" in bucket_sids) == shared
        if shared:
            decrypt = key_sids[f"ModelDecrypt{sid}"]["Condition"]
            assert decrypt["ArnLike"]["aws:PrincipalArn"] == roles
            read = bucket_sids[f"ModelRead{sid}"]
            assert read["Condition"]["ArnLike"]["aws:PrincipalArn"] == roles
            assert read["Resource"].endswith("/*/models/*"), read


# --- tags ----------------------------------------------------------------------------------
@cache
def _taggable(typ: str) -> bool:
    """Does the pulumi-aws resource class behind a type token accept `tags`?"""
    pkg, module, cls_name = typ.split(":")
    if pkg != "aws":
        return False
    mod_name = module.split("/")[0]
    mod_name = f"{mod_name}_" if mod_name == "lambda" else mod_name  # pulumi_aws.lambda_
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mod = (
            pulumi_aws if mod_name == "index" else importlib.import_module(f"pulumi_aws.{mod_name}")
        )
    cls = getattr(mod, cls_name)
    return "tags" in inspect.signature(cls._internal_init).parameters


def test_taggable_detection() -> None:
    assert _taggable("aws:s3/bucket:Bucket")
    assert not _taggable("aws:s3/bucketVersioning:BucketVersioning")


def test_every_taggable_resource_is_tagged(
    stack_config: StackConfig, program: RecordingMocks
) -> None:
    untagged: list[tuple[str, list[str]]] = []
    checked = 0
    for r in program.resources:
        if not r.custom or not _taggable(r.type):
            continue
        checked += 1
        tags = r.inputs.get("tags") or {}
        missing = [t for t in REQUIRED_TAGS if not tags.get(t)]
        if missing:
            untagged.append((r.name, missing))
        else:
            assert tags["environment"] == stack_config.environment, r.name
    assert checked > 30
    assert not untagged, untagged


# --- parliament ------------------------------------------------------------------------------
# Each suppression: (resource type, document key, parliament issue, detail regex) -> justification.
SUPPRESSIONS: dict[tuple[str, str, str, str], str] = {
    ("aws:kms/key:Key", "policy", "RESOURCE_STAR", ".*"): (
        "in a key policy Resource '*' means 'this key'; KMS requires exactly that form"
    ),
    ("aws:kms/key:Key", "policy", "UNKNOWN_CONDITION_FOR_ACTION",
     r"kms:EncryptionContext:aws:logs:arn for action kms:Describe"): (
        "the CloudWatch Logs statement is AWS's documented key policy for encrypted log groups "
        "(Encrypt*/Decrypt*/ReEncrypt*/GenerateDataKey*/Describe* under the logs-ARN context)"
    ),
    ("aws:iam/rolePolicy:RolePolicy", "policy", "UNKNOWN_CONDITION_FOR_ACTION",
     r"^Unknown condition kms:ResourceAliases for action kms:(Encrypt|Decrypt|GenerateDataKey)$"): (
        "kms:ResourceAliases is AWS KMS's documented condition key for the aliases of the key a "
        "request uses (KMS developer guide 'kms:ResourceAliases', 2021), newer than parliament's "
        "catalogue: the deploy build may use the Pulumi secrets key by its alias only"
    ),
    ("aws:ecr/repositoryPolicy:RepositoryPolicy", "policy", "MALFORMED",
     "neither Resource nor NotResource"): (
        "an ECR repository policy applies to its repository and has no Resource element"
    ),
    ("aws:iam/policy:Policy", "policy", "RESOURCE_STAR",
     r"^\['ec2:AssignPrivateIpAddresses', 'ec2:CreateNetworkInterface', "): (
        "the use cases' permissions boundary (usecase_roles.boundary_policy) caps the "
        "services a deployer-created role may use; its Resource is '*' by design, each role's "
        "own policy names the resources"
    ),
    ("aws:iam/policy:Policy", "policy", "UNKNOWN_CONDITION_FOR_ACTION",
     r"^Unknown condition kms:ResourceAliases for action kms:"): (
        "parliament's action table predates kms:ResourceAliases, which AWS documents for every "
        "operation on a KMS key; the deployer uses keys only by their platform aliases"
    ),
    ("aws:iam/role:Role", "assumeRolePolicy", "MALFORMED", "neither Resource nor NotResource"): (
        "trust policies must not have a Resource element (IAM rejects it); parliament lints "
        "them as identity policies"
    ),
}  # fmt: skip


def _suppressed(r: RecordedResource, key: str, issue: str, detail: str) -> bool:
    return any(
        typ == r.type and k == key and iss == issue and re.search(rx, detail)
        for (typ, k, iss, rx) in SUPPRESSIONS
    )


def lint_findings(resources: list[RecordedResource]) -> list[tuple[str, str, str]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import parliament
    found = []
    for r in resources:
        for doc_name, doc in policy_documents([r]):
            key = doc_name.rsplit(".", 1)[1] if "." in doc_name else doc_name
            for f in parliament.analyze_policy_string(json.dumps(doc)).findings:
                detail = str(f.detail)
                if not _suppressed(r, key, f.issue, detail):
                    found.append((doc_name, f.issue, detail[:200]))
    return found


def test_parliament_finds_nothing(program: RecordingMocks) -> None:
    assert len(policy_documents(program.resources)) > 10
    findings = lint_findings(program.resources)
    assert not findings, "\n".join(map(str, findings))


def test_parliament_is_not_blind() -> None:
    """Run in reverse: a bad identity policy must produce findings the suppressions keep."""
    bad = RecordedResource(
        type="aws:iam/rolePolicy:RolePolicy",
        name="bad",
        inputs={"policy": json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b"}]})},
        custom=True,
        urn="urn:bad",
    )  # fmt: skip
    assert lint_findings([bad]), "parliament should flag s3:GetObject on a bucket ARN"


def test_exports_feed_stack_references() -> None:
    """Every key staging/prod read from dev is one dev's program really exports."""
    source = PROGRAM.read_text()
    exported = set(re.findall(r'pulumi\.export\(\s*"([a-z_]+)"', source))
    read = set(re.findall(r'dev_stack\.(?:require_)?output\(\s*"([a-z_]+)"', source))
    assert read, "no StackReference reads found in the program"
    assert read <= set(stack_exports("dev")), read - set(stack_exports("dev"))
    for key in ("vpc_id", "private_subnet_ids", "sagemaker_security_group_id", "kms_key_arns",
                "bucket_names", "studio_domain_id", "lead_data_scientist_role_arn",
                "model_execution_role_arn"):  # fmt: skip
        assert key in exported, key


@pytest.mark.parametrize("stack_config", ["prod"], indirect=True)
def test_prod_is_spread_over_three_azs(stack_config: StackConfig, program: RecordingMocks) -> None:
    subnets = of_type(program, "aws:ec2/subnet:Subnet")
    assert len({s.inputs["availabilityZone"] for s in subnets}) == 3


def test_a_reference_reads_the_exports_built_from_the_same_manifests() -> None:
    # the exports cache once ignored MLOPS_USECASES_DIR: a staging build after the quota checks'
    # generated use cases read a dev that exported their deployer roles instead of remedy's
    from mlops.program import build_stack
    from mlops.quotas import generated_usecases
    from mlops.usecases import load_manifests

    with generated_usecases(2) as generated:
        assert set(stack_exports("dev")["usecases"]) == set(generated)
    (reference,) = build_stack("staging").of_type("pulumi:pulumi:StackReference")
    assert set(reference.state["outputs"]["usecases"]) == {m.name for m in load_manifests()}
