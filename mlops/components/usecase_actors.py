"""The people of a use case at run time, and what they must never be able to do (dev stack).

Declared for the rehearsal (`mlops.rehearsal.declare`) next to the deploy pipeline that creates
the gates (`DeployPipeline` calls `declare_people`):

- promotion: the lead signs in with IAM Identity Center (the lead persona's permission set),
  assumes the use case's approver role under their Studio user name, approves the package in the
  registry and passes the staging and prod gates;
- attacks: a data scientist's Studio role bypasses the lead; a training build is turned against
  the platform; a lead of *another* use case (same permission set, another person) approves this
  one — through the approver role, impersonating the lead's session name, or directly; the Studio
  execution roles approve (they never may); a data scientist's Identity Center session takes the
  approver role.

`declare_registry_attacks` (declared by `UseCase`): the roles that legitimately write
to the registry — the SageMaker pipeline, the training and deploy builds — try to set an approval
status.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from mlops.components.approvers import (
    APPROVAL_ACTION,
    GATES,
    approver_role_arn,
    sso_role_arn,
    sso_user,
)
from mlops.components.usecase_builds import DeliveryArgs, vpc_origin
from mlops.components.usecase_roles import deployer_role_arn
from mlops.config import ENVIRONMENTS, Person, StackConfig
from mlops.naming import boundary_policy_arn, names_for, usecase_name
from mlops.rehearsal import declare

DENY = "deny"


def _status(status: str) -> dict[str, str]:
    return {"sagemaker:ModelApprovalStatus": status}


def declare_registry_attacks(
    a: DeliveryArgs,
    group_name: str,
    pipeline_role_arn: pulumi.Input[str],
    build_role_arn: pulumi.Input[str],
    deploy_build_role_arns: Mapping[str, pulumi.Input[str]],
) -> None:
    """The roles that legitimately write to the registry (the SageMaker pipeline registers,
    the deploy build records promotions) can never set an approval status: only the lead can."""
    cfg = a.config
    region, acct = cfg.region, cfg.account_id
    package = f"arn:aws:sagemaker:{region}:{acct}:model-package/{group_name}/99"
    calls: list[tuple[Any, str, list[dict[str, Any]]]] = [
        (
            pipeline_role_arn,
            "a modified training pipeline registers its model as Approved",
            [
                declare.call(
                    "sagemaker:CreateModelPackage", package, expect=DENY,
                    context=_status("Approved"),
                    why="register straight into Approved (fires the deploy to dev)",
                ),
                declare.call(
                    "sagemaker:UpdateModelPackage", package, expect=DENY,
                    context=_status("Approved"),
                    why="approve its own package",
                ),
            ],
        ),
        *(
            (
                role_arn,
                # every stage's deploy build records promotions on the same registry
                "the deploy build approves a package"
                if stage == "dev"
                else f"the {stage} deploy build approves a package",
                [
                    declare.call(
                        "sagemaker:UpdateModelPackage", package, expect=DENY,
                        context=_status("Approved"),
                        why="approve a package while recording a promotion",
                    ),
                ],
            )
            for stage, role_arn in deploy_build_role_arns.items()
        ),
        (
            build_role_arn,
            "the training build re-approves a rejected package",
            [
                declare.call(
                    "sagemaker:UpdateModelPackage", package, expect=DENY,
                    context=_status("Approved"),
                    why="approve a package",
                ),
            ],
        ),
    ]  # fmt: skip
    for i, (principal, step, step_calls) in enumerate(calls):
        declare.actor(
            flow="attacks",
            step=step,
            principal=principal,
            account=acct,
            origin=declare.AWS_SERVICE,
            calls=step_calls,
            order=920 + i,
        )


STAGES = {"staging": GATES[0], "prod": GATES[1]}
_ROLE_ID = "AROAEXAMPLEROLEID0001"
"""The unique id of the permission-set role (unknown offline): `aws:userid` is `<id>:<user>`."""


@dataclass(frozen=True, kw_only=True)
class People:
    """What `declare_people` needs from the deploy pipeline."""

    delivery: DeliveryArgs
    pipeline_name: str
    group_name: str
    group_arn: str
    deploy_project_arns: tuple[pulumi.Input[str], ...]
    leads: tuple[Person, ...]
    lead_studio_role_name: pulumi.Input[str] | None = None
    data_scientist_role_name: pulumi.Input[str] | None = None


def sso_session(person: Person, session_name: str | None = None) -> dict[str, str]:
    """The context AWS sets for a call made in `person`'s Identity Center session (and, for
    sts:AssumeRole, the session name they ask for)."""
    context = {"aws:userid": f"{_ROLE_ID}:{sso_user(person)}"}
    if session_name is not None:
        context["sts:RoleSessionName"] = session_name
    return context


def declare_people(p: People) -> None:
    a = p.delivery
    cfg = a.config
    region, acct = cfg.region, cfg.account_id
    pipeline_arn = f"arn:aws:codepipeline:{region}:{acct}:{p.pipeline_name}"
    gates = {env: f"{pipeline_arn}/{gate}/{APPROVAL_ACTION}" for env, gate in STAGES.items()}
    sm = f"arn:aws:sagemaker:{region}:{acct}"
    package = f"{sm}:model-package/{p.group_name}/1"
    approver = approver_role_arn(a.ctx, a.usecase)
    lead_sso = sso_role_arn(acct, region, "lead-data-scientist")
    lead = p.leads[0]
    approved = {"sagemaker:ModelApprovalStatus": "Approved"}

    # --- promotion: the lead, signed in with Identity Center -------------------------------
    declare.actor(
        flow="promotion",
        step="the lead signs in with Identity Center and takes the approver role",
        principal=lead_sso,
        account=acct,
        origin=declare.PUBLIC,
        calls=[
            declare.call(
                "sts:AssumeRole", approver, context=sso_session(lead, lead.user),
                why=f"{lead.user} acts as {a.usecase}'s approver",
            ),
            declare.call("codepipeline:GetPipelineState", pipeline_arn, context=sso_session(lead)),
        ],
        order=1,
    )  # fmt: skip
    declare.actor(
        flow="promotion",
        step="the lead approves the package in the registry",
        principal=approver,
        account=acct,
        origin=declare.PUBLIC,
        calls=[
            declare.call("sagemaker:DescribeModelPackage", package, why="review the package"),
            declare.call(
                "sagemaker:UpdateModelPackage", package, context=approved,
                why="approve (fires the deploy to dev)",
            ),
        ],
        order=2,
    )  # fmt: skip
    for i, (env, gate) in enumerate(gates.items()):
        declare.actor(
            flow="promotion",
            step=f"the lead approves {env}",
            principal=approver,
            account=acct,
            origin=declare.PUBLIC,
            calls=[
                declare.call("codepipeline:GetPipelineState", pipeline_arn),
                declare.call("codepipeline:PutApprovalResult", gate, why=f"approve {env}"),
            ],
            order=190 + 100 * i,
        )

    declare.actor(
        flow="promotion",
        step="the lead rolls prod back (mlops rollback)",
        principal=approver,
        account=acct,
        origin=declare.PUBLIC,
        calls=[
            declare.call("sagemaker:ListModelPackages", f"{sm}:model-package/{p.group_name}/*",
                         why="the stage history"),
            declare.call("sagemaker:DescribeModelPackage", package),
            declare.call("codepipeline:StartPipelineExecution", pipeline_arn,
                         why="PACKAGE_ARN and ROLLBACK_STAGE=prod"),
            declare.call("sagemaker:UpdateModelPackage", package, why="record who, when and why"),
        ],
        order=400,
    )  # fmt: skip

    # --- attacks: another use case's lead, Studio roles, data scientists' sessions ----------
    deny = "deny"
    others = [x for x in cfg.people.lead_data_scientists if x not in p.leads]
    if others:
        other = others[0]
        declare.actor(
            flow="attacks",
            step=f"a lead of another use case approves {a.usecase}",
            principal=lead_sso,
            account=acct,
            origin=declare.PUBLIC,
            calls=[
                declare.call(
                    "sts:AssumeRole", approver, context=sso_session(other, other.user),
                    expect=deny, why=f"{other.user} takes {a.usecase}'s approver role",
                ),
                declare.call(
                    "sts:AssumeRole", approver, context=sso_session(other, lead.user),
                    expect=deny, why=f"... under {lead.user}'s session name",
                ),
                declare.call(
                    "codepipeline:PutApprovalResult", gates["staging"],
                    context=sso_session(other), expect=deny,
                    why="pass the gate directly with the permission set",
                ),
                declare.call(
                    "sagemaker:UpdateModelPackage", package,
                    context={**sso_session(other), **approved}, expect=deny,
                    why="approve the package directly with the permission set",
                ),
            ],
            order=920,
        )  # fmt: skip
    scientists = list(cfg.people.data_scientists)
    if scientists:
        ds = scientists[0]
        declare.actor(
            flow="attacks",
            step=f"a data scientist's Identity Center session approves {a.usecase}",
            principal=sso_role_arn(acct, region, "data-scientist"),
            account=acct,
            origin=declare.PUBLIC,
            calls=[
                declare.call(
                    "sts:AssumeRole", approver, context=sso_session(ds, lead.user), expect=deny,
                    why="take the approver role",
                ),
                declare.call(
                    "codepipeline:PutApprovalResult", gates["prod"], context=sso_session(ds),
                    expect=deny, why="pass the prod gate",
                ),
                declare.call(
                    "sagemaker:UpdateModelPackage", package,
                    context={**sso_session(ds), **approved}, expect=deny,
                    why="approve the package",
                ),
            ],
            order=925,
        )  # fmt: skip
    if p.lead_studio_role_name is not None:
        studio_lead = pulumi.Output.concat(f"arn:aws:iam::{acct}:role/", p.lead_studio_role_name)
        declare.actor(
            flow="attacks",
            step="a Studio execution role approves (only people approve)",
            principal=studio_lead,
            account=acct,
            origin=declare.PUBLIC,
            calls=[
                declare.call(
                    "codepipeline:PutApprovalResult", gates["staging"], expect=deny,
                    why="a notebook of the lead passes the gate",
                ),
                declare.call(
                    "sagemaker:UpdateModelPackage", package, context=approved, expect=deny,
                    why="a notebook of the lead approves the package",
                ),
                declare.call(
                    "sts:AssumeRole", approver, expect=deny, why="take the approver role"
                ),
            ],
            order=930,
        )  # fmt: skip
    if p.lead_studio_role_name is None or p.data_scientist_role_name is None:
        return
    _declare_bypasses(p, gates, package)


def _declare_bypasses(p: People, gates: dict[str, str], package: str) -> None:
    """A data scientist's Studio role bypasses the lead; a training build turns on the platform."""
    a = p.delivery
    cfg = a.config
    region, acct = cfg.region, cfg.account_id
    scientist = pulumi.Output.concat(f"arn:aws:iam::{acct}:role/", p.data_scientist_role_name)
    training = f"arn:aws:sagemaker:{region}:{acct}:pipeline/{a.n('training', kind='sagemaker')}"
    deployers = [deployer_role_arn(cfg, a.usecase, env) for env in ENVIRONMENTS]
    build_role = f"arn:aws:iam::{acct}:role/{a.n('build', kind='role')}"
    deny = "deny"
    declare.actor(
        flow="attacks",
        step="a data scientist bypasses the lead",
        principal=scientist,
        account=acct,
        origin=declare.PUBLIC,
        calls=[
            declare.call(
                "codepipeline:PutApprovalResult", gates["staging"], expect=deny,
                why="approve a promotion gate",
            ),
            declare.call(
                "sagemaker:CreateModelPackage", package, expect=deny,
                context={"sagemaker:ModelApprovalStatus": "Approved"},
                why="register a package as Approved (fires the deploy to dev)",
            ),
            declare.call(
                "sagemaker:UpdateModelPackage", package, expect=deny,
                context={"sagemaker:ModelApprovalStatus": "Approved"},
                why="approve a package in the registry",
            ),
            declare.call(
                "sagemaker:UpdatePipeline", training, expect=deny,
                why="change the governed pipeline outside CI",
            ),
            declare.call(
                "sagemaker:StartPipelineExecution", training, expect=deny,
                why="start the governed pipeline with parameters of their choosing",
            ),
            *[
                declare.call(
                    "codebuild:StartBuild", project, expect=deny,
                    why="run a deploy build with an overridden buildspec or environment",
                )
                for project in p.deploy_project_arns
            ],
            *[
                declare.call(
                    "iam:PassRole", d, expect=deny,
                    context={"iam:PassedToService": "codebuild.amazonaws.com"},
                    why="pass a deployer role to a job of their own",
                )
                for d in deployers
            ],
            *[
                declare.call("sts:AssumeRole", d, expect=deny, why="act as a deployer")
                for d in deployers
            ],
        ],
        order=900,
    )  # fmt: skip
    declare.actor(
        flow="attacks",
        step="a training build is turned against the platform",
        principal=build_role,
        account=acct,
        origin=vpc_origin(a),
        calls=[
            *[
                declare.call(
                    "codebuild:StartBuild", project, expect=deny, why="start a deploy build"
                )
                for project in p.deploy_project_arns
            ],
            *[
                declare.call("sts:AssumeRole", d, expect=deny, why="act as a deployer")
                for d in deployers
            ],
            declare.call(
                "sagemaker:CreateModelPackage", package, expect=deny,
                context={"sagemaker:ModelApprovalStatus": "Approved"},
                why="register a package as Approved",
            ),
        ],
        order=910,
    )  # fmt: skip


