"""Per-use-case approvers and the persona side of scale.

The trust and permission documents are evaluated with the rehearsal's IAM evaluator (conditions
included); the components are built under the recording mocks.
"""

from __future__ import annotations

import pytest

from mlops.components.approvers import (
    PERMISSION_SETS,
    PersonaPermissionSets,
    PersonaPermissionSetsArgs,
    approver_policy,
    approver_trust_policy,
    persona_permission_set_policy,
    sso_role_arn,
    sso_role_pattern,
)
from mlops.components.identity import PERSONAS, studio_policy
from mlops.config import Person, StackConfig
from mlops.naming import NameContext
from mlops.rehearsal.evaluator import evaluate
from mlops.rehearsal.model import Policy, Principal, Request
from mlops.testing.mocks import RecordingMocks, run

from .usecase_helpers import build, manifest

ACCT, REGION = "111111111111", "eu-west-2"
CTX = NameContext("dev", ACCT, REGION)
ELLEN = Person(user="ellen-ward", email="ellen.ward@example.com")
SAM = Person(user="sam-reyes", email="sam.reyes@example.com")
APPROVER = f"arn:aws:iam::{ACCT}:role/mlops-dev-remedy-approver"
PIPELINE = f"arn:aws:codepipeline:{REGION}:{ACCT}:mlops-dev-remedy-deploy"
GATE = f"{PIPELINE}/ApproveStaging/LeadDataScientistApproval"
PACKAGE = f"arn:aws:sagemaker:{REGION}:{ACCT}:model-package/mlops-dev-remedy-models/3"
DEV = pytest.mark.parametrize("stack_config", ["dev"], indirect=True)


def _sso(persona: str) -> Principal:
    policy = Policy(f"permission set {persona}", persona_permission_set_policy(persona, CTX))
    return Principal(
        arn=sso_role_arn(ACCT, REGION, persona), kind="role", account=ACCT,
        identity_policies=(policy,),
    )  # fmt: skip


def _assume(caller: Principal, user: str, session: str) -> str:
    trust = Policy("trust", approver_trust_policy(ACCT, [ELLEN]))
    request = Request(
        principal=caller, action="sts:AssumeRole", resource=APPROVER, resource_account=ACCT,
        context={"aws:userid": f"AROAEXAMPLE:{user}", "sts:RoleSessionName": session},
        resource_policy=trust, resource_kind="role-trust",
    )  # fmt: skip
    return "allowed" if evaluate(request).allowed else "denied"


def test_only_this_use_cases_lead_takes_its_approver_role() -> None:
    lead = _sso("lead-data-scientist")
    assert _assume(lead, ELLEN.email, ELLEN.user) == "allowed"
    # another lead (same permission set, another person), or the lead's name as session name
    assert _assume(lead, SAM.email, SAM.user) == "denied"
    assert _assume(lead, SAM.email, ELLEN.user) == "denied"
    # the lead under another session name (CodePipeline would record the wrong approver)
    assert _assume(lead, ELLEN.email, "someone-else") == "denied"
    # a data scientist's permission set, even with the lead's user name
    assert _assume(_sso("data-scientist"), ELLEN.email, ELLEN.user) == "denied"
    # a Studio execution role with a generous policy
    studio = Principal(
        arn=f"arn:aws:iam::{ACCT}:role/mlops-dev-lead-data-scientist", kind="role", account=ACCT,
        identity_policies=(Policy("admin", {"Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"}]}),),
    )  # fmt: skip
    assert _assume(studio, ELLEN.email, ELLEN.user) == "denied"


def _allowed(doc: dict, action: str, resource: str, context: dict | None = None) -> bool:
    principal = Principal(
        arn=APPROVER, kind="role", account=ACCT, identity_policies=(Policy("p", doc),)
    )
    request = Request(
        principal=principal, action=action, resource=resource, resource_account=ACCT,
        context=context or {},
    )  # fmt: skip
    return evaluate(request).allowed


def test_the_approver_role_reaches_only_its_own_gates_and_packages() -> None:
    doc = approver_policy(CTX, "mlops-dev-remedy-deploy", "mlops-dev-remedy-models")
    approved = {"sagemaker:ModelApprovalStatus": "Approved"}
    assert _allowed(doc, "codepipeline:PutApprovalResult", GATE)
    assert _allowed(doc, "codepipeline:PutApprovalResult", GATE.replace("Staging", "Prod"))
    assert _allowed(doc, "sagemaker:UpdateModelPackage", PACKAGE, approved)
    other_gate = GATE.replace("remedy", "fraud")
    assert not _allowed(doc, "codepipeline:PutApprovalResult", other_gate)
    assert not _allowed(doc, "sagemaker:UpdateModelPackage", PACKAGE.replace("remedy", "fraud"))
    assert not _allowed(doc, "sagemaker:CreateModelPackage", PACKAGE, approved)


def test_permission_sets_never_approve_directly() -> None:
    for persona in PERMISSION_SETS:
        doc = persona_permission_set_policy(persona, CTX)
        assert not _allowed(doc, "codepipeline:PutApprovalResult", GATE), persona
        assert not _allowed(doc, "sagemaker:UpdateModelPackage", PACKAGE), persona
        assert _allowed(doc, "codepipeline:GetPipelineState", PIPELINE), persona
    lead = persona_permission_set_policy("lead-data-scientist", CTX)
    scientist = persona_permission_set_policy("data-scientist", CTX)
    assert _allowed(lead, "sts:AssumeRole", APPROVER)
    assert not _allowed(scientist, "sts:AssumeRole", APPROVER)
    assert sso_role_pattern(ACCT, "lead-data-scientist").endswith(
        "AWSReservedSSO_MlopsLeadDataScientist_*"
    )
    assert all(len(name) <= 32 for name in PERMISSION_SETS.values())


