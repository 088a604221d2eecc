"""Cross-account: staging/prod deployment role trusts only dev's deploy pipeline role."""

from __future__ import annotations

import pytest

from components._helpers import ctx_of, of_type, policy, statements, tags_of
from mlops.components.crossaccount import (
    DeploymentAccess,
    DeploymentAccessArgs,
    DeployPipelineRole,
    DeployPipelineRoleArgs,
    target_reader_roles,
)
from mlops.config import StackConfig
from mlops.testing.mocks import RecordingMocks, run

KEY = "arn:aws:kms:eu-west-2:111111111111:key/dev-artifacts"
targets_only = pytest.mark.parametrize("stack_config", ["staging", "prod"], indirect=True)


def _access(cfg: StackConfig) -> DeploymentAccess:
    return DeploymentAccess(
        "deployment",
        DeploymentAccessArgs(
            names=ctx_of(cfg),
            tags=tags_of(cfg),
            dev_account_id=cfg.accounts.dev,
            dev_artifacts_bucket="mlops-dev-model-artifacts-111111111111-eu-west-2",
            dev_artifacts_key_arn=KEY,
        ),
    )


@targets_only
def test_deployment_role_trusts_only_dev_pipeline_role(
    stack_config: StackConfig, pulumi_mocks: RecordingMocks
) -> None:
    run(lambda: _access(stack_config))
    trust = policy(pulumi_mocks.named("deployment-deployment"), "assumeRolePolicy")
    (st,) = trust["Statement"]
    assert st["Principal"] == {"AWS": "arn:aws:iam::111111111111:role/mlops-dev-deploy-pipeline"}
    assert st["Condition"] == {"StringEquals": {"aws:PrincipalAccount": "111111111111"}}
    model_trust = policy(pulumi_mocks.named("deployment-model-execution"), "assumeRolePolicy")
    assert model_trust["Statement"][0]["Principal"] == {"Service": "sagemaker.amazonaws.com"}


@targets_only
def test_deployment_role_is_scoped(stack_config: StackConfig, pulumi_mocks: RecordingMocks):
    run(lambda: _access(stack_config))
    sids = statements(policy(pulumi_mocks.named("deployment-deployment-policy")))
    env = stack_config.environment
    assert all(f":endpoint/mlops-{env}-*" in r or f"/mlops-{env}-*" in r
               for r in sids["DeployModels"]["Resource"])  # fmt: skip
    assert sids["PassModelExecutionRole"]["Resource"].endswith(f"role/mlops-{env}-model-execution")
    model = statements(policy(pulumi_mocks.named("deployment-model-execution-policy")))
    assert model["DecryptDevModelArtifacts"]["Resource"] == KEY
    assert model["ReadDevModelArtifacts"]["Resource"][0] == (
        "arn:aws:s3:::mlops-dev-model-artifacts-111111111111-eu-west-2"
    )


@pytest.mark.parametrize("stack_config", ["dev"], indirect=True)
def test_dev_pipeline_role_assumes_exactly_the_target_roles(
    stack_config: StackConfig, pulumi_mocks: RecordingMocks
) -> None:
    accounts = stack_config.accounts.model_dump()
    run(lambda: DeployPipelineRole("deploy-pipeline", DeployPipelineRoleArgs(
        names=ctx_of(stack_config), tags=tags_of(stack_config), accounts=accounts,
        artifacts_bucket_arn="arn:aws:s3:::a", artifacts_key_arn=KEY)))  # fmt: skip
    (role,) = of_type(pulumi_mocks, "aws:iam/role:Role")
    assert role.inputs["name"] == "mlops-dev-deploy-pipeline"
    sids = statements(policy(pulumi_mocks.named("deploy-pipeline-policy")))
    assert set(sids["AssumeDeploymentRoles"]["Resource"]) == {
        "arn:aws:iam::333333333333:role/mlops-prod-deployment",
        "arn:aws:iam::222222222222:role/mlops-staging-deployment",
    }
    assert target_reader_roles(ctx_of(stack_config), accounts) == {
        "222222222222": ["arn:aws:iam::222222222222:role/mlops-staging-model-execution"],
        "333333333333": ["arn:aws:iam::333333333333:role/mlops-prod-model-execution"],
    }


def test_components_refuse_the_wrong_stack(stack_config: StackConfig) -> None:
    if stack_config.is_governance:
        with pytest.raises(ValueError, match="staging and prod"):
            _access(stack_config)
    else:
        with pytest.raises(ValueError, match="dev"):
            DeployPipelineRoleArgs(names=ctx_of(stack_config), tags={}, accounts={},
                                   artifacts_bucket_arn="a", artifacts_key_arn="k")  # fmt: skip
