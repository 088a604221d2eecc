"""Who approves: people sign in with IAM Identity Center, and each use case has its own approver.

The design (docs/identity.md) in three parts:

- **Persona permission sets** (`PERMISSION_SETS`): one IAM Identity Center permission set per
  persona, `MlopsDataScientist` and `MlopsLeadDataScientist`, the identities people really use.
  `persona_permission_set_policy()` is their inline policy. With
  `mlops-platform:people.identityCenter.instanceArn` set, the dev stack creates them
  (`PersonaPermissionSets`, aws.ssoadmin) and assigns them to the configured groups; without it,
  the organisation's Identity Center administrators create them from docs/identity.md (same
  names, same policy). Two permission sets, whatever the number of use cases.
- **Per-use-case approver roles** (`UseCaseApprovers`): `mlops-<env>-<usecase>-approver`, one role
  per use case with one inline policy: pass *this* use case's promotion gates
  (codepipeline:PutApprovalResult on its deploy pipeline) and approve *this* use case's model
  packages (sagemaker:UpdateModelPackage on its group). Its trust admits only the sessions of the
  lead permission set whose Identity Center user is one of *this* use case's leads (from its
  manifest), and the session must carry the lead's Studio user name (what CodePipeline records as
  the approver). Nothing is attached to a shared role, so a role never collects one policy per
  use case (IAM's 10 managed policies per role).
- **Studio execution roles never approve** (`mlops.components.identity.studio_policy` denies the
  gates and package approval to every Studio persona): an approval is always a person's
  Identity Center session, never a notebook or a job.

Why roles per use case and not attribute-based access with tags: a lead may lead several use
cases, and an Identity Center session carries one value per attribute, so "leads of this use case"
cannot be a session tag without encoding lists in strings; and a permission set per use case would
put 75+ permission sets into the dev account, against Identity Center's limit on permission sets
provisioned to one account. One role per use case costs one IAM role (default quota 1,000 roles
per account, checked by `mlops.quotas`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops import iam
from mlops.components.identity import APPROVE_ACTIONS, GATE_ACTIONS
from mlops.config import Person
from mlops.delivery import policies
from mlops.naming import NameContext, approver_role_name
from mlops.tags import with_component

PERMISSION_SETS: dict[str, str] = {
    "data-scientist": "MlopsDataScientist",
    "lead-data-scientist": "MlopsLeadDataScientist",
}
"""Identity Center permission set per persona (names are at most 32 characters)."""
SSO_ROLE_PATH = "aws-reserved/sso.amazonaws.com/"
SESSION_DURATION = "PT4H"
APPROVAL_ACTION = "LeadDataScientistApproval"
GATES = ("ApproveStaging", "ApproveProd")
PACKAGE_APPROVAL_ACTIONS = APPROVE_ACTIONS


# --- names -----------------------------------------------------------------------------------
def sso_role_pattern(account_id: str, persona: str) -> str:
    """aws:PrincipalArn of every session of a persona's permission set in `account_id`: Identity
    Center names the role `AWSReservedSSO_<permission set>_<random>` under
    `/aws-reserved/sso.amazonaws.com/` (with a region segment for newer instances)."""
    role = f"AWSReservedSSO_{PERMISSION_SETS[persona]}_*"
    return f"arn:aws:iam::{account_id}:role/{SSO_ROLE_PATH}*{role}"


def sso_role_arn(
    account_id: str, region: str, persona: str, suffix: str = "0123456789abcdef"
) -> str:
    """One concrete ARN of that role (the suffix is chosen by Identity Center; the rehearsal uses a
    fixed one)."""
    name = f"AWSReservedSSO_{PERMISSION_SETS[persona]}_{suffix}"
    return f"arn:aws:iam::{account_id}:role/{SSO_ROLE_PATH}{region}/{name}"


def sso_user(person: Person) -> str:
    """The person's Identity Center user name, which is the session name of their permission-set
    role (`aws:userid` = `<role id>:<user name>`). The platform takes the e-mail address, as
    Identity Center users provisioned from a corporate directory (SCIM) are named."""
    return person.email


def approver_role_arn(ctx: NameContext, usecase: str) -> str:
    return iam.role_arn(ctx.account_id, approver_role_name(ctx, usecase))


def approver_role_pattern(ctx: NameContext) -> str:
    """Every use case's approver role in this account (what the lead permission set may try)."""
    return iam.role_arn(ctx.account_id, f"{ctx.prefix}-{ctx.environment}-*-approver")


