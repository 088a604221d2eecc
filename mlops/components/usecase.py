"""`mlops:usecase:UseCase` — the governed path every use case gets, built from its manifest.

A composition of child components (imports run one way: this module → children → shared helpers):

- every stack (dev, staging, prod): `DeploymentTarget` — the per-use-case deployer role of the
  stage, trusted only by this use case's dev deploy-build role (the one cross-account path);
- dev (governance) stack, here: the model package group + resource policy (staging and prod may
  describe packages and create models), CodeCommit repositories when the manifest asks for them,
  and the encrypted build log group both pipelines write to;
- dev: `BuildPipeline` — push to the training repo → Test → upsert + start the SageMaker Pipeline;
- dev: `DeployPipeline` — an Approved package → DeployDev → SmokeTestDev → ApproveStaging →
  DeployStaging → SmokeTestStaging → ApproveProd → DeployProd → SmokeTestProd, gates passable
  only by the use case's lead.

Every physical name comes from `mlops.naming` and contains the use case. Children keep the logical
names they had as direct children of `UseCase`, with aliases, so existing stacks keep their state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops import iam
from mlops.components.approvers import approver_role_arn
from mlops.components.build_pipeline import BuildPipeline, BuildPipelineArgs
from mlops.components.deploy_pipeline import DeployPipeline, DeployPipelineArgs
from mlops.components.deployment_target import DeploymentTarget, DeploymentTargetArgs
from mlops.components.images import UseCaseImages, UseCaseImagesArgs, model_execution_pullers
from mlops.components.logs import encrypted_log_group
from mlops.components.usecase_actors import declare_deployer_attacks, declare_registry_attacks
from mlops.components.usecase_builds import DeliveryArgs, json_doc
from mlops.components.usecase_roles import (
    model_package_group_name,
    registry_approval_guard,
)
from mlops.config import StackConfig
from mlops.delivery import policies
from mlops.naming import log_group_name, names_for, usecase_name
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


class UseCase(pulumi.ComponentResource):
    """Registry, repositories, build and deploy pipelines and the stage's deployment target for one
    use-case manifest."""

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
        self.group_arn = policies.model_package_group_arn(
            cfg.region, cfg.account_id, self.group_name
        )
        self._tags = with_component(
            args.tags, "usecase", usecase=m.name, **{"data-classification": m.data_classification}
        )
        outputs: dict[str, Any] = {}
        if cfg.is_governance:
            self._build_registry()
            self.images = UseCaseImages(
                f"{name}-images",
                UseCaseImagesArgs(
                    names=self._ctx,
                    usecase=m.name,
                    tags=self._tags,
                    kms_key_arn=args.kms_key_arn,
                    inference_pullers=model_execution_pullers(
                        self._ctx, m.name, cfg.accounts.model_dump()
                    ),
                ),
                opts=self._child,
            )
            self._build_sources()
            self._build_logs()
            delivery = DeliveryArgs(
                manifest=m,
                config=cfg,
                tags=self._tags,
                kms_key_arn=args.kms_key_arn,
                artifact_bucket=args.artifact_bucket,
                vpc_id=args.vpc_id,
                subnet_ids=args.subnet_ids,
                security_group_ids=args.security_group_ids,
                build_logs_name=self.build_logs.name,
                build_logs_arn=self.build_logs.arn,
                git_connection_arn=args.git_connection_arn,
            )
            training_repo = self.repositories.get("training")
            self.build = BuildPipeline(
                name,
                BuildPipelineArgs(
                    delivery=delivery,
                    model_package_group_name=self.registry.model_package_group_name,
                    group_name=self.group_name,
                    group_arn=self.group_arn,
                    data_bucket=args.data_bucket,
                    data_key_arn=args.data_key_arn,
                    model_artifacts_bucket=args.model_artifacts_bucket,
                    training_repo_arn=training_repo.arn if training_repo else None,
                    image_repository_urls={
                        kind: repo.repository_url for kind, repo in self.images.repositories.items()
                    },
                ),
                opts=self._child,
            )
            self.deploy = DeployPipeline(
                name,
                DeployPipelineArgs(
                    delivery=delivery,
                    model_package_group_name=self.registry.model_package_group_name,
                    group_name=self.group_name,
                    group_arn=self.group_arn,
                    lead_data_scientist_role_name=args.lead_data_scientist_role_name,
                    data_scientist_role_name=args.data_scientist_role_name,
                    pulumi_backend_url=args.pulumi_backend_url,
                    pulumi_version=args.pulumi_version,
                ),
                opts=self._child,
            )
            declare_registry_attacks(
                delivery,
                self.group_name,
                self.build.sm_pipeline_role.arn,
                self.build.build_role.arn,
                {stage: role.arn for stage, role in self.deploy.deploy_build_roles.items()},
            )
            self.build_pipeline = self.build.pipeline
            self.deploy_pipeline = self.deploy.pipeline
            self.approved_rule = self.deploy.approved_rule
            outputs.update(
                model_package_group=self.registry.model_package_group_name,
                build_pipeline=self.build_pipeline.name,
                deploy_pipeline=self.deploy_pipeline.name,
                approved_rule=self.approved_rule.name,
            )
        # In dev the deploy-build role is created here, before the deployer that trusts it.
        self.target = DeploymentTarget(
            name,
            DeploymentTargetArgs(
                usecase=m.name,
                config=cfg,
                tags=self._tags,
                kms_key_arn=args.kms_key_arn,
                model_execution_role_arn=args.model_execution_role_arn,
                deploy_build_role_arn=(
                    self.deploy.deploy_build_role.arn if cfg.is_governance else None
                ),
            ),
            opts=self._child,
        )
        self.deployer_role = self.target.role
        declare_deployer_attacks(cfg, m.name, self.deployer_role.arn)
        outputs["deployer_role_arn"] = self.deployer_role.arn
        self.register_outputs(outputs)

    def _n(self, *parts: str, kind: str = "generic") -> str:
        return usecase_name(self._ctx, self.usecase, *parts, kind=kind)

    # --- dev: registry ---------------------------------------------------------------------------
    def _build_registry(self) -> None:
        self.registry = aws.sagemaker.ModelPackageGroup(
            f"{self._name}-registry",
            model_package_group_name=self.group_name,
            model_package_group_description=f"Model registry of use case {self.usecase}",
            tags=self._tags,
            # offboarding keeps it: its packages are the record of what was approved and deployed
            opts=pulumi.ResourceOptions.merge(
                self._child, pulumi.ResourceOptions(retain_on_delete=True)
            ),
        )
        # the leads approve as the use case's approver role (mlops.components.approvers)
        lead = approver_role_arn(self._ctx, self.usecase)
        self.registry_policy = aws.sagemaker.ModelPackageGroupPolicy(
            f"{self._name}-registry-policy",
            model_package_group_name=self.registry.model_package_group_name,
            resource_policy=json_doc(self._registry_policy, arn=self.group_arn, lead=lead),
            opts=self._child,
        )

    def _registry_policy(self, arn: str, lead: str | None) -> dict[str, Any]:
        """Staging and prod may read packages and create models; nobody but the use case's lead
        sets a status other than PendingManualApproval."""
        cfg = self._args.config
        packages = arn.replace("model-package-group/", "model-package/") + "/*"
        return iam.document(
            *policies.registry_statements(arn, packages, [cfg.accounts.staging, cfg.accounts.prod]),
            registry_approval_guard(packages, [lead] if lead else []),
        )

    # --- dev: sources ----------------------------------------------------------------------------
    def _build_sources(self) -> None:
        git = self._args.manifest.git
        self.repositories: dict[str, aws.codecommit.Repository] = {}
        if git.provider == "codecommit":
            for kind, repo in (("training", git.training_repo), ("inference", git.inference_repo)):
                self.repositories[kind] = aws.codecommit.Repository(
                    f"{self._name}-{kind}-repo",
                    repository_name=repo,
                    default_branch=git.branch,
                    kms_key_id=self._args.kms_key_arn,
                    tags=self._tags,
                    opts=self._child,
                )

    # --- dev: build logs (both pipelines' CodeBuild projects) ---------------------------------
    def _build_logs(self) -> None:
        self.build_logs = encrypted_log_group(
            f"{self._name}-build-logs",
            physical_name=log_group_name(self._ctx, self.usecase, "codebuild"),
            kms_key_arn=self._args.kms_key_arn,
            retention_days=self._args.config.retention.log_days,
            tags=self._tags,
            opts=self._child,
        )