def declare_deployer_attacks(
    cfg: StackConfig, usecase: str, deployer_arn: pulumi.Input[str]
) -> None:
    """A stage's deployer never creates or widens a role without the use case's permissions
    boundary (it could otherwise mint a role more powerful than itself)."""
    ctx = names_for(cfg)
    acct = cfg.account_id
    mine = f"arn:aws:iam::{acct}:role/{usecase_name(ctx, usecase, 'escalate', kind='role')}"
    other = f"arn:aws:iam::{acct}:policy/AdministratorAccess-lookalike"
    declare.actor(
        flow="attacks",
        step=f"the {cfg.environment} deployer creates a role without the boundary",
        principal=deployer_arn,
        account=acct,
        origin=declare.PUBLIC,
        calls=[
            declare.call("iam:CreateRole", mine, expect=DENY, why="a role with no boundary"),
            declare.call(
                "iam:CreateRole", mine, expect=DENY,
                context={"iam:PermissionsBoundary": other}, why="a role with a boundary of its own",
            ),
            declare.call(
                "iam:PutRolePolicy", mine, expect=DENY,
                why="widen a role that has no boundary",
            ),
            declare.call(
                "iam:DeleteRolePermissionsBoundary", mine, expect=DENY,
                context={"iam:PermissionsBoundary": boundary_policy_arn(ctx, usecase)},
                why="take the boundary off a role",
            ),
        ],
        order=940,
    )  # fmt: skip
