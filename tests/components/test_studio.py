"""Studio domain: IAM auth, VpcOnly, KMS, EFS deleted with the domain, profiles, Projects."""

from __future__ import annotations

import pytest

from components._helpers import ctx_of, of_type, tags_of
from mlops.components.studio import Studio, StudioArgs
from mlops.config import StackConfig
from mlops.testing.mocks import RecordingMocks, run

KEY = "arn:aws:kms:eu-west-2:111111111111:key/studio"
ROLES = {p: f"arn:aws:iam::111111111111:role/mlops-dev-{p}" for p in
         ("studio-execution", "data-scientist", "lead-data-scientist")}  # fmt: skip
dev_only = pytest.mark.parametrize("stack_config", ["dev"], indirect=True)


def _args(cfg: StackConfig, **kw) -> StudioArgs:
    values = dict(
        names=ctx_of(cfg),
        tags=tags_of(cfg),
        vpc_id="vpc-0123456789abcdef0",
        subnet_ids=["subnet-a", "subnet-b"],
        security_group_id="sg-sagemaker",
        kms_key_arn=KEY,
        execution_role_arn=ROLES["studio-execution"],
        data_scientist_role_arn=ROLES["data-scientist"],
        lead_role_arn=ROLES["lead-data-scientist"],
        data_scientists=cfg.people.data_scientists,
        lead_data_scientists=cfg.people.lead_data_scientists,
    )
    values.update(kw)
    return StudioArgs(**values)


@dev_only
def test_domain_is_vpc_only_with_kms(stack_config: StackConfig, pulumi_mocks: RecordingMocks):
    run(lambda: Studio("studio", _args(stack_config)))
    (domain,) = of_type(pulumi_mocks, "aws:sagemaker/domain:Domain")
    i = domain.inputs
    assert i["appNetworkAccessType"] == "VpcOnly"
    assert i["authMode"] == "IAM"
    assert i["kmsKeyId"] == KEY
    assert i["subnetIds"] == ["subnet-a", "subnet-b"]
    assert i["retentionPolicy"] == {"homeEfsFileSystem": "Delete"}
    assert i["defaultUserSettings"]["securityGroups"] == ["sg-sagemaker"]
    assert i["defaultUserSettings"]["executionRole"] == ROLES["studio-execution"]
    assert i["defaultUserSettings"]["sharingSettings"]["notebookOutputOption"] == "Disabled"


@dev_only
def test_one_profile_per_person_with_their_role(
    stack_config: StackConfig, pulumi_mocks: RecordingMocks
):
    run(lambda: Studio("studio", _args(stack_config)))
    profiles = {p.inputs["userProfileName"]: p for p in
                of_type(pulumi_mocks, "aws:sagemaker/userProfile:UserProfile")}  # fmt: skip
    people = stack_config.people
    assert set(profiles) == {
        p.user for p in [*people.data_scientists, *people.lead_data_scientists]
    }
    for p in people.data_scientists:
        assert profiles[p.user].inputs["userSettings"]["executionRole"] == ROLES["data-scientist"]
    for p in people.lead_data_scientists:
        role = profiles[p.user].inputs["userSettings"]["executionRole"]
        assert role == ROLES["lead-data-scientist"]


@dev_only
def test_projects_enabled(stack_config: StackConfig, pulumi_mocks: RecordingMocks):
    run(lambda: Studio("studio", _args(stack_config)))
    (status,) = of_type(
        pulumi_mocks, "aws:sagemaker/servicecatalogPortfolioStatus:ServicecatalogPortfolioStatus"
    )
    assert status.inputs["status"] == "Enabled"


def test_studio_is_dev_only(stack_config: StackConfig) -> None:
    if stack_config.is_governance:
        assert _args(stack_config).names.environment == "dev"
    else:
        with pytest.raises(ValueError, match="dev"):
            _args(stack_config)
