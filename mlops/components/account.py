"""Account-level singletons the platform stack owns: settings AWS keeps once per account (and
region), which no use case may create for itself.

- API Gateway's CloudWatch role: `aws.apigateway.Account` names the role API Gateway assumes to
  write execution and access logs for every REST API of the account and region. Without it, a
  stage with access logging (the decision API of each use case) fails to deploy with "CloudWatch
  Logs role ARN must be set in account settings to enable logging". The role trusts
  apigateway.amazonaws.com and carries the AWS-managed AmazonAPIGatewayPushToCloudWatchLogs.

The platform stack of an account creates these once; the inference stacks of every use case in
that account rely on them (the rehearsal checks each stage against the platform stack's record).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops import iam
from mlops.naming import NameContext, role_name
from mlops.tags import with_component

APIGATEWAY_PUSH_TO_LOGS = (
    "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
)


def apigateway_logs_role_name(ctx: NameContext) -> str:
    """`mlops-<env>-apigateway-logs`: API Gateway's CloudWatch role of the account."""
    return role_name(ctx, "apigateway-logs")


@dataclass(frozen=True, kw_only=True)
class AccountSettingsArgs:
    names: NameContext
    tags: Mapping[str, str]

    def __post_init__(self) -> None:
        if not (len(self.names.account_id) == 12 and self.names.account_id.isdigit()):
            raise ValueError(
                f"AccountSettingsArgs.names.account_id {self.names.account_id!r} is not a "
                "12-digit account id"
            )


class AccountSettings(pulumi.ComponentResource):
    """Once per account: API Gateway's CloudWatch Logs role and the account setting naming it."""

    def __init__(
        self, name: str, args: AccountSettingsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:account:AccountSettings", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ctx = args.names
        tags = with_component(args.tags, "account")

        # API Gateway assumes this role for the whole account (no per-API source to pin it to;
        # the developer guide's trust policy has no condition either).
        self.apigateway_logs_role = aws.iam.Role(
            f"{name}-apigateway-logs-role",
            name=apigateway_logs_role_name(ctx),
            description="API Gateway execution and access logging to CloudWatch Logs (account)",
            assume_role_policy=iam.dumps(iam.service_trust("apigateway.amazonaws.com")),
            tags=tags,
            opts=child,
        )
        self.apigateway_logs_policy = aws.iam.RolePolicyAttachment(
            f"{name}-apigateway-logs-managed",
            role=self.apigateway_logs_role.name,
            policy_arn=APIGATEWAY_PUSH_TO_LOGS,
            opts=child,
        )
        # UpdateAccount checks that API Gateway can assume the role and that it may write logs:
        # set it only once the policy is attached.
        self.apigateway = aws.apigateway.Account(
            f"{name}-apigateway",
            cloudwatch_role_arn=self.apigateway_logs_role.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.apigateway_logs_policy]),
        )
        self.register_outputs({"apigateway_cloudwatch_role_arn": self.apigateway_logs_role.arn})
