"""`mlops:usecase:BuildPipeline` — a use case's training path (dev stack).

Push to the training repo's branch → Test (unit tests, lint) → Images (build the training image
from the training repo and the inference image from the inference repo, push both to the use
case's ECR repositories, hand on their digests) → TrainingPipeline (upsert and start the governed
SageMaker Pipeline, pinned to those digests, as the use case's pipeline role). CodePipeline V2,
CodeBuild in the VPC, artifacts encrypted with the stack key; with CodeCommit sources an
EventBridge rule starts the pipeline on a push. The runtime actors (who calls what, from which
network) are declared here, next to the resources that create them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops import iam
from mlops.components import images as ecr_images
from mlops.components import usecase_roles as roles
from mlops.components.usecase_builds import (
    DeliveryArgs,
    artifact_key,
    artifact_store,
    build_action,
    codebuild_project,
    declare_codebuild,
    declare_pipeline_source,
    install_calls,
    moved_children,
    role,
    source_action,
)
from mlops.delivery import buildspecs
from mlops.rehearsal import declare


@dataclass(frozen=True, kw_only=True)
class BuildPipelineArgs:
    delivery: DeliveryArgs
    model_package_group_name: pulumi.Input[str]
    group_name: str
    """Physical name of the model package group (known while building)."""
    group_arn: str
    data_bucket: pulumi.Input[str] | None = None
    """Training data; the SageMaker pipeline reads `<usecase>/*` only."""
    data_key_arn: pulumi.Input[str] | None = None
    model_artifacts_bucket: pulumi.Input[str] | None = None
    """Model artifacts; the SageMaker pipeline writes `<usecase>/models/*` only."""
    training_repo_arn: pulumi.Input[str] | None = None
    """CodeCommit training repository (a push starts the pipeline); None with a Git connection."""
    image_repository_urls: Mapping[str, pulumi.Input[str]] | None = None
    """`{training: url, inference: url}` of the use case's ECR repositories (`UseCaseImages`):
    with them, the Images stage builds and pushes both images."""


IMAGES_NAMESPACE = "Images"
"""The Images action's variable namespace: TrainingPipeline reads `#{Images.TRAINING_IMAGE_URI}`."""


