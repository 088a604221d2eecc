"""The per-use-case deployer role's policy (pure): what a stage's `pulumi up` of the inference repo
(the platform's InferenceService: endpoint, Lambdas, Step Functions workflow, decision API, alarms)
needs, scoped to the use case's names `mlops-<env>-<usecase>-*` wherever the ARN carries a name."""

from __future__ import annotations

from typing import Any

from mlops.config import StackConfig
from mlops.delivery import iam as docs
from mlops.naming import NameContext, boundary_policy_arn, log_group_name, usecase_name

SECRETS_KEY_PURPOSE = "pulumi-secrets"
"""The bootstrap's secrets key (`alias/mlops-<env>-pulumi-secrets`, bootstrap/__main__.py)."""


def names_for(cfg: StackConfig) -> NameContext:
    return NameContext(environment=cfg.environment, account_id=cfg.account_id, region=cfg.region)


def inference_secrets_alias(cfg: StackConfig) -> str:
    """Alias of the key that encrypts the inference stacks' secrets: the bootstrap's secrets key of
    the account whose backend holds those stacks (dev, `mlops.backends.inference_backend_url`)."""
    from mlops import backends

    return backends.secrets_key_alias(cfg)


def inference_secrets_provider(cfg: StackConfig) -> str:
    """`--secrets-provider` of every inference stack (`pulumi stack select --create`)."""
    return f"awskms://{inference_secrets_alias(cfg)}?region={cfg.region}"


