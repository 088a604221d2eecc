"""`mlops:usecase:DeployPipeline` — a use case's promotion path (dev stack).

An EventBridge rule: a package of *this* group becomes Approved (and was never deployed) → the
deploy pipeline: DeployDev → SmokeTestDev → ApproveStaging → DeployStaging → SmokeTestStaging →
ApproveProd → DeployProd → SmokeTestProd. Each deploy stage runs the inference repo's `pulumi up`
as that stage's per-use-case deployer (`DeploymentTarget`), and each smoke test checks the
stage's answer against the repo's response schema; only the use case's leads may pass a gate —
through the use case's approver role, which they assume from IAM Identity Center
(`mlops.components.approvers`) — and the approver is read back from CodePipeline and recorded on
the model package (`mlops.delivery.promotion`). The runtime actors of the flow are declared here;
the people and the bypasses that must be refused in `mlops.components.usecase_actors`.

The deploy and smoke-test builds run outside the VPC, in CodeBuild's own network: they touch
nothing VPC-private — only public, IAM-authorised AWS APIs (STS, SageMaker's registry,
CodePipeline, the S3 state backend, KMS, and through the assumed deployer IAM, Lambda, API
Gateway, Step Functions, CloudWatch, Firehose, Application Auto Scaling) and the REGIONAL decision
API (AWS_IAM auth) — plus the package index and the Pulumi CLI download. In the VPC they would
need a NAT or an interface endpoint per service; outside it they need neither, and no customer
data store is reachable from them (need-to-know bucket policies name no build role).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops import iam
from mlops.components import usecase_roles as roles
from mlops.components.approvers import (
    APPROVAL_ACTION,
    UseCaseApprovers,
    UseCaseApproversArgs,
    deploy_pipeline_arn,
)
from mlops.components.approvers import GATES as _GATES
from mlops.components.rollback_trigger import RollbackTrigger, RollbackTriggerArgs
from mlops.components.usecase_actors import People, declare_people
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
from mlops.components.usecase_roles import deploy_build_role_name, deployer_role_arn
from mlops.config import ENVIRONMENTS
from mlops.delivery import artifacts, buildspecs, toolchain
from mlops.delivery.deploy import SNOWFLAKE_KEY_SECRET, config_args, endpoint_config
from mlops.delivery.deployer import inference_secrets_provider
from mlops.delivery.events import approved_package_pattern
from mlops.delivery.rollback import NONE, PACKAGE_VARIABLE, STAGE_VARIABLE
from mlops.naming import stage_part
from mlops.rehearsal import declare

GATES = {"staging": _GATES[0], "prod": _GATES[1]}


def only_in(env_name: str) -> dict[str, Any]:
    """Enter a stage of `env_name` in an ordinary run and in a rollback of `env_name`; skip it in
    a rollback of another stage (VariableCheck on ROLLBACK_STAGE; a failed entry check SKIPs)."""
    rule = {
        "name": f"RollbackOf{env_name.capitalize()}OrNone",
        "rule_type_id": {
            "category": "Rule", "owner": "AWS", "provider": "VariableCheck", "version": "1",
        },
        "configuration": {
            "Variable": f"#{{variables.{STAGE_VARIABLE}}}",
            "Operator": "MATCHES",
            "Value": f"^({NONE}|{env_name})$",
        },
    }  # fmt: skip
    return {"condition": {"result": "SKIP", "rules": [rule]}}


@dataclass(frozen=True, kw_only=True)
class DeployPipelineArgs:
    delivery: DeliveryArgs
    model_package_group_name: pulumi.Input[str]
    group_name: str
    group_arn: str
    lead_data_scientist_role_name: pulumi.Input[str] | None = None
    data_scientist_role_name: pulumi.Input[str] | None = None
    pulumi_backend_url: str | None = None
    """Backend the deploy builds `pulumi login` to (default: dev's state bucket, docs/deploy.md)."""
    pulumi_version: str = "3.272.0"


class DeployPipeline(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: DeployPipelineArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:usecase:DeployPipeline", name, None, opts)
        self._name, self._args, a = name, args, args.delivery
        self._child = moved_children(self, opts)
        self._tags = dict(a.tags)
        self.pipeline_name = a.n("deploy")
        self._build_pipeline()
        self._build_trigger()
        self.rollback = RollbackTrigger(
            f"{name}-rollback",
            RollbackTriggerArgs(
                delivery=a,
                model_package_group_name=args.model_package_group_name,
                group_name=args.group_name,
                group_arn=args.group_arn,
                pipeline_name=self.pipeline_name,
                pipeline_arn=deploy_pipeline_arn(a.ctx, self.pipeline_name),
            ),
            opts=self._child,
        )
        self._build_approvals()
        self._declare_promotion()
        self._declare_people()
        self.register_outputs(
            {"name": self.pipeline.name, "approved_rule": self.approved_rule.name}
        )

    # --- the pipeline ---------------------------------------------------------------------------
    def _build_pipeline(self) -> None:
        args, a = self._args, self._args.delivery
        m, cfg = a.manifest, a.config
        # Snowflake's key-pair private key for the inference program's Snowflake provider: a
        # secret whose value is set out of band; the deploy build reads it only when the stage's
        # config names a Snowflake account (`deploy snowflake-key`), never from plaintext env.
        secret_name = a.n(SNOWFLAKE_KEY_SECRET)
        self.snowflake_key = aws.secretsmanager.Secret(
            f"{self._name}-snowflake-key",
            name=secret_name,
            description=(
                f"{m.name}: Snowflake private key (PEM) of the ingest user, value set out of band "
                f"(aws secretsmanager put-secret-value --secret-id {secret_name})"
            ),
            kms_key_id=a.kms_key_arn,
            recovery_window_in_days=7,
            tags=self._tags,
            opts=self._child,
        )
        # one deploy-build role per stage, each able to assume only that stage's deployer and
        # write only that stage's stack: a dev build can never deploy to prod
        self.deploy_build_roles = {
            env: role(
                stage_part(f"{self._name}-deploy-build", env),
                deploy_build_role_name(cfg, m.name, env),
                iam.service_trust("codebuild.amazonaws.com", source_account=cfg.account_id),
                roles.deploy_build_policy(
                    a,
                    [deployer_role_arn(cfg, m.name, env)],
                    self.pipeline_name,
                    args.group_name,
                    args.group_arn,
                    secret_arns=[self.snowflake_key.arn],
                    stage=env,
                ),
                self._tags,
                self._child,
            )
            for env in ENVIRONMENTS
        }
        self.deploy_build_role = self.deploy_build_roles["dev"]
        env = {
            "USECASE": m.name,
            "MODEL_PACKAGE_GROUP": args.model_package_group_name,
            "DEPLOY_PIPELINE_NAME": self.pipeline_name,
            "PULUMI_BACKEND_URL": args.pulumi_backend_url or roles.pulumi_backend_url(cfg),
            "PULUMI_VERSION": args.pulumi_version,
            "PULUMI_SECRETS_PROVIDER": inference_secrets_provider(cfg),
            "MODEL_ARTIFACT_BUCKET": artifacts.registry_bucket(a.ctx),
            "SNOWFLAKE_KEY_SECRET_ID": secret_name,  # the secret's name, never its value
        }
        # outside the VPC (module docstring): public AWS APIs and the package index only; one
        # deploy and one smoke-test project per stage, each running as that stage's role
        projects = {
            (part, stage): codebuild_project(
                stage_part(f"{self._name}-{part}", stage),
                a,
                stage_part(part, stage),
                spec,
                self.deploy_build_roles[stage],
                env,
                self._tags,
                self._child,
                in_vpc=False,
            )
            for part, spec in (
                ("deploy", buildspecs.deploy()),
                ("smoke-test", buildspecs.smoke_test()),
            )
            for stage in ENVIRONMENTS
        }
        self.deploy_projects = {stage: projects["deploy", stage] for stage in ENVIRONMENTS}
        self.smoke_projects = {stage: projects["smoke-test", stage] for stage in ENVIRONMENTS}
        self.deploy_project = self.deploy_projects["dev"]
        self.smoke_project = self.smoke_projects["dev"]
        self.approvals_topic = aws.sns.Topic(
            f"{self._name}-approvals",
            name=a.n("approvals"),
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
        self.pipeline_role = role(
            f"{self._name}-deploy-pipeline",
            a.n("deploy-pipeline", kind="role"),
            iam.service_trust("codepipeline.amazonaws.com"),
            roles.codepipeline_policy(
                a,
                [
                    a.n(stage_part(part, env))
                    for env in ENVIRONMENTS
                    for part in ("deploy", "smoke-test")
                ],
                a.n("approvals"),
            ),
            self._tags,
            self._child,
        )

        def stage_env(env_name: str, gate: str | None) -> list[dict[str, str]]:
            stack = m.stacks.for_env(env_name)
            endpoint = stack.endpoint.model_dump(mode="json")
            serving = {  # the manifest is the one source of each stage's serving settings
                **endpoint_config(endpoint),
                "functionConcurrency": str(stack.function_concurrency),
            }
            return [
                {"name": "STAGE", "value": env_name},
                {"name": "TARGET_ROLE_ARN", "value": deployer_role_arn(cfg, m.name, env_name)},
                {"name": "APPROVAL_ACTION", "value": f"{gate}/{APPROVAL_ACTION}" if gate else ""},
                {"name": "PIPELINE_EXECUTION_ID", "value": "#{codepipeline.PipelineExecutionId}"},
                {"name": "ENDPOINT_CONFIG", "value": config_args(serving)},
                {"name": PACKAGE_VARIABLE, "value": f"#{{variables.{PACKAGE_VARIABLE}}}"},
                {"name": STAGE_VARIABLE, "value": f"#{{variables.{STAGE_VARIABLE}}}"},
            ]

        def approval(env_name: str) -> aws.codepipeline.PipelineStageArgs:
            return aws.codepipeline.PipelineStageArgs(
                name=GATES[env_name],
                before_entry=only_in(env_name),
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

        def smoke(env_name: str, gate: str | None) -> aws.codepipeline.PipelineStageArgs:
            title = env_name.capitalize()
            return aws.codepipeline.PipelineStageArgs(
                name=f"SmokeTest{title}",
                before_entry=only_in(env_name),
                actions=[
                    build_action(
                        f"SmokeTest{title}",
                        self.smoke_projects[env_name],
                        "inference_source",
                        stage_env(env_name, gate),
                    )
                ],
            )

        def deploy(env_name: str, gate: str | None) -> aws.codepipeline.PipelineStageArgs:
            title = env_name.capitalize()
            return aws.codepipeline.PipelineStageArgs(
                name=f"Deploy{title}",
                before_entry=only_in(env_name),
                actions=[
                    build_action(
                        f"Deploy{title}",
                        self.deploy_projects[env_name],
                        "inference_source",
                        stage_env(env_name, gate),
                    )
                ],
            )

        self.pipeline = aws.codepipeline.Pipeline(
            f"{self._name}-deploy-pipeline",
            name=self.pipeline_name,
            pipeline_type="V2",
            # QUEUED, not SUPERSEDED: a second trigger (e.g. a metadata update event) must never
            # cancel an execution that is waiting for the lead's approval; it queues and then
            # stops at DeployDev's select ("no Approved, undeployed model package").
            execution_mode="QUEUED",
            role_arn=self.pipeline_role.arn,
            artifact_stores=[artifact_store(a)],
            # a rollback (mlops.delivery.rollback) names the package and the one stage it deploys
            variables=[
                aws.codepipeline.PipelineVariableArgs(
                    name=PACKAGE_VARIABLE,
                    default_value=NONE,
                    description="rollback only: the model package to deploy",
                ),
                aws.codepipeline.PipelineVariableArgs(
                    name=STAGE_VARIABLE,
                    default_value=NONE,
                    description="rollback only: the one stage whose gate, deploy and smoke run",
                ),
            ],
            stages=[
                aws.codepipeline.PipelineStageArgs(
                    name="Source",
                    actions=[
                        source_action(a, m.git.inference_repo, "inference_source", detect=False)
                    ],
                ),
                deploy("dev", None),
                smoke("dev", None),
                approval("staging"),
                deploy("staging", GATES["staging"]),
                smoke("staging", GATES["staging"]),
                approval("prod"),
                deploy("prod", GATES["prod"]),
                smoke("prod", GATES["prod"]),
            ],
            tags=self._tags,
            opts=self._child,
        )

    # --- trigger on approval ------------------------------------------------------------------
    def _build_trigger(self) -> None:
        a = self._args.delivery
        pattern = pulumi.Output.from_input(self._args.model_package_group_name).apply(
            lambda group: json.dumps(approved_package_pattern(group), sort_keys=True)
        )
        self.events_role = role(
            f"{self._name}-approved-events",
            a.n("approved-events", kind="role"),
            iam.service_trust("events.amazonaws.com"),
            roles.start_pipeline_policy(self.pipeline.arn),
            self._tags,
            self._child,
        )
        self.approved_rule = aws.cloudwatch.EventRule(
            f"{self._name}-approved-rule",
            name=a.n("approved"),
            description=f"An Approved model package of {a.usecase} starts its deploy pipeline",
            event_pattern=pattern,
            tags=self._tags,
            opts=self._child,
        )
        self.approved_target = aws.cloudwatch.EventTarget(
            f"{self._name}-approved-target",
            rule=self.approved_rule.name,
            arn=self.pipeline.arn,
            role_arn=self.events_role.arn,
            opts=pulumi.ResourceOptions(parent=self.approved_rule),
        )

    # --- who may approve ------------------------------------------------------------------------
    def _build_approvals(self) -> None:
        """The use case's own approver role (mlops.components.approvers): its leads assume it from
        Identity Center; nothing is attached to the shared Studio roles."""
        args, a = self._args, self._args.delivery
        self.approvers = UseCaseApprovers(
            f"{self._name}-approvers",
            UseCaseApproversArgs(
                names=a.ctx,
                usecase=a.usecase,
                leads=tuple(a.manifest.lead_people(a.config)),
                pipeline_name=self.pipeline_name,
                group_name=args.group_name,
                tags=self._tags,
            ),
            opts=self._child,
        )
        self.approver_role = self.approvers.role

    # --- runtime actors: the promotion flow -----------------------------------------------------
    def _declare_promotion(self) -> None:
        args, a = self._args, self._args.delivery
        m, cfg = a.manifest, a.config
        region, acct = cfg.region, cfg.account_id
        pipeline = self.pipeline_name
        pipeline_arn = f"arn:aws:codepipeline:{region}:{acct}:{pipeline}"
        packages = args.group_arn.replace("model-package-group/", "model-package/") + "/*"
        declare.service_assumes(
            flow="promotion",
            step="an Approved package: EventBridge takes the rule's role",
            service="events.amazonaws.com",
            role_arn=self.events_role.arn,
            account=acct,
            source_arn=self.approved_rule.arn,
            order=5,
        )
        declare.actor(
            flow="promotion",
            step="an Approved package starts the deploy pipeline",
            principal=self.events_role.arn,
            account=acct,
            origin=declare.AWS_SERVICE,
            calls=[declare.call("codepipeline:StartPipelineExecution", pipeline_arn)],
            order=6,
        )
        declare_pipeline_source(
            a,
            "promotion",
            "deploy pipeline",
            self.pipeline_role,
            pipeline,
            m.git.inference_repo,
            "inference_source",
        )
        declare.actor(
            flow="promotion",
            step="deploy pipeline runs its builds and notifies the lead",
            principal=self.pipeline_role.arn,
            account=acct,
            origin=declare.AWS_SERVICE,
            calls=[
                *[
                    declare.call(action, project.arn)
                    for env in ENVIRONMENTS
                    for project in (self.deploy_projects[env], self.smoke_projects[env])
                    for action in ("codebuild:StartBuild", "codebuild:BatchGetBuilds")
                ],
                declare.call("sns:Publish", self.approvals_topic.arn, why="approval request"),
                declare.call(
                    "kms:GenerateDataKey",
                    a.kms_key_arn,
                    context={
                        "kms:ViaService": f"sns.{region}.amazonaws.com",
                        "kms:EncryptionContext:aws:sns:topicArn": self.approvals_topic.arn,
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
            declare_codebuild(
                a,
                "promotion",
                f"Deploy{env.capitalize()} build",
                a.n(stage_part("deploy", env)),
                self.deploy_build_roles[env],
                [
                    *install_calls(a, "pip install the inference repo and mlops-platform"),
                    *toolchain.install_calls(a.packages),
                    *state,
                    declare.call("sagemaker:ListModelPackages", packages, why="select the package"),
                    declare.call("sagemaker:DescribeModelPackage", packages),
                    declare.call(
                        "s3:GetObject",
                        "package:model-data",
                        why="verify the model data's SHA-256 against the registered one",
                    ),
                    declare.call(
                        "secretsmanager:GetSecretValue",
                        self.snowflake_key.arn,
                        why="Snowflake's private key, when the stage's config names an account",
                    ),
                    declare.call(
                        "kms:Decrypt",
                        a.kms_key_arn,
                        why="Secrets Manager decrypts the Snowflake key as the caller",
                        context={
                            "kms:ViaService": f"secretsmanager.{cfg.region}.amazonaws.com",
                            "kms:EncryptionContext:SecretARN": self.snowflake_key.arn,
                            "aws:ViaAWSService": True,
                        },
                        destination="secretsmanager",
                    ),
                    declare.call(
                        "sts:AssumeRole", deployer, why=f"pulumi up as the {env} deployer"
                    ),
                    declare.call("sagemaker:UpdateModelPackage", packages, why="record promotion"),
                    declare.call("codepipeline:ListActionExecutions", pipeline_arn),
                ],
                order=100 + 100 * i,
                source_artifact=source,
                in_vpc=False,
            )
            declare_codebuild(
                a,
                "promotion",
                f"SmokeTest{env.capitalize()} build",
                a.n(stage_part("smoke-test", env)),
                self.deploy_build_roles[env],
                [
                    *toolchain.install_calls(a.packages),
                    *state[:2],
                    declare.call("sts:AssumeRole", deployer, why="sign as the deployer"),
                ],
                # the signed request itself is a join with the stage's inference program:
                # mlops.rehearsal.scenarios adds it (the API's id is known only there)
                order=150 + 100 * i,
                source_artifact=source,
                in_vpc=False,
            )

        # a stage's deploy build can reach no other stage: neither its deployer nor its stack
        for i, env in enumerate(ENVIRONMENTS):
            others = [o for o in ENVIRONMENTS if o != env]
            declare.actor(
                flow="attacks",
                step=f"the {env} deploy build deploys to another stage",
                principal=self.deploy_build_roles[env].arn,
                account=acct,
                origin=declare.AWS_SERVICE,
                calls=[
                    *[
                        declare.call(
                            "sts:AssumeRole",
                            deployer_role_arn(cfg, m.name, other),
                            expect="deny",
                            why=f"pulumi up as the {other} deployer",
                        )
                        for other in others
                    ],
                    *[
                        declare.call(
                            "s3:PutObject",
                            call["resource"],
                            expect="deny",
                            why=f"overwrite the {other} stack's state",
                        )
                        for other in others
                        for call in self._state_calls(other)
                        if call["action"] == "s3:PutObject"
                    ],
                ],
                order=930 + i,
            )

    def _state_calls(self, env: str) -> list[Mapping[str, Any]]:
        """`pulumi login` + `stack select` of the inference repo's stacks in their backend."""
        from mlops import backends

        a = self._args.delivery
        bucket = backends.inference_backend_url(a.config).removeprefix("s3://").split("?", 1)[0]
        project = f"{a.usecase}-inference"
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
        args, a = self._args, self._args.delivery
        declare_people(
            People(
                delivery=a,
                pipeline_name=self.pipeline_name,
                group_name=args.group_name,
                group_arn=args.group_arn,
                deploy_project_arns=tuple(p.arn for p in self.deploy_projects.values()),
                leads=tuple(a.manifest.lead_people(a.config)),
                lead_studio_role_name=args.lead_data_scientist_role_name,
                data_scientist_role_name=args.data_scientist_role_name,
            )
        )