class BuildPipeline(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: BuildPipelineArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:usecase:BuildPipeline", name, None, opts)
        self._name, self._args, a = name, args, args.delivery
        self._child = moved_children(self, opts)
        self._tags = dict(a.tags)
        m, cfg = a.manifest, a.config
        settings = m.stacks.dev
        self.sm_pipeline_name = a.n("training", kind="sagemaker")
        self.sm_pipeline_role = role(
            f"{name}-sm-pipeline",
            a.n("sm-pipeline", kind="role"),
            iam.service_trust("sagemaker.amazonaws.com", source_account=cfg.account_id),
            roles.sagemaker_pipeline_policy(
                a,
                args.group_name,
                args.group_arn,
                args.data_bucket,
                args.data_key_arn,
                args.model_artifacts_bucket,
            ),
            self._tags,
            self._child,
        )
        self.build_role = role(
            f"{name}-build",
            a.n("build", kind="role"),
            iam.service_trust("codebuild.amazonaws.com", source_account=cfg.account_id),
            roles.codebuild_policy(
                a, pass_roles=[self.sm_pipeline_role.arn], sagemaker_pipeline=self.sm_pipeline_name
            ),
            self._tags,
            self._child,
        )
        env = {
            "USECASE": m.name,
            "SM_PIPELINE_NAME": self.sm_pipeline_name,
            "SM_PIPELINE_ROLE_ARN": self.sm_pipeline_role.arn,
            "MODEL_PACKAGE_GROUP": args.model_package_group_name,
            "KMS_KEY_ARN": a.kms_key_arn,
            "ARTIFACT_BUCKET": a.artifact_bucket,
            # registered models are published here (mlops.delivery.artifacts)
            **(
                {"MODEL_ARTIFACT_BUCKET": args.model_artifacts_bucket}
                if args.model_artifacts_bucket is not None
                else {}
            ),
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
        }
        self.tests_project = codebuild_project(
            f"{name}-tests",
            a,
            "tests",
            buildspecs.training_tests(),
            self.build_role,
            {"USECASE": m.name},
            self._tags,
            self._child,
            in_vpc=False,  # tests and lint: nothing VPC-private
        )
        self.training_project = codebuild_project(
            f"{name}-training-pipeline",
            a,
            "training-pipeline",
            buildspecs.upsert_and_start_pipeline(),
            self.build_role,
            env,
            self._tags,
            self._child,
            in_vpc=False,  # SageMaker and S3 APIs only; the jobs themselves run in the VPC
        )
        self.images_project = None
        if args.image_repository_urls is not None:
            self.image_build_role = role(
                f"{name}-image-build",
                a.n("image-build", kind="role"),
                iam.service_trust("codebuild.amazonaws.com", source_account=cfg.account_id),
                roles.image_build_policy(a),
                self._tags,
                self._child,
            )
            self.images_project = codebuild_project(
                f"{name}-images",
                a,
                "images",
                buildspecs.build_and_push_images(),
                self.image_build_role,
                {
                    f"{kind.upper()}_REPOSITORY_URI": url
                    for kind, url in args.image_repository_urls.items()
                },
                self._tags,
                self._child,
                in_vpc=False,  # ECR and CodeArtifact APIs only
                privileged=True,  # docker build needs CodeBuild's privileged mode
            )
        projects = [a.n("tests"), a.n("training-pipeline")]
        if self.images_project is not None:
            projects.insert(1, a.n("images"))
        self.pipeline_role = role(
            f"{name}-build-pipeline",
            a.n("build-pipeline", kind="role"),
            iam.service_trust("codepipeline.amazonaws.com"),
            roles.codepipeline_policy(a, projects),
            self._tags,
            self._child,
        )
        self.pipeline = self._pipeline()
        if m.git.provider == "codecommit":
            self._codecommit_push_rule()
        self._declare_training()
        self.register_outputs({"name": self.pipeline.name, "build_role_arn": self.build_role.arn})

    def _pipeline(self) -> aws.codepipeline.Pipeline:
        a = self._args.delivery
        git = a.manifest.git
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
        sources = [source_action(a, git.training_repo, "training_source", detect=True)]
        stages = [
            aws.codepipeline.PipelineStageArgs(
                name="Test",
                actions=[build_action("RunTests", self.tests_project, "training_source")],
            )
        ]
        image_env: list[dict[str, str]] = []
        if self.images_project is not None:
            # the inference image's context; only a push to the training repo starts a run
            sources.append(
                source_action(
                    a, git.inference_repo, "inference_source", detect=False, name="InferenceSource"
                )
            )
            stages.append(
                aws.codepipeline.PipelineStageArgs(
                    name="Images",
                    actions=[
                        build_action(
                            "BuildAndPush",
                            self.images_project,
                            "training_source",
                            extra_sources=["inference_source"],
                            namespace=IMAGES_NAMESPACE,
                        )
                    ],
                )
            )
            image_env = [
                {"name": v, "value": f"#{{{IMAGES_NAMESPACE}.{v}}}"}
                for v in ecr_images.URI_VARIABLES.values()
            ]
        return aws.codepipeline.Pipeline(
            f"{self._name}-build-pipeline",
            name=a.n("build"),
            pipeline_type="V2",
            execution_mode="QUEUED",
            role_arn=self.pipeline_role.arn,
            artifact_stores=[artifact_store(a)],
            triggers=triggers,
            stages=[
                aws.codepipeline.PipelineStageArgs(name="Source", actions=sources),
                *stages,
                aws.codepipeline.PipelineStageArgs(
                    name="TrainingPipeline",
                    actions=[
                        build_action(
                            "UpsertAndStart", self.training_project, "training_source", image_env
                        )
                    ],
                ),
            ],
            tags=self._tags,
            opts=self._child,
        )

    def _codecommit_push_rule(self) -> None:
        a = self._args.delivery
        branch = a.manifest.git.branch
        pattern = pulumi.Output.from_input(self._args.training_repo_arn).apply(
            lambda arn: json.dumps(
                {
                    "source": ["aws.codecommit"],
                    "detail-type": ["CodeCommit Repository State Change"],
                    "resources": [arn],
                    "detail": {
                        "event": ["referenceCreated", "referenceUpdated"],
                        "referenceType": ["branch"],
                        "referenceName": [branch],
                    },
                }
            )
        )
        push_role = role(
            f"{self._name}-push-events",
            a.n("push-events", kind="role"),
            iam.service_trust("events.amazonaws.com"),
            roles.start_pipeline_policy(self.pipeline.arn),
            self._tags,
            self._child,
        )
        self.push_rule = aws.cloudwatch.EventRule(
            f"{self._name}-push-rule",
            name=a.n("training-push"),
            event_pattern=pattern,
            tags=self._tags,
            opts=self._child,
        )
        aws.cloudwatch.EventTarget(
            f"{self._name}-push-target",
            rule=self.push_rule.name,
            arn=self.pipeline.arn,
            role_arn=push_role.arn,
            opts=pulumi.ResourceOptions(parent=self.push_rule),
        )

    # --- runtime actors: the training flow ------------------------------------------------------
    def _declare_training(self) -> None:
        a = self._args.delivery
        m, cfg = a.manifest, a.config
        region, acct = cfg.region, cfg.account_id
        pipeline = a.n("build")
        source = artifact_key(pipeline, "training_source")
        declare_pipeline_source(
            a,
            "training",
            "push to the training repo",
            self.pipeline_role,
            pipeline,
            m.git.training_repo,
            "training_source",
        )
        projects = [self.tests_project, self.training_project]
        if self.images_project is not None:
            declare_pipeline_source(
                a,
                "training",
                "the inference repo (the inference image's context)",
                self.pipeline_role,
                pipeline,
                m.git.inference_repo,
                "inference_source",
            )
            projects.insert(1, self.images_project)
        declare.actor(
            flow="training",
            step="build pipeline starts the Test, Images and TrainingPipeline builds",
            principal=self.pipeline_role.arn,
            account=acct,
            origin=declare.AWS_SERVICE,
            calls=[
                declare.call(action, project.arn)
                for project in projects
                for action in ("codebuild:StartBuild", "codebuild:BatchGetBuilds")
            ],
            order=12,
        )
        reports = f"arn:aws:codebuild:{region}:{acct}:report-group/{a.n('tests')}-unit-tests"
        declare_codebuild(
            a,
            "training",
            "Test build: unit tests and lint",
            a.n("tests"),
            self.build_role,
            [
                *install_calls(a, "pip install the repo's deps"),
                declare.call("codebuild:CreateReportGroup", reports),
                declare.call("codebuild:CreateReport", reports),
                declare.call("codebuild:BatchPutTestCases", reports),
                declare.call("codebuild:UpdateReport", reports),
            ],
            order=20,
            source_artifact=source,
            in_vpc=False,
        )
        if self.images_project is not None:
            self._declare_images(source)
        sm = f"arn:aws:sagemaker:{region}:{acct}"
        sm_pipeline = f"{sm}:pipeline/{self.sm_pipeline_name}"
        calls: list[dict[str, Any]] = [
            *install_calls(a, "pip install the repo and mlops-platform"),
            declare.call("sagemaker:DescribePipeline", sm_pipeline),
            declare.call("sagemaker:CreatePipeline", sm_pipeline),
            declare.call("sagemaker:UpdatePipeline", sm_pipeline),
            declare.call("sagemaker:AddTags", sm_pipeline),
            declare.call(
                "iam:PassRole",
                self.sm_pipeline_role.arn,
                context={"iam:PassedToService": "sagemaker.amazonaws.com"},
                why="the pipeline runs as its role",
            ),
            declare.call("sagemaker:StartPipelineExecution", sm_pipeline),
            declare.call("sagemaker:DescribePipelineExecution", f"{sm_pipeline}/execution/*"),
        ]
        # the live model the Backtest step compares the candidate with (CurrentModelUri)
        group = self._args.group_name
        calls += [
            declare.call(
                "sagemaker:ListModelPackages", f"{sm}:model-package-group/{group}",
                why="the newest Approved package (CurrentModelUri)",
            ),
            declare.call(
                "sagemaker:DescribeModelPackage", f"{sm}:model-package/{group}/1",
                why="its model data",
            ),
        ]  # fmt: skip
        declare_codebuild(
            a,
            "training",
            "TrainingPipeline build: upsert and start the SageMaker pipeline",
            a.n("training-pipeline"),
            self.build_role,
            calls,
            order=30,
            source_artifact=source,
            in_vpc=False,
        )
        declare.service_assumes(
            flow="training",
            step="SageMaker pipeline: SageMaker takes the pipeline role",
            service="sagemaker.amazonaws.com",
            role_arn=self.sm_pipeline_role.arn,
            account=acct,
            source_arn=sm_pipeline,
            order=40,
        )

    def _declare_images(self, source: str) -> None:
        """The Images build: the BuildKit secret's package index, the registry login, each
        image's layer upload and manifest put, the digest read back, all under the repositories'
        KMS key (ECR uses it on the caller's behalf)."""
        a = self._args.delivery
        cfg = a.config
        region, acct = cfg.region, cfg.account_id
        calls: list[dict[str, Any]] = [
            *install_calls(a, "pip inside docker build (BuildKit secret)"),
            declare.call("ecr:GetAuthorizationToken", "*", why="docker login"),
        ]
        for kind in ecr_images.KINDS:
            repo = ecr_images.repository_name(a.ctx, a.usecase, kind)
            arn = f"arn:aws:ecr:{region}:{acct}:repository/{repo}"
            calls += [
                declare.call(action, arn, why=f"push the {kind} image")
                for action in ecr_images.PUSH_ACTIONS
            ]
            calls += [
                declare.call(
                    action,
                    a.kms_key_arn,
                    context={"kms:ViaService": f"ecr.{region}.amazonaws.com"},
                    why=f"{kind} image layers under the repository's key",
                )
                for action in ("kms:GenerateDataKey", "kms:Decrypt")
            ]
        declare_codebuild(
            a,
            "training",
            "Images build: build and push the training and inference images",
            a.n("images"),
            self.image_build_role,
            calls,
            order=25,
            source_artifact=source,
            in_vpc=False,
        )
