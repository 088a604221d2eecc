"""Runtime actors of a use case's delivery (dev stack), declared with the resources that create
them: what each pipeline, build, rule and person calls at run time, from which network
(`mlops.rehearsal.declare`; a no-op outside `mlops rehearse`).

A mixin of `UseCase`, next to `usecase_pipelines` (which creates these actors) and kept separate
only for length. Every call names the ARN AWS would see, so the rehearsal evaluates it against the
real policies of the estate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from mlops.components.usecase_roles import deployer_role_arn
from mlops.config import ENVIRONMENTS
from mlops.rehearsal import declare

if TYPE_CHECKING:
    from mlops.components.usecase import UseCaseArgs
    from mlops.naming import NameContext

PYPI = "https://pypi.org/simple/"
PULUMI_DOWNLOAD = "https://get.pulumi.com/"


def artifact_key(pipeline: str, artifact: str) -> str:
    """Where CodePipeline writes an artifact: the first 20 characters of the pipeline's name, the
    first 10 of the artifact's, then a random object name."""
    return f"{pipeline[:20]}/{artifact[:10]}/rehearsal.zip"


class ActorsMixin:
    _args: UseCaseArgs
    _ctx: NameContext
    usecase: str

    # --- shared shapes ------------------------------------------------------------------------
    def _vpc(self) -> dict[str, Any]:
        a = self._args
        return declare.vpc(a.vpc_id, a.subnet_ids, a.security_group_ids)

    def _bucket_object(self, key: str) -> pulumi.Output[str]:
        return pulumi.Output.concat("arn:aws:s3:::", self._args.artifact_bucket, "/", key)

    def _declare_pipeline_source(
        self, flow: str, step: str, role: aws.iam.Role, pipeline: str, repo: str, artifact: str
    ) -> None:
        """CodePipeline (its service role) fetches the repo through the connection and stores
        the source artifact, SSE-KMS with the stack key."""
        a, cfg = self._args, self._args.config
        key = a.kms_key_arn
        calls = [
            declare.call(
                "s3:PutObject",
                self._bucket_object(artifact_key(pipeline, artifact)),
                context={
                    "s3:x-amz-server-side-encryption": "aws:kms",
                    "s3:x-amz-server-side-encryption-aws-kms-key-id": key,
                },
                why="store the source artifact",
            ),
        ]
        git = a.manifest.git
        if git.provider == "codecommit":
            calls.insert(
                0,
                declare.call(
                    "codecommit:GetBranch",
                    f"arn:aws:codecommit:{cfg.region}:{cfg.account_id}:{repo}",
                    why="read the branch",
                ),
            )
        elif a.git_connection_arn is not None:
            service = str(a.git_connection_arn).split(":")[2]
            calls.insert(
                0,
                declare.call(
                    f"{service}:UseConnection",
                    a.git_connection_arn,
                    context={f"{service}:FullRepositoryId": f"{cfg.git.owner}/{repo}"},
                    why=f"fetch {repo} through the Git connection",
                ),
            )
        declare.service_assumes(
            flow=flow,
            step=f"{step}: CodePipeline takes its role",
            service="codepipeline.amazonaws.com",
            role_arn=role.arn,
            account=cfg.account_id,
            source_arn=f"arn:aws:codepipeline:{cfg.region}:{cfg.account_id}:{pipeline}",
            order=10,
        )
        declare.actor(
            flow=flow,
            step=f"{step}: source",
            principal=role.arn,
            account=cfg.account_id,
            origin=declare.AWS_SERVICE,
            calls=calls,
            order=11,
        )

    def _declare_codebuild(
        self,
        flow: str,
        step: str,
        project: str,
        role: aws.iam.Role,
        calls: Sequence[Mapping[str, Any]],
        order: int,
        source_artifact: str | None = None,
    ) -> None:
        """A CodeBuild build in the VPC: CodeBuild takes the role, attaches the build to the VPC
        (as the role), then the build's own commands run from the private subnets."""
        a, cfg = self._args, self._args.config
        region, acct = cfg.region, cfg.account_id
        project_arn = f"arn:aws:codebuild:{region}:{acct}:project/{project}"
        declare.service_assumes(
            flow=flow,
            step=f"{step}: CodeBuild takes its role",
            service="codebuild.amazonaws.com",
            role_arn=role.arn,
            account=acct,
            source_arn=project_arn,
            order=order,
        )
        eni = f"arn:aws:ec2:{region}:{acct}:network-interface/*"
        subnet = pulumi.Output.from_input(a.subnet_ids).apply(
            lambda ids: f"arn:aws:ec2:{region}:{acct}:subnet/{ids[0]}"
        )
        declare.actor(
            flow=flow,
            step=f"{step}: CodeBuild attaches the build to the VPC",
            principal=role.arn,
            account=acct,
            origin=declare.AWS_SERVICE,
            calls=[
                declare.call("ec2:CreateNetworkInterface", eni),
                declare.call("ec2:DescribeDhcpOptions"),
                declare.call("ec2:DescribeNetworkInterfaces"),
                declare.call("ec2:DescribeSubnets"),
                declare.call("ec2:DescribeSecurityGroups"),
                declare.call("ec2:DescribeVpcs"),
                declare.call(
                    "ec2:CreateNetworkInterfacePermission",
                    eni,
                    context={
                        "ec2:AuthorizedService": "codebuild.amazonaws.com",
                        "ec2:Subnet": subnet,
                    },
                ),
                declare.call("ec2:DeleteNetworkInterface", eni),
            ],
            order=order + 1,
        )
        logs = f"arn:aws:logs:{region}:{acct}:log-group:{self._log_group_name()}"
        prelude = [
            declare.call(
                "logs:CreateLogStream", f"{logs}:log-stream:rehearsal", why="build log stream"
            ),
            declare.call("logs:PutLogEvents", f"{logs}:log-stream:rehearsal", why="build logs"),
        ]
        if source_artifact is not None:
            prelude.append(
                declare.call(
                    "s3:GetObject", self._bucket_object(source_artifact), why="source artifact"
                )
            )
        declare.actor(
            flow=flow,
            step=step,
            principal=role.arn,
            account=acct,
            origin=self._vpc(),
            calls=[*prelude, *calls],
            order=order + 2,
        )

    def _log_group_name(self) -> str:
        from mlops.naming import log_group_name

        return log_group_name(self._ctx, self.usecase, "codebuild")

    # --- training flow -------------------------------------------------------------------------
    def _declare_training(self) -> None:
        m, cfg = self._args.manifest, self._args.config
        uc: Any = self
        region, acct = cfg.region, cfg.account_id
        pipeline = uc._n("build")
        source = artifact_key(pipeline, "training_source")
        self._declare_pipeline_source(
            "training",
            "push to the training repo",
            uc.build_pipeline_role,
            pipeline,
            m.git.training_repo,
            "training_source",
        )
        declare.actor(
            flow="training",
            step="build pipeline starts the Test and TrainingPipeline builds",
            principal=uc.build_pipeline_role.arn,
            account=acct,
            origin=declare.AWS_SERVICE,
            calls=[
                declare.call("codebuild:StartBuild", uc.tests_project.arn),
                declare.call("codebuild:BatchGetBuilds", uc.tests_project.arn),
                declare.call("codebuild:StartBuild", uc.training_project.arn),
                declare.call("codebuild:BatchGetBuilds", uc.training_project.arn),
            ],
            order=12,
        )
        reports = f"arn:aws:codebuild:{region}:{acct}:report-group/{uc._n('tests')}-unit-tests"
        self._declare_codebuild(
            "training",
            "Test build: unit tests and lint",
            uc._n("tests"),
            uc.build_role,
            [
                declare.call("https", PYPI, network_only=True, why="pip install the repo's deps"),
                declare.call("codebuild:CreateReportGroup", reports),
                declare.call("codebuild:CreateReport", reports),
                declare.call("codebuild:BatchPutTestCases", reports),
                declare.call("codebuild:UpdateReport", reports),
            ],
            order=20,
            source_artifact=source,
        )
        sm = f"arn:aws:sagemaker:{region}:{acct}"
        sm_pipeline = f"{sm}:pipeline/{uc._n('training', kind='sagemaker')}"
        self._declare_codebuild(
            "training",
            "TrainingPipeline build: upsert and start the SageMaker pipeline",
            uc._n("training-pipeline"),
            uc.build_role,
            [
                declare.call("https", PYPI, network_only=True, why="pip install mlops-platform"),
                declare.call("sagemaker:DescribePipeline", sm_pipeline),
                declare.call("sagemaker:CreatePipeline", sm_pipeline),
                declare.call("sagemaker:UpdatePipeline", sm_pipeline),
                declare.call("sagemaker:AddTags", sm_pipeline),
                declare.call(
                    "iam:PassRole",
                    uc.sm_pipeline_role.arn,
                    context={"iam:PassedToService": "sagemaker.amazonaws.com"},
                    why="the pipeline runs as its role",
                ),
                declare.call("sagemaker:StartPipelineExecution", sm_pipeline),
                declare.call("sagemaker:DescribePipelineExecution", f"{sm_pipeline}/execution/*"),
            ],
            order=30,
            source_artifact=source,
        )
        declare.service_assumes(
            flow="training",
            step="SageMaker pipeline: SageMaker takes the pipeline role",
            service="sagemaker.amazonaws.com",
            role_arn=uc.sm_pipeline_role.arn,
            account=acct,
            source_arn=sm_pipeline,
            order=40,
        )

    # --- promotion flow --------------------------------------------------------------------------
    def _declare_promotion(self) -> None:
        a, m, cfg = self._args, self._args.manifest, self._args.config
        uc: Any = self
        region, acct = cfg.region, cfg.account_id
        pipeline = uc._n("deploy")
        pipeline_arn = f"arn:aws:codepipeline:{region}:{acct}:{pipeline}"
        group_arn = uc.group_arn
        packages = group_arn.replace("model-package-group/", "model-package/") + "/*"
        declare.service_assumes(
            flow="promotion",
            step="an Approved package: EventBridge takes the rule's role",
            service="events.amazonaws.com",
            role_arn=uc.events_role.arn,
            account=acct,
            source_arn=uc.approved_rule.arn,
            order=5,
        )
        declare.actor(
            flow="promotion",
            step="an Approved package starts the deploy pipeline",
            principal=uc.events_role.arn,
            account=acct,
            origin=declare.AWS_SERVICE,
            calls=[declare.call("codepipeline:StartPipelineExecution", pipeline_arn)],
            order=6,
        )
        self._declare_pipeline_source(
            "promotion",
            "deploy pipeline",
            uc.deploy_pipeline_role,
            pipeline,
            m.git.inference_repo,
            "inference_source",
        )
        declare.actor(
            flow="promotion",
            step="deploy pipeline runs its builds and notifies the lead",
            principal=uc.deploy_pipeline_role.arn,
            account=acct,
            origin=declare.AWS_SERVICE,
            calls=[
                declare.call("codebuild:StartBuild", uc.deploy_project.arn),
                declare.call("codebuild:BatchGetBuilds", uc.deploy_project.arn),
                declare.call("codebuild:StartBuild", uc.smoke_project.arn),
                declare.call("sns:Publish", uc.approvals_topic.arn, why="approval request"),
                declare.call(
                    "kms:GenerateDataKey",
                    a.kms_key_arn,
                    context={
                        "kms:ViaService": f"sns.{region}.amazonaws.com",
                        "kms:EncryptionContext:aws:sns:topicArn": uc.approvals_topic.arn,
                    },
                    why="SNS encrypts the approval message with the topic's key as the caller",
                ),
            ],
            order=12,
        )
        source = artifact_key(pipeline, "inference_source")
        for i, env in enumerate(ENVIRONMENTS):
            deployer = deployer_role_arn(cfg, m.name, env)
            state = self._state_calls(env)
            self._declare_codebuild(
                "promotion",
                f"Deploy{env.capitalize()} build",
                uc._n("deploy"),
                uc.deploy_build_role,
                [
                    declare.call("https", PYPI, network_only=True, why="pip install mlops"),
                    declare.call(
                        "https", PULUMI_DOWNLOAD, network_only=True, why="install the Pulumi CLI"
                    ),
                    *state,
                    declare.call("sagemaker:ListModelPackages", packages, why="select the package"),
                    declare.call("sagemaker:DescribeModelPackage", packages),
                    declare.call(
                        "sts:AssumeRole", deployer, why=f"pulumi up as the {env} deployer"
                    ),
                    declare.call("sagemaker:UpdateModelPackage", packages, why="record promotion"),
                    declare.call("codepipeline:ListActionExecutions", pipeline_arn),
                ],
                order=100 + 100 * i,
                source_artifact=source,
            )
            self._declare_codebuild(
                "promotion",
                f"SmokeTest{env.capitalize()} build",
                uc._n("smoke-test"),
                uc.deploy_build_role,
                [*state[:2], declare.call("sts:AssumeRole", deployer, why="sign as the deployer")],
                # the signed request itself is a join with the stage's inference program:
                # mlops.rehearsal.scenarios adds it (the API's id is known only there)
                order=150 + 100 * i,
                source_artifact=source,
            )

    def _state_calls(self, env: str) -> list[dict[str, Any]]:
        """`pulumi login` + `stack select` of the inference repo's stacks in their backend."""
        from mlops import backends

        cfg = self._args.config
        bucket = backends.inference_backend_url(cfg).removeprefix("s3://").split("?", 1)[0]
        project = f"{self._args.manifest.name}-inference"
        return [
            declare.call("s3:ListBucket", f"arn:aws:s3:::{bucket}", why="pulumi login"),
            declare.call(
                "s3:GetObject",
                f"arn:aws:s3:::{bucket}/{backends.state_object_key(project, env)}",
                why="read the stack's state",
            ),
            declare.call(
                "s3:PutObject",
                f"arn:aws:s3:::{bucket}/{backends.state_object_key(project, env)}",
                why="write the stack's state",
            ),
        ]

    # --- people: approvals, and what they must never be able to do ---------------------------
    def _declare_people(self) -> None:
        """The lead passes the gates; data scientists (and builds) are refused every bypass."""
        from mlops.components.usecase_pipelines import APPROVAL_ACTION, GATES

        a, cfg = self._args, self._args.config
        uc: Any = self
        region, acct = cfg.region, cfg.account_id
        if a.lead_data_scientist_role_name is None or a.data_scientist_role_name is None:
            return
        lead = pulumi.Output.concat(f"arn:aws:iam::{acct}:role/", a.lead_data_scientist_role_name)
        scientist = pulumi.Output.concat(f"arn:aws:iam::{acct}:role/", a.data_scientist_role_name)
        pipeline_arn = f"arn:aws:codepipeline:{region}:{acct}:{uc._n('deploy')}"
        gates = {env: f"{pipeline_arn}/{gate}/{APPROVAL_ACTION}" for env, gate in GATES.items()}
        for i, (env, gate) in enumerate(gates.items()):
            declare.actor(
                flow="promotion",
                step=f"the lead approves {env}",
                principal=lead,
                account=acct,
                origin=declare.PUBLIC,
                calls=[
                    declare.call("codepipeline:GetPipelineState", pipeline_arn),
                    declare.call("codepipeline:PutApprovalResult", gate, why=f"approve {env}"),
                ],
                order=190 + 100 * i,
            )
        sm = f"arn:aws:sagemaker:{region}:{acct}"
        package = f"{sm}:model-package/{uc.group_name}/99"
        training = f"{sm}:pipeline/{uc._n('training', kind='sagemaker')}"
        deployers = [deployer_role_arn(cfg, uc.usecase, env) for env in ENVIRONMENTS]
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
                declare.call(
                    "codebuild:StartBuild", uc.deploy_project.arn, expect=deny,
                    why="run a deploy build with an overridden buildspec or environment",
                ),
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
            principal=uc.build_role.arn,
            account=acct,
            origin=self._vpc(),
            calls=[
                declare.call(
                    "codebuild:StartBuild", uc.deploy_project.arn, expect=deny,
                    why="start a deploy build",
                ),
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
