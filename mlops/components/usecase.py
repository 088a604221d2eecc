"""`mlops:usecase:UseCase` — the governed path every use case gets, built from its manifest.

Dev (governance) stack:
- model package group + resource policy (staging and prod may describe packages and create models);
- sources: CodeConnections (GitHub/GitLab/Bitbucket) by default, CodeCommit repos as an option;
- build pipeline (CodePipeline V2, CodeBuild in the VPC): push to the training repo's branch →
  Test → TrainingPipeline (upsert + start the SageMaker Pipeline);
- EventBridge rule: a package of *this* group becomes Approved (and was never deployed) → deploy;
- deploy pipeline: DeployDev → SmokeTestDev → ApproveStaging → DeployStaging → ApproveProd →
  DeployProd; only the lead-data-scientist role may approve (IAM on codepipeline:PutApprovalResult,
  data scientists explicitly denied); the approver is read back from CodePipeline and recorded on
  the model package (mlops.delivery.promotion);
- artifacts encrypted with the stack KMS key; every name contains the use case.

Every stack (dev, staging, prod): the deployment target — a per-use-case deployer role trusted only
by this use case's dev deploy-build role; the deploy stages `pulumi up` the use case's inference
repo with it (``mlops.delivery.deployer`` scopes it to ``mlops-<env>-<usecase>-*``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops.components import usecase_roles as roles
from mlops.components.usecase_actors import ActorsMixin
from mlops.components.usecase_pipelines import GATES, PipelinesMixin
from mlops.components.usecase_roles import (
    deploy_build_role_name,
    deployer_role_name,
    model_package_group_name,
    names_for,
)
from mlops.config import StackConfig
from mlops.delivery import iam as docs
from mlops.delivery.deployer import deployer_policy
from mlops.delivery.events import approved_package_pattern
from mlops.naming import usecase_name
from mlops.tags import with_component
from mlops.usecases import UseCaseManifest


@dataclass(frozen=True, kw_only=True)
class UseCaseArgs:
    manifest: UseCaseManifest
    config: StackConfig
    tags: Mapping[str, str]
    kms_key_arn: pulumi.Input[str]
    """Stack KMS key (artifacts): pipeline artifacts, logs, repositories, SSM parameter."""
    # --- governance (dev) -------------------------------------------------------------------
    artifact_bucket: pulumi.Input[str] | None = None
    """Name of the (KMS-encrypted, private) bucket for pipeline and model artifacts."""
    vpc_id: pulumi.Input[str] | None = None
    subnet_ids: pulumi.Input[Sequence[str]] | None = None
    security_group_ids: pulumi.Input[Sequence[str]] | None = None
    git_connection_arn: pulumi.Input[str] | None = None
    lead_data_scientist_role_name: pulumi.Input[str] | None = None
    data_scientist_role_name: pulumi.Input[str] | None = None
    data_bucket: pulumi.Input[str] | None = None
    """Training data; the SageMaker pipeline reads `<usecase>/*` only."""
    data_key_arn: pulumi.Input[str] | None = None
    model_artifacts_bucket: pulumi.Input[str] | None = None
    """Model artifacts; the SageMaker pipeline writes `<usecase>/*` only."""
    model_execution_role_arn: pulumi.Input[str] | None = None
    """Role SageMaker models/endpoints run as in this stack (PassRole is limited to it)."""
    platform_pip_spec: str = "mlops-platform"
    pulumi_backend_url: str | None = None
    """Backend the deploy builds `pulumi login` to (default: dev's state bucket, docs/deploy.md)."""
    pulumi_version: str = "3.272.0"
    """How deploy/onboard builds install this library (e.g. a git URL pinned to a tag)."""

    def __post_init__(self) -> None:
        self.manifest.check_against_stack(self.config)
        if self.config.is_governance:
            missing = [
                f
                for f in ("artifact_bucket", "vpc_id", "subnet_ids", "security_group_ids")
                if getattr(self, f) is None
            ]
            if missing:
                raise ValueError(f"UseCaseArgs: the dev stack needs {', '.join(missing)}")
            if self.manifest.git.provider != "codecommit" and self.git_connection_arn is None:
                raise ValueError(
                    "UseCaseArgs.git_connection_arn: set a CodeConnections connection ARN "
                    "(mlops-platform:git.connectionArn) or use git.provider: codecommit"
                )


def _json(build: Callable[..., dict[str, Any]], **values: Any) -> pulumi.Output[str]:
    """A JSON document from a pure builder whose arguments may be Outputs."""
    return pulumi.Output.all(**values).apply(lambda v: json.dumps(build(**v), sort_keys=True))


class UseCase(PipelinesMixin, ActorsMixin, pulumi.ComponentResource):
    """Registry, repositories, build and deploy pipelines for one use-case manifest."""

    def __init__(
        self, name: str, args: UseCaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:usecase:UseCase", name, None, opts)
        self._name, self._args = name, args
        self._child = pulumi.ResourceOptions(parent=self)
        m, cfg = args.manifest, args.config
        self.usecase = m.name
        self._ctx = names_for(cfg)
        self.group_name = model_package_group_name(self._ctx, m.name)
        self.group_arn = docs.model_package_group_arn(cfg.region, cfg.account_id, self.group_name)
        self._tags = with_component(
            args.tags, "usecase", usecase=m.name, **{"data-classification": m.data_classification}
        )
        self._build_target()
        outputs: dict[str, Any] = {
            "deployer_role_arn": self.deployer_role.arn,
        }
        if cfg.is_governance:
            self._build_registry()
            self._build_sources()
            self._build_logs()
            self._build_build_pipeline()
            self._build_deploy_pipeline()
            self._build_trigger()
            self._build_approvals()
            self._declare_training()
            self._declare_promotion()
            self._declare_people()
            outputs.update(
                model_package_group=self.registry.model_package_group_name,
                build_pipeline=self.build_pipeline.name,
                deploy_pipeline=self.deploy_pipeline.name,
                approved_rule=self.approved_rule.name,
            )
        self.register_outputs(outputs)

    # --- names -------------------------------------------------------------------------------
    def _n(self, *parts: str, kind: str = "generic") -> str:
        return usecase_name(self._ctx, self.usecase, *parts, kind=kind)

    def _role(
        self,
        role: str,
        trust: dict[str, Any],
        policy: pulumi.Input[str],
        physical: str | None = None,
    ) -> aws.iam.Role:
        resource = aws.iam.Role(
            f"{self._name}-{role}-role",
            name=physical or self._n(role, kind="role"),
            assume_role_policy=json.dumps(trust),
            tags=self._tags,
            opts=self._child,
        )
        aws.iam.RolePolicy(
            f"{self._name}-{role}-policy",
            role=resource.name,
            policy=policy,
            opts=pulumi.ResourceOptions(parent=resource),
        )
        return resource

    # --- every stack: deployment target ------------------------------------------------------
    def _build_target(self) -> None:
        a, cfg, m = self._args, self._args.config, self._args.manifest
        dev_build_arn = (
            f"arn:aws:iam::{cfg.accounts.dev}:role/{deploy_build_role_name(cfg, m.name)}"
        )
        dev_group = model_package_group_name(names_for(cfg, "dev"), m.name)
        dev_group_arn = docs.model_package_group_arn(cfg.region, cfg.accounts.dev, dev_group)
        dev_packages_arn = docs.model_packages_arn(cfg.region, cfg.accounts.dev, dev_group)
        pass_roles = [a.model_execution_role_arn] if a.model_execution_role_arn else []
        self.deployer_role = self._role(
            "deployer",
            docs.trust_roles([dev_build_arn]),
            _json(
                lambda extra, key: deployer_policy(
                    cfg, m.name, extra, key, dev_group_arn, dev_packages_arn
                ),
                extra=pulumi.Output.all(*pass_roles),
                key=a.kms_key_arn,
            ),
            physical=deployer_role_name(cfg, m.name, cfg.environment),
        )

    # --- dev: registry ---------------------------------------------------------------------------
    def _build_registry(self) -> None:
        cfg = self._args.config
        group = self.group_name
        self.registry = aws.sagemaker.ModelPackageGroup(
            f"{self._name}-registry",
            model_package_group_name=group,
            model_package_group_description=f"Model registry of use case {self.usecase}",
            tags=self._tags,
            opts=self._child,
        )
        consumers = [cfg.accounts.staging, cfg.accounts.prod]
        self.registry_policy = aws.sagemaker.ModelPackageGroupPolicy(
            f"{self._name}-registry-policy",
            model_package_group_name=self.registry.model_package_group_name,
            resource_policy=_json(
                lambda arn: docs.registry_resource_policy(
                    arn, arn.replace("model-package-group/", "model-package/") + "/*", consumers
                ),
                arn=self.group_arn,
            ),
            opts=self._child,
        )

    # --- dev: sources ----------------------------------------------------------------------------
    def _build_sources(self) -> None:
        git = self._args.manifest.git
        self.repositories: dict[str, aws.codecommit.Repository] = {}
        if git.provider == "codecommit":
            for role, repo in (("training", git.training_repo), ("inference", git.inference_repo)):
                self.repositories[role] = aws.codecommit.Repository(
                    f"{self._name}-{role}-repo",
                    repository_name=repo,
                    default_branch=git.branch,
                    kms_key_id=self._args.kms_key_arn,
                    tags=self._tags,
                    opts=self._child,
                )

    # --- dev: trigger on approval ------------------------------------------------------------
    def _build_trigger(self) -> None:
        pattern = self.registry.model_package_group_name.apply(
            lambda group: json.dumps(approved_package_pattern(group), sort_keys=True)
        )
        self.events_role = self._role(
            "approved-events",
            docs.trust("events.amazonaws.com"),
            roles.start_pipeline_policy(self.deploy_pipeline.arn),
        )
        self.approved_rule = aws.cloudwatch.EventRule(
            f"{self._name}-approved-rule",
            name=self._n("approved"),
            description=f"An Approved model package of {self.usecase} starts its deploy pipeline",
            event_pattern=pattern,
            tags=self._tags,
            opts=self._child,
        )
        self.approved_target = aws.cloudwatch.EventTarget(
            f"{self._name}-approved-target",
            rule=self.approved_rule.name,
            arn=self.deploy_pipeline.arn,
            role_arn=self.events_role.arn,
            opts=pulumi.ResourceOptions(parent=self.approved_rule),
        )

    # --- dev: who may approve -----------------------------------------------------------------
    def _build_approvals(self) -> None:
        a = self._args
        self.approver_policy = aws.iam.Policy(
            f"{self._name}-approver-policy",
            name=self._n("approver", kind="policy"),
            description=f"Approve {self.usecase} promotions (lead data scientist only)",
            policy=_json(
                lambda arn: docs.approver_policy(arn, list(GATES.values())),
                arn=self.deploy_pipeline.arn,
            ),
            tags=self._tags,
            opts=self._child,
        )
        self.approval_deny_policy = aws.iam.Policy(
            f"{self._name}-approval-deny-policy",
            name=self._n("approval-deny", kind="policy"),
            description=f"Data scientists can never pass a {self.usecase} promotion gate",
            policy=_json(docs.deny_approval_policy, pipeline_arn=self.deploy_pipeline.arn),
            tags=self._tags,
            opts=self._child,
        )
        if a.lead_data_scientist_role_name is not None:
            aws.iam.RolePolicyAttachment(
                f"{self._name}-lead-approver",
                role=a.lead_data_scientist_role_name,
                policy_arn=self.approver_policy.arn,
                opts=self._child,
            )
        if a.data_scientist_role_name is not None:
            aws.iam.RolePolicyAttachment(
                f"{self._name}-ds-approval-deny",
                role=a.data_scientist_role_name,
                policy_arn=self.approval_deny_policy.arn,
                opts=self._child,
            )