def deploy_pipeline_arn(ctx: NameContext, pipeline_name: str) -> str:
    return f"arn:aws:codepipeline:{ctx.region}:{ctx.account_id}:{pipeline_name}"


def gate_arns(pipeline_arn: str) -> dict[str, str]:
    """Gate → ARN of its manual approval action (`<pipeline>/<stage>/<action>`)."""
    return {gate: f"{pipeline_arn}/{gate}/{APPROVAL_ACTION}" for gate in GATES}


# --- policies (pure) -------------------------------------------------------------------------
def approver_trust_policy(account_id: str, leads: Sequence[Person]) -> dict:
    """Only a session of the lead permission set whose Identity Center user is one of `leads`, and
    only under the lead's Studio user name as session name (so CodePipeline records who)."""
    if not leads:
        raise ValueError("approver_trust_policy: a use case needs at least one lead")
    pattern = sso_role_pattern(account_id, "lead-data-scientist")
    statements = [
        iam.statement(
            f"Lead{i}",
            "sts:AssumeRole",
            iam.NO_RESOURCE,
            principal={"AWS": iam.account_root(account_id)},
            condition={
                "ArnLike": {"aws:PrincipalArn": pattern},
                "StringLike": {"aws:userid": f"*:{sso_user(lead)}"},
                "StringEquals": {"sts:RoleSessionName": lead.user},
            },
        )
        for i, lead in enumerate(leads, start=1)
    ]
    return iam.document(statements)


def approver_policy(ctx: NameContext, pipeline_name: str, group_name: str) -> dict:
    """Pass this use case's promotion gates, approve its model packages and roll a stage back
    (`mlops rollback`: start the deploy pipeline with a package and a stage); nothing else."""
    pipeline = deploy_pipeline_arn(ctx, pipeline_name)
    sm = f"arn:aws:sagemaker:{ctx.region}:{ctx.account_id}"
    return iam.document(
        *policies.approver_statements(pipeline, list(GATES)),
        iam.statement("RollBackStages", "codepipeline:StartPipelineExecution", pipeline),
        iam.statement(
            "ApproveOwnModelPackages",
            PACKAGE_APPROVAL_ACTIONS,
            f"{sm}:model-package/{group_name}/*",
        ),
        iam.statement(
            "ReviewOwnModelPackages",
            [
                "sagemaker:DescribeModelPackage",
                "sagemaker:ListModelPackages",
                "sagemaker:DescribeModelPackageGroup",
            ],
            [f"{sm}:model-package/{group_name}/*", f"{sm}:model-package-group/{group_name}"],
        ),
    )


def persona_permission_set_policy(persona: str, ctx: NameContext) -> dict:
    """The inline policy of a persona's Identity Center permission set in the dev account: see the
    use cases' pipelines and registry; a lead may assume the approver roles (whose trust decides
    which); nobody approves directly as the permission set."""
    if persona not in PERMISSION_SETS:
        raise ValueError(f"unknown persona {persona!r}; use one of {sorted(PERMISSION_SETS)}")
    acct, region = ctx.account_id, ctx.region
    mine = f"{ctx.prefix}-{ctx.environment}-*"
    sm = f"arn:aws:sagemaker:{region}:{acct}"
    statements = [
        iam.statement(
            "SeeDeployPipelines",
            [
                "codepipeline:GetPipeline",
                "codepipeline:GetPipelineState",
                "codepipeline:GetPipelineExecution",
                "codepipeline:ListPipelineExecutions",
                "codepipeline:ListActionExecutions",
            ],
            f"arn:aws:codepipeline:{region}:{acct}:{mine}",
        ),
        iam.statement("ListPipelines", "codepipeline:ListPipelines", "*"),
        iam.statement(
            "SeeRegistry",
            [
                "sagemaker:DescribeModelPackage",
                "sagemaker:ListModelPackages",
                "sagemaker:DescribeModelPackageGroup",
            ],
            [f"{sm}:model-package/{mine}/*", f"{sm}:model-package-group/{mine}"],
        ),
        iam.statement("ListRegistry", "sagemaker:ListModelPackageGroups", "*"),
        iam.statement(
            "NoDirectApprovals",
            [*GATE_ACTIONS, *PACKAGE_APPROVAL_ACTIONS],
            "*",
            effect="Deny",
        ),
    ]
    if persona == "lead-data-scientist":
        statements.append(
            iam.statement("AssumeApproverRoles", "sts:AssumeRole", approver_role_pattern(ctx))
        )
    else:
        statements.append(
            iam.statement(
                "NoApproverRoles", "sts:AssumeRole", approver_role_pattern(ctx), effect="Deny"
            )
        )
    return iam.document(statements)


