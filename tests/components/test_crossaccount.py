"""Cross-account model access: staging/prod model-execution role reads dev's model artifacts; no
platform-wide deployment role (deployments go through the per-use-case deployers only)."""

from __future__ import annotations

import pytest

from components._helpers import ctx_of, of_type, policy, statements, tags_of
from mlops.components.crossaccount import DeploymentAccess, DeploymentAccessArgs
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
def test_only_the_model_execution_role(
    stack_config: StackConfig, pulumi_mocks: RecordingMocks
) -> None:
    run(lambda: _access(stack_config))
    (role,) = of_type(pulumi_mocks, "aws:iam/role:Role")
    assert role.inputs["name"] == f"mlops-{stack_config.environment}-model-execution"
    model_trust = policy(role, "assumeRolePolicy")
    assert model_trust["Statement"][0]["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    model = statements(policy(pulumi_mocks.named("deployment-model-execution-policy")))
    assert model["DecryptDevModelArtifacts"]["Resource"] == KEY
    assert model["ReadDevModelArtifacts"]["Resource"][0] == (
        "arn:aws:s3:::mlops-dev-model-artifacts-111111111111-eu-west-2"
    )


@pytest.mark.parametrize("stack_config", ["dev"], indirect=True)
def test_access_refuses_the_dev_stack(stack_config: StackConfig) -> None:
    with pytest.raises(ValueError, match="staging and prod"):
        _access(stack_config)