def test_no_studio_persona_approves() -> None:
    for persona in PERSONAS:
        doc = studio_policy(
            persona, region=REGION, account_id=ACCT, bucket_arns=["arn:aws:s3:::b"],
            key_arns=[f"arn:aws:kms:{REGION}:{ACCT}:key/k"], passable_role_arns=["r"],
        )  # fmt: skip
        assert not _allowed(doc, "codepipeline:PutApprovalResult", GATE), persona
        assert not _allowed(doc, "sagemaker:UpdateModelPackage", PACKAGE), persona


def test_trust_needs_a_lead() -> None:
    with pytest.raises(ValueError, match="at least one lead"):
        approver_trust_policy(ACCT, [])


@DEV
def test_one_role_per_use_case_and_nothing_attached_to_shared_roles(
    pulumi_mocks: RecordingMocks, stack_config: StackConfig
) -> None:
    """With 12 use cases the shared persona roles get no per-use-case attachment (before: 12 on
    each, over IAM's limit of 10 managed policies per role)."""
    names = [f"uc{i:02d}" for i in range(12)]
    run(lambda: build(stack_config, [manifest(n) for n in names]))
    attachments = pulumi_mocks.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    # only each use case's deployer carries managed policies (its own permissions)
    deployers = {f"usecase-{n}-deployer-attachment-{i}" for n in names for i in (1, 2, 3)}
    assert {a.name for a in attachments} - deployers == set()
    roles = {r.inputs["name"] for r in pulumi_mocks.of_type("aws:iam/role:Role")}
    assert {f"mlops-dev-{n}-approver" for n in names} <= roles


@DEV
def test_deputy_leads_are_in_the_trust(
    pulumi_mocks: RecordingMocks, stack_config: StackConfig
) -> None:
    lead = stack_config.people.lead_data_scientists[0].user
    others = [p for p in stack_config.people.lead_data_scientists if p.user != lead]
    assert others, "the dev stack names a second lead (Pulumi.dev.yaml)"
    m = manifest("remedy", owners={"lead_data_scientist": lead, "deputy_leads": [others[0].user]})
    run(lambda: build(stack_config, [m]))
    role = next(
        r for r in pulumi_mocks.of_type("aws:iam/role:Role")
        if r.inputs["name"] == "mlops-dev-remedy-approver"
    )  # fmt: skip
    trust = role.inputs["assumeRolePolicy"]
    assert f"*:{others[0].email}" in trust and f'"{others[0].user}"' in trust


@DEV
def test_permission_sets_are_created_for_an_identity_center_instance(
    pulumi_mocks: RecordingMocks, stack_config: StackConfig
) -> None:
    instance = "arn:aws:sso:::instance/ssoins-0123456789abcdef"

    def program() -> None:
        PersonaPermissionSets(
            "people",
            PersonaPermissionSetsArgs(
                names=CTX, instance_arn=instance, tags={"owner": "t"},
                group_ids={"lead-data-scientist": "g-lead"},
            ),
        )  # fmt: skip

    run(program)
    sets = {
        r.inputs["name"] for r in pulumi_mocks.of_type("aws:ssoadmin/permissionSet:PermissionSet")
    }
    assert sets == set(PERMISSION_SETS.values())
    inline = pulumi_mocks.of_type(
        "aws:ssoadmin/permissionSetInlinePolicy:PermissionSetInlinePolicy"
    )
    assert len(inline) == 2 and all("NoDirectApprovals" in r.inputs["inlinePolicy"] for r in inline)
    assignments = pulumi_mocks.of_type("aws:ssoadmin/accountAssignment:AccountAssignment")
    assert [(a.inputs["principalId"], a.inputs["targetId"]) for a in assignments] == [
        ("g-lead", ACCT)
    ]


def test_the_dev_program_creates_the_permission_sets_when_config_names_the_instance() -> None:
    import json
    import runpy

    from mlops.config import flatten_for_mocks, read_stack_file
    from mlops.program import PROGRAM
    from mlops.testing.mocks import install

    config = flatten_for_mocks(read_stack_file("dev"))
    people = json.loads(config["mlops-platform:people"])
    people["identityCenter"] = {
        "instanceArn": "arn:aws:sso:::instance/ssoins-0123456789abcdef",
        "leadDataScientistGroupId": "g-lead",
    }
    config["mlops-platform:people"] = json.dumps(people)
    mocks = RecordingMocks(account_id=ACCT, region=REGION, az_count=3)
    install(mocks, "dev", config)
    run(lambda: runpy.run_path(str(PROGRAM), run_name="__main__"))
    sets = mocks.of_type("aws:ssoadmin/permissionSet:PermissionSet")
    assert sorted(r.inputs["name"] for r in sets) == sorted(PERMISSION_SETS.values())
    assignments = mocks.of_type("aws:ssoadmin/accountAssignment:AccountAssignment")
    assert [a.inputs["principalId"] for a in assignments] == ["g-lead"]


def test_identity_center_config_names_the_bad_field() -> None:
    from pydantic import ValidationError

    from mlops.config import IdentityCenter

    with pytest.raises(ValidationError, match="instance_arn"):
        IdentityCenter(instance_arn="ssoins-123")