# --- components ------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class UseCaseApproversArgs:
    names: NameContext
    usecase: str
    leads: Sequence[Person]
    """The use case's leads (manifest `owners`), resolved to the stack's people."""
    pipeline_name: str
    group_name: str
    tags: Mapping[str, str]

    def __post_init__(self) -> None:
        if not self.leads:
            raise ValueError(f"UseCaseApproversArgs.leads: use case {self.usecase} has no lead")


class UseCaseApprovers(pulumi.ComponentResource):
    """`mlops-<env>-<usecase>-approver`: the one identity that passes this use case's gates."""

    def __init__(
        self, name: str, args: UseCaseApproversArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:identity:UseCaseApprovers", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ctx = args.names
        self.role = aws.iam.Role(
            f"{name}-role",
            name=approver_role_name(ctx, args.usecase),
            description=f"Leads of {args.usecase} approve its promotions (Identity Center only)",
            assume_role_policy=iam.dumps(approver_trust_policy(ctx.account_id, args.leads)),
            max_session_duration=3600,
            tags=with_component(args.tags, "identity", persona="approver", usecase=args.usecase),
            opts=child,
        )
        self.policy = aws.iam.RolePolicy(
            f"{name}-policy",
            name=f"{args.usecase}-approve-own-gates",
            role=self.role.id,
            policy=iam.dumps(approver_policy(ctx, args.pipeline_name, args.group_name)),
            opts=child,
        )
        self.register_outputs({"role_arn": self.role.arn})


@dataclass(frozen=True, kw_only=True)
class PersonaPermissionSetsArgs:
    names: NameContext
    instance_arn: str
    tags: Mapping[str, str]
    group_ids: Mapping[str, str] = None  # type: ignore[assignment]
    """persona → Identity Store group id to assign in this account (optional)."""

    def __post_init__(self) -> None:
        unknown = sorted(set(self.group_ids or {}) - set(PERMISSION_SETS))
        if unknown:
            raise ValueError(f"PersonaPermissionSetsArgs.group_ids: unknown personas {unknown}")


class PersonaPermissionSets(pulumi.ComponentResource):
    """The persona permission sets in the organisation's Identity Center instance, with their
    inline policies, assigned to the configured groups in this account."""

    def __init__(
        self, name: str, args: PersonaPermissionSetsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:identity:PersonaPermissionSets", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.permission_sets: dict[str, aws.ssoadmin.PermissionSet] = {}
        self.assignments: dict[str, aws.ssoadmin.AccountAssignment] = {}
        for persona, ps_name in PERMISSION_SETS.items():
            ps = aws.ssoadmin.PermissionSet(
                f"{name}-{persona}",
                name=ps_name,
                description=f"mlops {persona} ({args.names.environment})",
                instance_arn=args.instance_arn,
                session_duration=SESSION_DURATION,
                tags=with_component(args.tags, "identity", persona=persona),
                opts=child,
            )
            aws.ssoadmin.PermissionSetInlinePolicy(
                f"{name}-{persona}-policy",
                instance_arn=args.instance_arn,
                permission_set_arn=ps.arn,
                inline_policy=iam.dumps(persona_permission_set_policy(persona, args.names)),
                opts=pulumi.ResourceOptions(parent=ps),
            )
            group = (args.group_ids or {}).get(persona)
            if group:
                self.assignments[persona] = aws.ssoadmin.AccountAssignment(
                    f"{name}-{persona}-assignment",
                    instance_arn=args.instance_arn,
                    permission_set_arn=ps.arn,
                    principal_type="GROUP",
                    principal_id=group,
                    target_type="AWS_ACCOUNT",
                    target_id=args.names.account_id,
                    opts=pulumi.ResourceOptions(parent=ps),
                )
            self.permission_sets[persona] = ps
        self.register_outputs({p: ps.arn for p, ps in self.permission_sets.items()})
