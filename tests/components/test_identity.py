"""Studio roles: least privilege, no FullAccess, DS cannot approve or create projects."""

from __future__ import annotations

import pytest

from components._helpers import ctx_of, of_type, policy, statements, tags_of
from mlops.components.identity import PERSONAS, StudioRoles, StudioRolesArgs, studio_policy
from mlops.config import StackConfig
from mlops.testing.mocks import RecordingMocks, run

BUCKETS = ["arn:aws:s3:::mlops-dev-data-111111111111-eu-west-2"]
KEYS = ["arn:aws:kms:eu-west-2:111111111111:key/data"]
dev_only = pytest.mark.parametrize("stack_config", ["dev"], indirect=True)


def _build(cfg: StackConfig) -> StudioRoles:
    return StudioRoles(
        "studio-roles",
        StudioRolesArgs(names=ctx_of(cfg), tags=tags_of(cfg), bucket_arns=BUCKETS, key_arns=KEYS),
    )


def _actions(st: dict) -> set[str]:
    return {st["Action"]} if isinstance(st["Action"], str) else set(st["Action"])


@dev_only
def test_three_roles_without_managed_policies(
    stack_config: StackConfig, pulumi_mocks: RecordingMocks
):
    run(lambda: _build(stack_config))
    roles = of_type(pulumi_mocks, "aws:iam/role:Role")
    assert sorted(r.inputs["name"] for r in roles) == sorted(f"mlops-dev-{p}" for p in PERSONAS)
    for role in roles:
        assert not role.inputs.get("managedPolicyArns"), role.name
        trust = statements(policy(role, "assumeRolePolicy"))["TrustService"]
        assert trust["Principal"] == {"Service": "sagemaker.amazonaws.com"}
        assert "Resource" not in trust  # IAM rejects Resource in trust policies
    assert not pulumi_mocks.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")


@dev_only
def test_data_scientists_cannot_approve_or_create_projects(
    stack_config: StackConfig, pulumi_mocks: RecordingMocks
):
    run(lambda: _build(stack_config))
    ds = statements(policy(pulumi_mocks.named("studio-roles-data-scientist-policy")))
    deny_approve = ds["DenyApproveModelPackages"]
    assert deny_approve["Effect"] == "Deny" and deny_approve["Resource"] == "*"
    assert "sagemaker:UpdateModelPackage" in _actions(deny_approve)
    deny_projects = ds["DenyCreateProjects"]
    assert deny_projects["Effect"] == "Deny"
    assert {"sagemaker:CreateProject", "servicecatalog:ProvisionProduct"} <= _actions(deny_projects)
    allowed = set().union(*(_actions(s) for s in ds.values() if s["Effect"] == "Allow"))
    assert "sagemaker:UpdateModelPackage" not in allowed
    assert "sagemaker:CreateProject" not in allowed


@dev_only
def test_leads_create_projects_but_their_studio_role_never_approves(
    stack_config: StackConfig, pulumi_mocks: RecordingMocks
):
    run(lambda: _build(stack_config))
    lead = statements(policy(pulumi_mocks.named("studio-roles-lead-data-scientist-policy")))
    assert not [s for s in lead.values() if s["Effect"] == "Deny" and "Project" in s["Sid"]]
    assert "sagemaker:CreateProject" in _actions(lead["CreateProjects"])
    # approvals are people's Identity Center sessions (mlops.components.approvers), not Studio
    assert "ApproveModelPackages" not in lead
    assert lead["DenyApproveModelPackages"]["Effect"] == "Deny"
    assert "codepipeline:PutApprovalResult" in _actions(lead["DenyPromotionGates"])


def test_jobs_outside_the_vpc_are_denied() -> None:
    for persona in PERSONAS:
        doc = studio_policy(
            persona,
            region="eu-west-2",
            account_id="111111111111",
            bucket_arns=BUCKETS,
            key_arns=KEYS,
            passable_role_arns=["r"],
        )
        deny = statements(doc)["DenyJobsOutsideVpc"]
        assert deny["Condition"] == {"Null": {"sagemaker:VpcSubnets": "true"}}
        assert "sagemaker:CreateTrainingJob" in deny["Action"]


def test_studio_roles_only_in_dev(stack_config: StackConfig) -> None:
    if stack_config.is_governance:
        assert StudioRolesArgs(names=ctx_of(stack_config), tags={}, bucket_arns=BUCKETS,
                               key_arns=KEYS)  # fmt: skip
    else:
        with pytest.raises(ValueError, match="dev"):
            StudioRolesArgs(names=ctx_of(stack_config), tags={}, bucket_arns=BUCKETS, key_arns=KEYS)
