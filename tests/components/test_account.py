"""Account-level singletons: API Gateway's CloudWatch role, once per account, made by
the platform stack and not by any use case."""

from __future__ import annotations

import json

from components._helpers import ctx_of, of_type, tags_of
from mlops.components.account import (
    APIGATEWAY_PUSH_TO_LOGS,
    AccountSettings,
    AccountSettingsArgs,
)
from mlops.config import StackConfig
from mlops.testing.mocks import RecordingMocks, run

ACCOUNT = "aws:apigateway/account:Account"


def test_api_gateway_cloudwatch_role(stack_config: StackConfig, pulumi_mocks: RecordingMocks):
    run(lambda: AccountSettings("account", AccountSettingsArgs(
        names=ctx_of(stack_config), tags=tags_of(stack_config))))  # fmt: skip
    role = pulumi_mocks.named("account-apigateway-logs-role")
    assert role.inputs["name"] == f"mlops-{stack_config.environment}-apigateway-logs"
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert [(s["Effect"], s["Principal"], s["Action"]) for s in trust] == [
        ("Allow", {"Service": "apigateway.amazonaws.com"}, "sts:AssumeRole")
    ]
    attachment = pulumi_mocks.named("account-apigateway-logs-managed")
    assert attachment.inputs["policyArn"] == APIGATEWAY_PUSH_TO_LOGS
    assert attachment.inputs["role"] == role.inputs["name"]
    (setting,) = of_type(pulumi_mocks, ACCOUNT)
    assert setting.inputs["cloudwatchRoleArn"] == role.state["arn"]
    assert attachment.urn in setting.dependencies, "UpdateAccount before the policy is attached"
    assert role.inputs["tags"]["component"] == "account"


def test_the_platform_program_sets_it_once_per_account(program: RecordingMocks) -> None:
    (setting,) = program.of_type(ACCOUNT)
    (role,) = [r for r in program.of_type("aws:iam/role:Role")
               if r.inputs.get("name", "").endswith("-apigateway-logs")]  # fmt: skip
    assert setting.inputs["cloudwatchRoleArn"] == role.state["arn"]
    assert setting.parent_urn.endswith("mlops:account:AccountSettings::account")