def deployer_policy(
    cfg: StackConfig,
    usecase: str,
    extra_pass_roles: list[str],
    key: str,
    dev_group_arn: str,
    dev_packages_arn: str,
) -> dict[str, Any]:
    """The stage's deployer: what the inference repo's Pulumi program (the platform's
    InferenceService) creates, scoped to this use case's names `mlops-<env>-<usecase>-*`."""
    region, acct = cfg.region, cfg.account_id
    mine = usecase_name(names_for(cfg), usecase)
    sm = f"arn:aws:sagemaker:{region}:{acct}"
    own_roles = f"arn:aws:iam::{acct}:role/{mine}-*"
    boundary = boundary_policy_arn(names_for(cfg), usecase)
    logs = f"arn:aws:logs:{region}:{acct}:log-group:"
    log_groups = [
        f"{logs}/aws/lambda/{mine}-*",
        f"{logs}/aws/vendedlogs/states/{mine}-*",
        f"{logs}{log_group_name(names_for(cfg), usecase)}/*",
    ]
    statements: list[dict[str, Any]] = []
    if extra_pass_roles:  # e.g. the platform's model-execution role in staging/prod
        statements.append(
            {
                "Sid": "PassPlatformModelRole",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": sorted(extra_pass_roles),
                "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            }
        )
    return docs.doc(
        *statements,
        {
            "Sid": "OwnEndpoints",
            "Effect": "Allow",
            "Action": [
                "sagemaker:CreateModel",
                "sagemaker:DescribeModel",
                "sagemaker:DeleteModel",
                "sagemaker:CreateEndpointConfig",
                "sagemaker:DescribeEndpointConfig",
                "sagemaker:DeleteEndpointConfig",
                "sagemaker:CreateEndpoint",
                "sagemaker:UpdateEndpoint",
                "sagemaker:DeleteEndpoint",
                "sagemaker:DescribeEndpoint",
                "sagemaker:InvokeEndpoint",
                "sagemaker:AddTags",
                "sagemaker:ListTags",
            ],
            "Resource": [
                f"{sm}:model/{mine}-*",
                f"{sm}:endpoint-config/{mine}-*",
                f"{sm}:endpoint/{mine}-*",
            ],
        },
        {
            "Sid": "ReadDevRegistry",
            "Effect": "Allow",
            "Action": [
                "sagemaker:DescribeModelPackage",
                "sagemaker:ListModelPackages",
                "sagemaker:DescribeModelPackageGroup",
            ],
            "Resource": [dev_group_arn, dev_packages_arn],
        },
        {
            "Sid": "OwnServiceRoles",
            "Effect": "Allow",
            "Action": [
                "iam:DeleteRole",
                "iam:GetRole",
                "iam:UpdateRole",
                "iam:UpdateAssumeRolePolicy",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:GetRolePolicy",
                "iam:DeleteRolePolicy",
                "iam:ListRolePolicies",
                "iam:ListAttachedRolePolicies",
                "iam:ListInstanceProfilesForRole",
            ],
            "Resource": own_roles,
        },
        {
            # governance (23.3): every role it creates or grants carries the use case's boundary
            "Sid": "OwnServiceRolesWithBoundary",
            "Effect": "Allow",
            "Action": [
                "iam:CreateRole",
                "iam:PutRolePolicy",
                "iam:AttachRolePolicy",
                "iam:PutRolePermissionsBoundary",
            ],
            "Resource": own_roles,
            "Condition": {"ArnEquals": {"iam:PermissionsBoundary": boundary}},
        },
        {
            "Sid": "BoundaryStays",
            "Effect": "Deny",
            "Action": "iam:DeleteRolePermissionsBoundary",
            "Resource": "*",
        },
        {
            "Sid": "PassOwnServiceRoles",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": own_roles,
            "Condition": {
                "StringEquals": {
                    "iam:PassedToService": [
                        "lambda.amazonaws.com",
                        "states.amazonaws.com",
                        "apigateway.amazonaws.com",
                        "sagemaker.amazonaws.com",
                    ]
                }
            },
        },
        {
            "Sid": "OwnFunctions",
            "Effect": "Allow",
            "Action": [
                "lambda:CreateFunction",
                "lambda:DeleteFunction",
                "lambda:GetFunction",
                "lambda:GetFunctionConfiguration",
                "lambda:UpdateFunctionCode",
                "lambda:UpdateFunctionConfiguration",
                "lambda:ListVersionsByFunction",
                "lambda:GetFunctionCodeSigningConfig",
                "lambda:TagResource",
                "lambda:UntagResource",
                "lambda:ListTags",
                "lambda:PutFunctionConcurrency",
                "lambda:DeleteFunctionConcurrency",
                "lambda:GetPolicy",
                "lambda:AddPermission",
                "lambda:RemovePermission",
            ],
            "Resource": f"arn:aws:lambda:{region}:{acct}:function:{mine}-*",
        },
        {
            "Sid": "UsePlatformLayers",
            "Effect": "Allow",
            "Action": "lambda:GetLayerVersion",
            "Resource": f"arn:aws:lambda:{region}:{acct}:layer:*",
        },
        {
            "Sid": "OwnWorkflow",
            "Effect": "Allow",
            "Action": [
                "states:CreateStateMachine",
                "states:DeleteStateMachine",
                "states:UpdateStateMachine",
                "states:DescribeStateMachine",
                "states:TagResource",
                "states:UntagResource",
                "states:ListTagsForResource",
            ],
            "Resource": f"arn:aws:states:{region}:{acct}:stateMachine:{mine}-*",
        },
        {
            "Sid": "OwnLogs",
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:PutRetentionPolicy",
                "logs:AssociateKmsKey",
                "logs:TagResource",
                "logs:UntagResource",
                "logs:ListTagsForResource",
                "logs:PutMetricFilter",
                "logs:DeleteMetricFilter",
                "logs:DescribeMetricFilters",
            ],
            "Resource": log_groups,
        },
        {
            "Sid": "OwnAlarms",
            "Effect": "Allow",
            "Action": [
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:DeleteAlarms",
                "cloudwatch:DescribeAlarms",
                "cloudwatch:TagResource",
                "cloudwatch:ListTagsForResource",
            ],
            "Resource": f"arn:aws:cloudwatch:{region}:{acct}:alarm:{mine}-*",
        },
        {
            "Sid": "DecisionApi",
            "Effect": "Allow",
            "Action": [
                "apigateway:GET",
                "apigateway:POST",
                "apigateway:PUT",
                "apigateway:PATCH",
                "apigateway:DELETE",
            ],
            "Resource": [
                f"arn:aws:apigateway:{region}::/restapis",
                f"arn:aws:apigateway:{region}::/restapis/*",
                f"arn:aws:apigateway:{region}::/tags/*",
            ],
        },
        {
            "Sid": "SmokeTest",
            "Effect": "Allow",
            "Action": "execute-api:Invoke",
            "Resource": f"arn:aws:execute-api:{region}:{acct}:*/*/POST/v1/decisions",
        },
        {
            "Sid": "Autoscaling",
            "Effect": "Allow",
            "Action": [
                "application-autoscaling:RegisterScalableTarget",
                "application-autoscaling:DeregisterScalableTarget",
                "application-autoscaling:PutScalingPolicy",
                "application-autoscaling:DeleteScalingPolicy",
                "application-autoscaling:TagResource",
            ],
            "Resource": f"arn:aws:application-autoscaling:{region}:{acct}:scalable-target/*",
        },
        {
            "Sid": "ReadOnlyDescribes",
            "Effect": "Allow",
            "Action": [
                "application-autoscaling:DescribeScalableTargets",
                "application-autoscaling:DescribeScalingPolicies",
                "logs:DescribeLogGroups",
                "ec2:DescribeSubnets",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeVpcs",
            ],
            "Resource": "*",
        },
        {
            "Sid": "StackKey",
            "Effect": "Allow",
            "Action": [
                "kms:Decrypt",
                "kms:Encrypt",
                "kms:GenerateDataKey",
                "kms:DescribeKey",
                "kms:CreateGrant",
            ],
            "Resource": key,
        },
    )
