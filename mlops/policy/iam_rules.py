"""IAM rules: statements in identity, resource and trust policies, and admin managed policies.

Registered like every rule in ``mlops.policy.base.REGISTRY``; one finder (``iam_findings``) serves
all three rules so a statement is judged the same way whichever document carries it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import Severity

from mlops.policy.base import resource_rule
from mlops.policy.documents import (
    PASSROLE_ON_STAR,
    PUBLIC_PRINCIPAL,
    STAR_ON_STAR,
    as_list,
    iam_findings,
    load_json,
)

# Where each type keeps IAM documents (identity and resource policies).
POLICY_PROPERTIES: dict[str, tuple[str, ...]] = {
    "aws:iam/policy:Policy": ("policy",),
    "aws:iam/rolePolicy:RolePolicy": ("policy",),
    "aws:iam/userPolicy:UserPolicy": ("policy",),
    "aws:iam/groupPolicy:GroupPolicy": ("policy",),
    "aws:iam/role:Role": ("inlinePolicies", "assumeRolePolicy"),
    "aws:s3/bucketPolicy:BucketPolicy": ("policy",),
    "aws:kms/key:Key": ("policy",),
    "aws:kms/keyPolicy:KeyPolicy": ("policy",),
    "aws:sns/topic:Topic": ("policy",),
    "aws:sns/topicPolicy:TopicPolicy": ("policy",),
    "aws:sqs/queue:Queue": ("policy",),
    "aws:sqs/queuePolicy:QueuePolicy": ("policy",),
    "aws:ecr/repositoryPolicy:RepositoryPolicy": ("policy",),
    "aws:apigateway/restApi:RestApi": ("policy",),
    "aws:apigateway/restApiPolicy:RestApiPolicy": ("policy",),
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": ("policyDocument",),
    "aws:cloudwatch/eventBusPolicy:EventBusPolicy": ("policy",),
    "aws:secretsmanager/secretPolicy:SecretPolicy": ("policy",),
    "aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy": ("resourcePolicy",),
    "aws:glue/resourcePolicy:ResourcePolicy": ("policy",),
}


# Attaching these AWS managed policies is the same as writing the statement out.
ADMIN_MANAGED_POLICIES = {
    "arn:aws:iam::aws:policy/AdministratorAccess": STAR_ON_STAR,
    "arn:aws:iam::aws:policy/PowerUserAccess": STAR_ON_STAR,  # NotAction iam/organizations on *
    "arn:aws:iam::aws:policy/IAMFullAccess": PASSROLE_ON_STAR,
}
ATTACHMENT_PROPERTIES: dict[str, str] = {
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "policyArn",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment": "policyArn",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment": "policyArn",
    "aws:iam/policyAttachment:PolicyAttachment": "policyArn",
    "aws:iam/role:Role": "managedPolicyArns",
    "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive": "policyArns",
}


def managed_policy_findings(resource_type: str, props: Mapping[str, Any]) -> list[tuple[str, str]]:
    key = ATTACHMENT_PROPERTIES.get(resource_type)
    arns = as_list(props.get(key)) if key else []
    return [
        (ADMIN_MANAGED_POLICIES[arn], f"{key}: attaches {arn.rsplit('/', 1)[-1]}")
        for arn in arns
        if arn in ADMIN_MANAGED_POLICIES
    ]


def policy_documents(resource_type: str, props: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """(label, parsed document) for every IAM document a resource carries."""
    for key in POLICY_PROPERTIES.get(resource_type, ()):
        value = props.get(key)
        if key == "inlinePolicies":
            for entry in as_list(value):
                if isinstance(entry, Mapping) and load_json(entry.get("policy")) is not None:
                    yield f"inlinePolicies[{entry.get('name')}]", load_json(entry["policy"])
        elif load_json(value) is not None:
            yield key, load_json(value)


# --- IAM documents -------------------------------------------------------------------------------


def _iam_rule(name: str, kind: str, description: str, fix: str) -> None:
    def check(props: dict[str, Any], cfg: Mapping[str, Any], args: Any) -> Iterator[str]:
        for label, document in policy_documents(args.resource_type, props):
            for found, message in iam_findings(document):
                if found == kind:
                    yield f"{label}: {message}"
        for found, message in managed_policy_findings(args.resource_type, props):
            if found == kind:
                yield message

    resource_rule(
        name,
        description=description,
        types=tuple(dict.fromkeys([*POLICY_PROPERTIES, *ATTACHMENT_PROPERTIES])),
        fix=fix,
        severity=Severity.CRITICAL,
        pass_args=True,
    )(check)


_iam_rule(
    "iam-no-star-on-star",
    STAR_ON_STAR,
    "No IAM statement allows every action (or NotAction) on every resource.",
    "name the actions the principal needs and scope Resource to ARNs",
)
_iam_rule(
    "iam-no-passrole-on-star",
    PASSROLE_ON_STAR,
    "No IAM statement allows iam:PassRole on every role.",
    "scope iam:PassRole to the role ARNs it hands over and add an iam:PassedToService condition",
)
_iam_rule(
    "iam-no-public-principal",
    PUBLIC_PRINCIPAL,
    "No resource or trust policy allows Principal '*' without a condition.",
    "name the principals (account or role ARNs) or add a Condition such as aws:PrincipalOrgID or "
    "aws:SourceVpce",
)
