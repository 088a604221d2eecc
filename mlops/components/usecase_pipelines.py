"""Pipelines of a use case (dev stack): build pipeline (push → tests → SageMaker Pipeline) and
deploy pipeline (dev → smoke test → approval → staging → approval → prod), CodeBuild in the VPC,
artifacts encrypted with the stack key. A mixin of `UseCase`, split out to keep modules short."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

from mlops.components import usecase_roles as roles
from mlops.components.audit import encrypted_log_group
from mlops.components.usecase_roles import (
    deploy_build_role_name,
    deployer_role_arn,
)
from mlops.config import ENVIRONMENTS
from mlops.delivery import buildspecs
from mlops.delivery import iam as docs
from mlops.delivery.deploy import config_args, endpoint_config
from mlops.naming import NameContext, log_group_name

if TYPE_CHECKING:
    from mlops.components.usecase import UseCaseArgs

BUILD_IMAGE = "aws/codebuild/amazonlinux-x86_64-standard:5.0"
APPROVAL_ACTION = "LeadDataScientistApproval"
GATES = {"staging": "ApproveStaging", "prod": "ApproveProd"}


class PipelinesMixin:
    """Build and deploy pipelines; expects the attributes `UseCase` sets before calling them."""

    _name: str
    _args: UseCaseArgs
    _child: pulumi.ResourceOptions
    _tags: dict[str, str]
    _ctx: NameContext
    usecase: str

    def _source_action(
        self, repo: str, output: str, detect: bool
    ) -> aws.codepipeline.PipelineStageActionArgs:
        a, git = self._args, self._args.manifest.git
        if git.provider == "codecommit":
            return aws.codepipeline.PipelineStageActionArgs(
                name="Source",
                category="Source",
                owner="AWS",
                provider="CodeCommit",
                version="1",
                output_artifacts=[output],
                configuration={
                    "RepositoryName": repo,
                    "BranchName": git.branch,
                    "PollForSourceChanges": "false",
                    "OutputArtifactFormat": "CODE_ZIP",
                },
            )
        return aws.codepipeline.PipelineStageActionArgs(
            name="Source",
            category="Source",
            owner="AWS",
            provider="CodeStarSourceConnection",
            version="1",
            output_artifacts=[output],
            configuration={
                "ConnectionArn": a.git_connection_arn,
                "FullRepositoryId": f"{a.config.git.owner}/{repo}",
                "BranchName": git.branch,
                "OutputArtifactFormat": "CODE_ZIP",
                "DetectChanges": "true" if detect else "false",
            },
        )

    # --- dev: logs ------------------------------------------------------------------------------
    def _build_logs(self) -> None:
        self.build_logs = encrypted_log_group(
            f"{self._name}-build-logs",
            physical_name=log_group_name(self._ctx, self.usecase, "codebuild"),
            kms_key_arn=self._args.kms_key_arn,
            retention_days=self._args.config.retention.log_days,
            tags=self._tags,
            opts=self._child,
        )

    def _project(
        self,
        role_name: str,
        buildspec: str,
        role: aws.iam.Role,
        env: Mapping[str, pulumi.Input[str]],
    ) -> aws.codebuild.Project:
        a = self._args
        return aws.codebuild.Project(
            f"{self._name}-{role_name}",
            name=self._n(role_name),
            description=f"{role_name} for use case {self.usecase}",
            service_role=role.arn,
            encryption_key=a.kms_key_arn,
            build_timeout=60,
            source=aws.codebuild.ProjectSourceArgs(type="CODEPIPELINE", buildspec=buildspec),
            artifacts=aws.codebuild.ProjectArtifactsArgs(type="CODEPIPELINE"),
            environment=aws.codebuild.ProjectEnvironmentArgs(
                compute_type="BUILD_GENERAL1_SMALL",
                image=BUILD_IMAGE,
                type="LINUX_CONTAINER",
                environment_variables=[
                    aws.codebuild.ProjectEnvironmentEnvironmentVariableArgs(name=k, value=v)
                    for k, v in env.items()
                ],
            ),
            vpc_config=aws.codebuild.ProjectVpcConfigArgs(
                vpc_id=a.vpc_id, subnets=a.subnet_ids, security_group_ids=a.security_group_ids
            ),
            logs_config=aws.codebuild.ProjectLogsConfigArgs(
                cloudwatch_logs=aws.codebuild.ProjectLogsConfigCloudwatchLogsArgs(
                    group_name=self.build_logs.name, status="ENABLED"
                )
            ),
            tags=self._tags,
            opts=self._child,
        )

    def _store(self) -> aws.codepipeline.PipelineArtifactStoreArgs:
        return aws.codepipeline.PipelineArtifactStoreArgs(
            location=self._args.artifact_bucket,
            type="S3",
            encryption_key=aws.codepipeline.PipelineArtifactStoreEncryptionKeyArgs(
                id=self._args.kms_key_arn, type="KMS"
            ),
        )

    # --- dev: build pipeline ----------------------------------------------------------------
    def _build_build_pipeline(self) -> None:
        a, m, cfg = self._args, self._args.manifest, self._args.config
        settings = m.stacks.dev
        self.sm_pipeline_role = self._role(
            "sm-pipeline",
            docs.trust("sagemaker.amazonaws.com", source_account=cfg.account_id),
            roles.sagemaker_pipeline_policy(self, a),
        )
        self.build_role = self._role(
            "build",
            docs.trust("codebuild.amazonaws.com", source_account=cfg.account_id),
            roles.codebuild_policy(
                self,
                a,
                pass_roles=[self.sm_pipeline_role.arn],
                sagemaker_pipeline=self._n("training", kind="sagemaker"),
            ),
        )
        env = {
            "USECASE": m.name,
            "SM_PIPELINE_NAME": self._n("training", kind="sagemaker"),
            "SM_PIPELINE_ROLE_ARN": self.sm_pipeline_role.arn,
            "MODEL_PACKAGE_GROUP": self.registry.model_package_group_name,
            "KMS_KEY_ARN": a.kms_key_arn,
            "ARTIFACT_BUCKET": a.artifact_bucket,
            "EVAL_METRIC": m.evaluation.metric,
            "EVAL_THRESHOLD": str(m.evaluation.threshold),
            "EVAL_DIRECTION": m.evaluation.direction,
            "TUNING_MAX_JOBS": str(m.tuning.max_jobs),
            "TUNING_MAX_PARALLEL": str(m.tuning.max_parallel),
            "TRAINING_INSTANCE_TYPE": settings.training_instance_type,
            "PROCESSING_INSTANCE_TYPE": settings.processing_instance_type,
            "ENVIRONMENT": cfg.environment,
            "ACCOUNT_ID": cfg.account_id,
            "SUBNET_IDS": pulumi.Output.from_input(a.subnet_ids).apply(",".join),
            "SECURITY_GROUP_IDS": pulumi.Output.from_input(a.security_group_ids).apply(",".join),
            "MLOPS_PLATFORM_PIP_SPEC": a.platform_pip_spec,
        }
        self.tests_project = self._project(
            "tests", buildspecs.training_tests(), self.build_role, {"USECASE": m.name}
        )
        self.training_project = self._project(
            "training-pipeline", buildspecs.upsert_and_start_pipeline(), self.build_role, env
        )
        self.build_pipeline_role = self._role(
            "build-pipeline",
            docs.trust("codepipeline.amazonaws.com"),
            roles.codepipeline_policy(self, a, [self._n("tests"), self._n("training-pipeline")]),
        )
        git = m.git
        triggers = None
        if git.provider != "codecommit":
            triggers = [
                aws.codepipeline.PipelineTriggerArgs(
                    provider_type="CodeStarSourceConnection",
                    git_configuration=aws.codepipeline.PipelineTriggerGitConfigurationArgs(
                        source_action_name="Source",
                        pushes=[
                            aws.codepipeline.PipelineTriggerGitConfigurationPushArgs(
                                branches=aws.codepipeline.PipelineTriggerGitConfigurationPushBranchesArgs(
                                    includes=[git.branch]
                                )
                            )
                        ],
                    ),
                )
            ]
        self.build_pipeline = aws.codepipeline.Pipeline(
            f"{self._name}-build-pipeline",
            name=self._n("build"),
            pipeline_type="V2",
            execution_mode="QUEUED",
            role_arn=self.build_pipeline_role.arn,
            artifact_stores=[self._store()],
            triggers=triggers,
            stages=[
                aws.codepipeline.PipelineStageArgs(
                    name="Source",
                    actions=[
                        self._source_action(git.training_repo, "training_source", detect=True)
                    ],
                ),
                aws.codepipeline.PipelineStageArgs(
                    name="Test",
                    actions=[self._build_action("RunTests", self.tests_project, "training_source")],
                ),
                aws.codepipeline.PipelineStageArgs(
                    name="TrainingPipeline",
                    actions=[
                        self._build_action(
                            "UpsertAndStart", self.training_project, "training_source"
                        )
                    ],
                ),
            ],
            tags=self._tags,
            opts=self._child,
        )
        if git.provider == "codecommit":
            self._codecommit_push_rule()

    def _build_action(
        self,
        action: str,
        project: aws.codebuild.Project,
        source: str,
        env: Sequence[Mapping[str, str]] = (),
        run_order: int = 1,
    ) -> aws.codepipeline.PipelineStageActionArgs:
        config: dict[str, pulumi.Input[str]] = {"ProjectName": project.name}
        if env:
            config["EnvironmentVariables"] = json.dumps(
                [{"name": e["name"], "value": e["value"], "type": "PLAINTEXT"} for e in env]
            )
        return aws.codepipeline.PipelineStageActionArgs(
            name=action,
            category="Build",
            owner="AWS",
            provider="CodeBuild",
            version="1",
            input_artifacts=[source],
            configuration=config,
            run_order=run_order,
        )

    def _codecommit_push_rule(self) -> None:
        repo = self.repositories["training"]
        pattern = repo.arn.apply(
            lambda arn: json.dumps(
                {
                    "source": ["aws.codecommit"],
                    "detail-type": ["CodeCommit Repository State Change"],
                    "resources": [arn],
                    "detail": {
                        "event": ["referenceCreated", "referenceUpdated"],
                        "referenceType": ["branch"],
                        "referenceName": [self._args.manifest.git.branch],
                    },
                }
            )
        )
        role = self._role(
            "push-events",
            docs.trust("events.amazonaws.com"),
            roles.start_pipeline_policy(self.build_pipeline.arn),
        )
        self.push_rule = aws.cloudwatch.EventRule(
            f"{self._name}-push-rule",
            name=self._n("training-push"),
            event_pattern=pattern,
            tags=self._tags,
            opts=self._child,
        )
        aws.cloudwatch.EventTarget(
            f"{self._name}-push-target",
            rule=self.push_rule.name,
            arn=self.build_pipeline.arn,
            role_arn=role.arn,
            opts=pulumi.ResourceOptions(parent=self.push_rule),
        )

    # --- dev: deploy pipeline ----------------------------------------------------------------
    def _build_deploy_pipeline(self) -> None:
        a, m, cfg = self._args, self._args.manifest, self._args.config
        targets = [deployer_role_arn(cfg, m.name, env) for env in ENVIRONMENTS]
        deploy_pipeline_name = self._n("deploy")
        self.deploy_build_role = self._role(
            "deploy-build",
            docs.trust("codebuild.amazonaws.com", source_account=cfg.account_id),
            roles.deploy_build_policy(self, a, targets, deploy_pipeline_name),
            physical=deploy_build_role_name(cfg, m.name),
        )
        env = {
            "USECASE": m.name,
            "MODEL_PACKAGE_GROUP": self.registry.model_package_group_name,
            "DEPLOY_PIPELINE_NAME": deploy_pipeline_name,
            "MLOPS_PLATFORM_PIP_SPEC": a.platform_pip_spec,
            "PULUMI_BACKEND_URL": a.pulumi_backend_url or roles.pulumi_backend_url(cfg),
            "PULUMI_VERSION": a.pulumi_version,
        }
        self.deploy_project = self._project(
            "deploy", buildspecs.deploy(), self.deploy_build_role, env
        )
        self.smoke_project = self._project(
            "smoke-test", buildspecs.smoke_test(), self.deploy_build_role, env
        )
        self.approvals_topic = aws.sns.Topic(
            f"{self._name}-approvals",
            name=self._n("approvals"),
            display_name=f"{m.name}: promotion approvals",
            kms_master_key_id=a.kms_key_arn,
            tags=self._tags,
            opts=self._child,
        )
        lead = next(
            p for p in cfg.people.lead_data_scientists if p.user == m.owners.lead_data_scientist
        )
        self.approvals_subscription = aws.sns.TopicSubscription(
            f"{self._name}-approvals-lead",
            topic=self.approvals_topic.arn,
            protocol="email",
            endpoint=lead.email,
            opts=pulumi.ResourceOptions(parent=self.approvals_topic),
        )
        self.deploy_pipeline_role = self._role(
            "deploy-pipeline",
            docs.trust("codepipeline.amazonaws.com"),
            roles.codepipeline_policy(
                self, a, [self._n("deploy"), self._n("smoke-test")], self._n("approvals")
            ),
        )

        def stage_endpoint(env_name: str) -> str:
            endpoint = m.stacks.for_env(env_name).endpoint.model_dump(mode="json")
            return config_args(endpoint_config(endpoint))

        def stage_env(env_name: str, gate: str | None) -> list[dict[str, str]]:
            return [
                {"name": "STAGE", "value": env_name},
                {"name": "TARGET_ROLE_ARN", "value": deployer_role_arn(cfg, m.name, env_name)},
                {"name": "APPROVAL_ACTION", "value": f"{gate}/{APPROVAL_ACTION}" if gate else ""},
                {"name": "PIPELINE_EXECUTION_ID", "value": "#{codepipeline.PipelineExecutionId}"},
                {"name": "ENDPOINT_CONFIG", "value": stage_endpoint(env_name)},
            ]

        def approval(env_name: str) -> aws.codepipeline.PipelineStageArgs:
            return aws.codepipeline.PipelineStageArgs(
                name=GATES[env_name],
                actions=[
                    aws.codepipeline.PipelineStageActionArgs(
                        name=APPROVAL_ACTION,
                        category="Approval",
                        owner="AWS",
                        provider="Manual",
                        version="1",
                        configuration={
                            "CustomData": (
                                f"Promote {m.name} to {env_name}? Only the lead data scientist "
                                f"({m.owners.lead_data_scientist}) may approve; the approver "
                                "is recorded on the model package."
                            ),
                            "NotificationArn": self.approvals_topic.arn,
                        },
                    )
                ],
            )

        def deploy(env_name: str, gate: str | None) -> aws.codepipeline.PipelineStageArgs:
            title = env_name.capitalize()
            return aws.codepipeline.PipelineStageArgs(
                name=f"Deploy{title}",
                actions=[
                    self._build_action(
                        f"Deploy{title}",
                        self.deploy_project,
                        "inference_source",
                        stage_env(env_name, gate),
                    )
                ],
            )

        self.deploy_pipeline = aws.codepipeline.Pipeline(
            f"{self._name}-deploy-pipeline",
            name=deploy_pipeline_name,
            pipeline_type="V2",
            # QUEUED, not SUPERSEDED: a second trigger (e.g. a metadata update event) must never
            # cancel an execution that is waiting for the lead's approval; it queues and then
            # stops at DeployDev's select ("no Approved, undeployed model package").
            execution_mode="QUEUED",
            role_arn=self.deploy_pipeline_role.arn,
            artifact_stores=[self._store()],
            stages=[
                aws.codepipeline.PipelineStageArgs(
                    name="Source",
                    actions=[
                        self._source_action(m.git.inference_repo, "inference_source", detect=False)
                    ],
                ),
                deploy("dev", None),
                aws.codepipeline.PipelineStageArgs(
                    name="SmokeTestDev",
                    actions=[
                        self._build_action(
                            "SmokeTestDev",
                            self.smoke_project,
                            "inference_source",
                            stage_env("dev", None),
                        )
                    ],
                ),
                approval("staging"),
                deploy("staging", GATES["staging"]),
                approval("prod"),
                deploy("prod", GATES["prod"]),
            ],
            tags=self._tags,
            opts=self._child,
        )
