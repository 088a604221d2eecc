"""Names other stacks rely on, and the least-privilege policies of a use case's delivery roles
(JSON as Outputs); every statement is scoped to this use case's resources. Physical names come from
`mlops.naming`; these wrappers only pick the stack's naming context from its config."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pulumi

from mlops import backends, iam, naming
from mlops.components import packages
from mlops.config import PROJECT, StackConfig
from mlops.delivery import artifacts, policies, toolchain
from mlops.delivery.deployer import inference_secrets_alias
from mlops.naming import artifact_prefixes, names_for, object_context

if TYPE_CHECKING:
    from mlops.components.usecase_builds import DeliveryArgs


# --- names other stacks rely on (cross-account trust is by exact role ARN) ----------------------
def pulumi_state_bucket(cfg: StackConfig) -> str:
    """The shared Pulumi state bucket (mlops/backends.py): the deploy builds keep the inference
    repos' stack state there, next to the platform stacks they reference."""
    return backends.state_bucket(cfg)


def pulumi_backend_url(cfg: StackConfig) -> str:
    return backends.inference_backend_url(cfg)


model_package_group_name = naming.model_package_group_name
"""`mlops-<env>-<usecase>-models`: the same expression the governed training pipeline registers
into (`mlops.sagemaker_pipelines.PipelineSettings.model_package_group`)."""


def deploy_build_role_name(cfg: StackConfig, usecase: str, stage: str = "dev") -> str:
    """Role of the use case's deploy builds for `stage` (in dev): the only principal that stage's
    deployer trusts."""
    return naming.deploy_build_role_name(names_for(cfg, "dev"), usecase, stage)


def deployer_role_name(cfg: StackConfig, usecase: str, environment: str) -> str:
    return naming.deployer_role_name(names_for(cfg, environment), usecase)


def deployer_role_arn(cfg: StackConfig, usecase: str, environment: str) -> str:
    account = cfg.accounts.for_env(environment)
    return f"arn:aws:iam::{account}:role/{deployer_role_name(cfg, usecase, environment)}"


def _json(build, **values: Any) -> pulumi.Output[str]:
    import json

    return pulumi.Output.all(**values).apply(lambda v: json.dumps(build(**v), sort_keys=True))


def _artifacts(
    bucket: str,
    key: str,
    prefixes: Sequence[str] | None = None,
    *,
    own_objects: Sequence[str],
) -> list[dict[str, Any]]:
    """Read and write in the pipeline-artifacts bucket: under `prefixes` only (a use case's
    builds), or the whole bucket (None). The key decrypts and encrypts data keys only for the
    objects `own_objects` (the use case's prefixes, `own_key_context`): the shared buckets have no
    bucket key, so S3's encryption context is the object's ARN, and another use case's object
    stays undecryptable even if an S3 grant slips."""
    objects = (
        [f"arn:aws:s3:::{bucket}/{p}*" for p in prefixes]
        if prefixes
        else [f"arn:aws:s3:::{bucket}/*"]
    )
    listing = iam.statement(
        "ListArtifacts",
        "s3:ListBucket",
        f"arn:aws:s3:::{bucket}",
        condition={"StringLike": {"s3:prefix": [f"{p}*" for p in prefixes]}} if prefixes else None,
    )
    return [
        iam.statement(
            "Artifacts", ["s3:GetObject", "s3:PutObject", "s3:GetObjectVersion"], objects
        ),
        listing,
        iam.statement("ArtifactsBucketLocation", "s3:GetBucketLocation", f"arn:aws:s3:::{bucket}"),
        iam.statement("ArtifactKey", ["kms:Encrypt", "kms:DescribeKey"], key),
        iam.statement(
            "ArtifactKeyOwnObjects",
            ["kms:Decrypt", "kms:GenerateDataKey*"],
            key,
            condition={"StringLike": {S3_CONTEXT: sorted(own_objects)}},
        ),
    ]


S3_CONTEXT = "kms:EncryptionContext:aws:s3:arn"


def own_key_context(a: DeliveryArgs, bucket: str, models_bucket: str | None = None) -> list[str]:
    """The S3 encryption contexts (object ARN patterns) a use case's roles may use the artifacts
    key for: its prefixes in pipeline-artifacts and, given its bucket, `<usecase>/` in
    model-artifacts."""
    out = [object_context(bucket, p) for p in artifact_prefixes(a.ctx, a.usecase)]
    if models_bucket:
        out.append(object_context(models_bucket, f"{a.usecase}/"))
    return out


def _logs(log_group_arn: str) -> dict[str, Any]:
    return iam.statement(
        "Logs", ["logs:CreateLogStream", "logs:PutLogEvents"], [log_group_arn, f"{log_group_arn}:*"]
    )


def sagemaker_pipeline_policy(
    a: DeliveryArgs,
    group_name: str,
    group_arn: str,
    data_bucket: pulumi.Input[str] | None,
    data_key_arn: pulumi.Input[str] | None,
    model_artifacts_bucket: pulumi.Input[str] | None,
) -> pulumi.Output[str]:
    cfg = a.config
    sm = f"arn:aws:sagemaker:{cfg.region}:{cfg.account_id}"
    mine = a.n("")
    self_arn = f"arn:aws:iam::{cfg.account_id}:role/{a.n('sm-pipeline', kind='role')}"
    logs = f"arn:aws:logs:{cfg.region}:{cfg.account_id}:log-group:/aws/sagemaker"
    job_logs = [f"{logs}/{kind}{tail}" for kind in JOB_LOG_KINDS for tail in ("", ":*")]
    pipeline = a.n("training", kind="sagemaker")

    packages_arn = policies.model_packages_arn(cfg.region, cfg.account_id, group_name)

    def build(bucket: str, key: str, group_arn: str, models: str | None) -> list[iam.Statement]:
        return [
            *_artifacts(bucket, key, own_objects=own_key_context(a, bucket, models)),
            iam.statement(
                "RunOwnJobs",
                [
                    "sagemaker:CreateTrainingJob",
                    "sagemaker:DescribeTrainingJob",
                    "sagemaker:CreateProcessingJob",
                    "sagemaker:DescribeProcessingJob",
                    "sagemaker:CreateHyperParameterTuningJob",
                    "sagemaker:DescribeHyperParameterTuningJob",
                    "sagemaker:ListTrainingJobsForHyperParameterTuningJob",
                    "sagemaker:AddTags",
                ],
                [
                    f"{sm}:training-job/*",
                    f"{sm}:processing-job/*",
                    f"{sm}:hyper-parameter-tuning-job/*",
                ],
            ),
            iam.statement(
                "RegisterInOwnGroup",
                [
                    "sagemaker:CreateModelPackage",
                    "sagemaker:DescribeModelPackage",
                    "sagemaker:DescribeModelPackageGroup",
                    "sagemaker:ListModelPackages",
                ],
                [
                    group_arn,
                    packages_arn,
                ],
            ),
            iam.statement(
                "PassSelfToJobs",
                "iam:PassRole",
                self_arn,
                condition={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            ),
            iam.statement(
                "OwnPipeline",
                ["sagemaker:DescribePipeline", "sagemaker:ListPipelineExecutionSteps"],
                f"{sm}:pipeline/{mine}-*",
            ),
            *policies.vpc_network_interfaces(cfg.region, cfg.account_id, "sagemaker"),
            iam.statement(
                "JobLogs",
                ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                job_logs,
            ),
            *job_runtime_statements(cfg.region, cfg.account_id, key, pipeline),
            iam.statement("EcrLogin", "ecr:GetAuthorizationToken", "*"),
            iam.statement(
                "PullOwnImages",
                ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                f"arn:aws:ecr:{cfg.region}:{cfg.account_id}:repository/*",
            ),
        ]

    def with_data(
        data: str | None, data_key: str | None, models: str | None, **rest: str
    ) -> dict[str, Any]:
        statements = build(models=models, **rest)
        mine = a.usecase
        if data:
            statements.append(
                iam.statement(
                    "ReadOwnTrainingData",
                    ["s3:GetObject", "s3:ListBucket"],
                    [f"arn:aws:s3:::{data}", f"arn:aws:s3:::{data}/{mine}/*"],
                )
            )
        if data_key:
            statements.append(
                iam.statement("DataKey", ["kms:Decrypt", "kms:DescribeKey"], data_key)
            )
        if models:  # the Publish step writes <usecase>/models/ (the artifact contract)
            statements.append(artifacts.writer_statement(models, mine))
        return iam.document(statements)

    return _json(
        with_data,
        bucket=a.artifact_bucket,
        key=a.kms_key_arn,
        group_arn=group_arn,
        data=data_bucket,
        data_key=data_key_arn,
        models=model_artifacts_bucket,
    )


JOB_LOG_KINDS = ("ProcessingJobs", "TrainingJobs")
"""The log groups SageMaker writes the jobs' logs to (`/aws/sagemaker/<kind>`)."""
TRAINING_METRICS_NAMESPACE = "/aws/sagemaker/TrainingJobs"
"""Where training jobs publish the metric definitions the tuner optimises."""


def job_runtime_statements(
    region: str, account: str, key_arn: str, pipeline: str
) -> list[dict[str, Any]]:
    """What the pipeline role needs while its jobs run, beyond creating them: a KMS grant on the
    stack key so SageMaker can encrypt the job volumes (only for an AWS resource, only through
    SageMaker), the pipeline's experiment with one trial per execution and its trial components,
    and the training metrics in SageMaker's namespace only."""
    sm = f"arn:aws:sagemaker:{region}:{account}"
    return [
        iam.statement(
            "VolumeKeyGrants",
            "kms:CreateGrant",
            key_arn,
            condition={
                "Bool": {"kms:GrantIsForAWSResource": "true"},
                "StringEquals": {"kms:ViaService": f"sagemaker.{region}.amazonaws.com"},
            },
        ),
        iam.statement(
            "PipelineExperiment",
            [
                "sagemaker:CreateExperiment",
                "sagemaker:DescribeExperiment",
                "sagemaker:AddTags",
            ],
            f"{sm}:experiment/{pipeline}",
        ),
        iam.statement(
            # CreateTrial is also authorised on the experiment the trial joins (the pipeline's)
            "ExecutionTrials",
            [
                "sagemaker:CreateTrial",
                "sagemaker:DescribeTrial",
                "sagemaker:AssociateTrialComponent",
                "sagemaker:CreateTrialComponent",
                "sagemaker:DescribeTrialComponent",
                "sagemaker:UpdateTrialComponent",
                "sagemaker:AddTags",
            ],
            [
                f"{sm}:experiment/{pipeline}",
                f"{sm}:experiment-trial/*",
                f"{sm}:experiment-trial-component/*",
            ],
        ),
        iam.statement(
            "TrainingMetrics",
            "cloudwatch:PutMetricData",
            "*",
            condition={"StringEquals": {"cloudwatch:namespace": TRAINING_METRICS_NAMESPACE}},
        ),
    ]


def codebuild_policy(
    a: DeliveryArgs, pass_roles: Sequence[pulumi.Input[str]], sagemaker_pipeline: str
) -> pulumi.Output[str]:
    cfg = a.config
    sm = f"arn:aws:sagemaker:{cfg.region}:{cfg.account_id}"

    def build(bucket: str, key: str, logs: str, roles: list[str]) -> dict[str, Any]:
        return iam.document(
            *_artifacts(
                bucket,
                key,
                artifact_prefixes(a.ctx, a.usecase),
                own_objects=own_key_context(a, bucket),
            ),
            _logs(logs),
            # Test and TrainingPipeline builds run outside the VPC: no network-interface rights
            *packages.reader_statements(a.packages),
            iam.statement(
                "UpsertAndStartOwnPipeline",
                [
                    "sagemaker:CreatePipeline",
                    "sagemaker:UpdatePipeline",
                    "sagemaker:DescribePipeline",
                    "sagemaker:StartPipelineExecution",
                    "sagemaker:DescribePipelineExecution",
                    "sagemaker:AddTags",
                ],
                [
                    f"{sm}:pipeline/{sagemaker_pipeline}",
                    f"{sm}:pipeline/{sagemaker_pipeline}/*",
                ],
            ),
            iam.statement(
                # the Backtest step compares the candidate with the live model: the build looks up
                # the newest Approved package of its own group (read only)
                "ReadOwnApprovedPackages",
                ["sagemaker:ListModelPackages", "sagemaker:DescribeModelPackage"],
                [
                    f"{sm}:model-package-group/{model_package_group_name(a.ctx, a.usecase)}",
                    policies.model_packages_arn(
                        cfg.region, cfg.account_id, model_package_group_name(a.ctx, a.usecase)
                    ),
                ],
            ),
            iam.statement(
                "PassPipelineRole",
                "iam:PassRole",
                roles,
                condition={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            ),
            iam.statement(
                "Reports",
                [
                    "codebuild:CreateReportGroup",
                    "codebuild:CreateReport",
                    "codebuild:UpdateReport",
                    "codebuild:BatchPutTestCases",
                ],
                f"arn:aws:codebuild:{cfg.region}:{cfg.account_id}:report-group/{a.n('')}-*",
            ),
        )

    return _json(
        build,
        bucket=a.artifact_bucket,
        key=a.kms_key_arn,
        logs=a.build_logs_arn,
        roles=pulumi.Output.all(*pass_roles),
    )


def image_build_policy(a: DeliveryArgs) -> pulumi.Output[str]:
    """The Images build's role: read its source artifacts, write its logs, read the package index
    (for the BuildKit secret), push to the use case's two ECR repositories. It starts nothing and
    passes no role (the Test and TrainingPipeline builds keep their own role)."""
    from mlops.components.images import push_statements

    def build(bucket: str, key: str, logs: str) -> dict[str, Any]:
        return iam.document(
            *_artifacts(
                bucket,
                key,
                artifact_prefixes(a.ctx, a.usecase),
                own_objects=own_key_context(a, bucket),
            ),
            _logs(logs),
            *packages.reader_statements(a.packages),
            *push_statements(a.ctx, a.usecase, key),
        )

    return _json(build, bucket=a.artifact_bucket, key=a.kms_key_arn, logs=a.build_logs_arn)


def codepipeline_policy(
    a: DeliveryArgs, projects: Sequence[str], notify_topic: str | None = None
) -> pulumi.Output[str]:
    """`projects`: CodeBuild project names this pipeline may run; `notify_topic`: SNS topic name
    the manual approvals publish to."""
    cfg = a.config
    project_arns = [policies.codebuild_project_arn(cfg.region, cfg.account_id, p) for p in projects]

    def build(
        bucket: str, key: str, projects: list[str], connection: str | None, repos: list[str]
    ) -> dict[str, Any]:
        statements = [
            *_artifacts(
                bucket,
                key,
                artifact_prefixes(a.ctx, a.usecase),
                own_objects=own_key_context(a, bucket),
            ),
            iam.statement(
                "RunOwnBuilds", ["codebuild:StartBuild", "codebuild:BatchGetBuilds"], projects
            ),
        ]
        if connection:
            statements.append(policies.connection_use(connection))
        if notify_topic:
            topic = f"arn:aws:sns:{cfg.region}:{cfg.account_id}:{notify_topic}"
            statements.append(iam.statement("NotifyApprovers", "sns:Publish", topic))
            # the topic is encrypted with the artifacts key: SNS makes the data key as the caller
            statements.append(
                iam.statement(
                    "NotifyApproversKey",
                    ["kms:GenerateDataKey", "kms:Decrypt"],
                    key,
                    condition={
                        "StringEquals": {
                            "kms:ViaService": f"sns.{cfg.region}.amazonaws.com",
                            "kms:EncryptionContext:aws:sns:topicArn": topic,
                        }
                    },
                )
            )
        if repos:
            statements.append(
                iam.statement(
                    "ReadRepos",
                    [
                        "codecommit:GetBranch",
                        "codecommit:GetCommit",
                        "codecommit:UploadArchive",
                        "codecommit:GetUploadArchiveStatus",
                    ],
                    repos,
                )
            )
        return iam.document(*statements)

    repos = [
        f"arn:aws:codecommit:{cfg.region}:{cfg.account_id}:{name}"
        for name in (
            (a.manifest.git.training_repo, a.manifest.git.inference_repo)
            if a.manifest.git.provider == "codecommit"
            else ()
        )
    ]
    return _json(
        build,
        bucket=a.artifact_bucket,
        key=a.kms_key_arn,
        projects=project_arns,
        connection=a.git_connection_arn,
        repos=repos,
    )


def deploy_build_policy(
    a: DeliveryArgs,
    target_roles: Sequence[str],
    deploy_pipeline: str,
    group_name: str,
    group_arn: str,
    secret_arns: Sequence[pulumi.Input[str]] = (),
    stage: str = "*",
) -> pulumi.Output[str]:
    """The deploy and smoke-test builds of one `stage`: its deployer (`target_roles`) and its own
    inference stack's state only."""
    cfg = a.config
    state = pulumi_state_bucket(cfg)
    own_state = [
        f"arn:aws:s3:::{state}/{k}"
        for k in backends.stack_object_keys(f"{a.usecase}-inference", stage)
    ]
    pipeline_arn = f"arn:aws:codepipeline:{cfg.region}:{cfg.account_id}:{deploy_pipeline}"

    packages_arn = policies.model_packages_arn(cfg.region, cfg.account_id, group_name)

    def build(
        bucket: str, key: str, logs: str, group_arn: str, secrets: list[str]
    ) -> dict[str, Any]:
        return iam.document(
            *_artifacts(
                bucket,
                key,
                artifact_prefixes(a.ctx, a.usecase),
                own_objects=own_key_context(a, bucket, artifacts.registry_bucket(a.ctx)),
            ),
            _logs(logs),
            # no VPC statements: the deploy and smoke-test builds run outside the VPC
            *packages.reader_statements(a.packages),
            toolchain.reader_statement(a.packages),
            iam.statement("AssumeOwnDeployers", "sts:AssumeRole", sorted(target_roles)),
            iam.statement(
                "ReadAndRecordPromotions",
                [
                    "sagemaker:DescribeModelPackage",
                    "sagemaker:ListModelPackages",
                    "sagemaker:UpdateModelPackage",
                    "sagemaker:DescribeModelPackageGroup",
                ],
                [
                    group_arn,
                    packages_arn,
                ],
            ),
            iam.statement(
                "ReadApprover",
                [
                    "codepipeline:ListActionExecutions",
                    "codepipeline:GetPipelineExecution",
                ],
                pipeline_arn,
            ),
            # the shared backend also holds the platform's stacks and other use cases': write
            # only this use case's inference stacks, read the platform stacks they reference
            iam.statement("PulumiStateList", "s3:ListBucket", f"arn:aws:s3:::{state}"),
            iam.statement(
                "PulumiStateRead",
                ["s3:GetObject", "s3:GetObjectVersion"],
                [
                    f"arn:aws:s3:::{state}/{backends.META_KEY}",
                    f"arn:aws:s3:::{state}/{backends.state_object_key(PROJECT, '*')}",
                    *own_state,
                ],
            ),
            iam.statement("PulumiStateWriteOwn", ["s3:PutObject", "s3:DeleteObject"], own_state),
            iam.statement(
                # only through S3 and only for the state bucket's objects (its encryption context:
                # the bucket ARN with a bucket key, the object's without): any key by ARN, since
                # the state key is the bootstrap's, but never another bucket's objects
                "PulumiStateKey",
                ["kms:Decrypt", "kms:GenerateDataKey"],
                f"arn:aws:kms:{cfg.region}:{cfg.account_id}:key/*",
                condition={
                    "StringEquals": {"kms:ViaService": f"s3.{cfg.region}.amazonaws.com"},
                    "StringLike": {
                        S3_CONTEXT: [f"arn:aws:s3:::{state}", f"arn:aws:s3:::{state}/*"]
                    },
                },
            ),
            # `deploy verify`: the model data's SHA-256 against the one registered (the artifact
            # contract; the bucket's key is the artifacts key of `ArtifactKey`)
            artifacts.verifier_statement(artifacts.registry_bucket(a.ctx), a.usecase),
            # `deploy snowflake-key`: only its own secrets (Snowflake's private key), by ARN
            *(
                [
                    iam.statement(
                        "ReadOwnDeploySecrets", "secretsmanager:GetSecretValue", sorted(secrets)
                    ),
                    iam.statement(
                        # the secrets are encrypted with the artifacts key
                        "ReadOwnDeploySecretsKey",
                        "kms:Decrypt",
                        key,
                        condition={
                            "StringEquals": {
                                "kms:ViaService": f"secretsmanager.{cfg.region}.amazonaws.com",
                                "kms:EncryptionContext:SecretARN": sorted(secrets),
                            }
                        },
                    ),
                ]
                if secrets
                else []
            ),
            iam.statement(
                # `--secrets-provider awskms://alias/...`: the CLI calls KMS directly
                "PulumiSecretsKey",
                ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
                f"arn:aws:kms:{cfg.region}:{cfg.account_id}:key/*",
                condition={
                    "ForAnyValue:StringEquals": {
                        "kms:ResourceAliases": inference_secrets_alias(cfg)
                    }
                },
            ),
        )

    return _json(
        build,
        bucket=a.artifact_bucket,
        key=a.kms_key_arn,
        logs=a.build_logs_arn,
        group_arn=group_arn,
        secrets=pulumi.Output.all(*secret_arns),
    )


def start_pipeline_policy(pipeline_arn: pulumi.Input[str]) -> pulumi.Output[str]:
    return _json(
        lambda arn: iam.document(
            iam.statement("StartPipeline", "codepipeline:StartPipelineExecution", arn)
        ),
        arn=pipeline_arn,
    )


# --- approval integrity: explicit denies --------------------------------------------------------
PENDING = "PendingManualApproval"
STATUS_KEY = "sagemaker:ModelApprovalStatus"
PACKAGE_WRITES = ["sagemaker:CreateModelPackage", "sagemaker:UpdateModelPackage"]
# What changes or drives the governed SageMaker pipeline (only CI, the build role, may).
GOVERNED_PIPELINE_ACTIONS = [
    "sagemaker:CreatePipeline",
    "sagemaker:UpdatePipeline",
    "sagemaker:DeletePipeline",
    "sagemaker:StartPipelineExecution",
    "sagemaker:RetryPipelineExecution",
    "sagemaker:UpdatePipelineExecution",
    "sagemaker:SendPipelineExecutionStepSuccess",
    "sagemaker:SendPipelineExecutionStepFailure",
]


def _status_other_than_pending() -> dict[str, dict[str, str]]:
    """The request sets an approval status and it is not PendingManualApproval (a request with
    no status registers as PendingManualApproval)."""
    return {"Null": {STATUS_KEY: "false"}, "StringNotEquals": {STATUS_KEY: PENDING}}


def registry_approval_guard(packages_arn: str, lead_arns: Sequence[str]) -> dict[str, Any]:
    """Model package group policy statement: nobody but the use case's leads may create or update
    a package with a status other than PendingManualApproval (an explicit Deny in the resource
    policy binds every principal of every account, the build and pipeline roles included)."""
    condition: dict[str, dict[str, Any]] = _status_other_than_pending()
    if lead_arns:
        leads = sorted(lead_arns)
        condition["ArnNotEquals"] = {"aws:PrincipalArn": leads[0] if len(leads) == 1 else leads}
    return iam.statement(
        "OnlyTheLeadSetsApprovalStatus",
        PACKAGE_WRITES,
        packages_arn,
        effect="Deny",
        principal={"AWS": "*"},
        condition=condition,
    )


def data_scientist_deny_policy(
    deploy_pipeline_arn: str, training_pipeline_arn: str, packages_arn: str
) -> dict[str, Any]:
    """Explicit denies (win over any allow) attached to the data scientists' role for one use
    case: no promotion gate, no package status but PendingManualApproval, and the governed
    pipeline changed or started only through CI (the build role)."""
    return iam.document(
        *policies.deny_approval_statements(deploy_pipeline_arn),
        iam.statement(
            "NoApprovalStatusByDataScientists",
            PACKAGE_WRITES,
            packages_arn,
            effect="Deny",
            condition=_status_other_than_pending(),
        ),
        iam.statement(
            "GovernedPipelineOnlyThroughCi",
            GOVERNED_PIPELINE_ACTIONS,
            [training_pipeline_arn, f"{training_pipeline_arn}/*"],
            effect="Deny",
        ),
    )


# --- the permissions boundary of a use case's inference roles -----------------------------------
# What the inference stack's roles (serving Lambdas, workflow, API, model, analytics) may use at
# most; each role's own policy narrows it to its resources.
BOUNDARY_SERVICES = [
    "logs:*",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:Describe*",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterfacePermission",
    "xray:*",
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:GenerateDataKey*",
    "kms:ReEncrypt*",
    "kms:DescribeKey",
    "secretsmanager:GetSecretValue",
    "sagemaker:InvokeEndpoint",
    "states:StartSyncExecution",
    "states:StartExecution",
    "lambda:InvokeFunction",
    "lambda:GetFunctionConfiguration",
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:PutObject",
    "s3:ListBucket",
    "s3:GetBucketLocation",
    "s3:AbortMultipartUpload",
    "ecr:GetAuthorizationToken",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchCheckLayerAvailability",
    "cloudwatch:PutMetricData",
    "firehose:*",
]
BOUNDARY_DENIED = [
    "iam:*",
    "sts:AssumeRole",
    "sts:AssumeRoleWithWebIdentity",
    "sts:AssumeRoleWithSAML",
    "organizations:*",
    "account:*",
    "kms:CreateGrant",
    "kms:PutKeyPolicy",
    "kms:ScheduleKeyDeletion",
    "kms:DisableKey",
    "cloudtrail:StopLogging",
    "cloudtrail:DeleteTrail",
    "cloudtrail:UpdateTrail",
]


def boundary_policy() -> dict[str, Any]:
    """The boundary every role a use case's deployer creates must carry: whatever the role's own
    policy grants, it never manages IAM, assumes another role, administers or grants keys, or
    stops the audit trail (so a deployer cannot mint a role more powerful than itself)."""
    return iam.document(
        iam.statement("ServingServices", BOUNDARY_SERVICES, "*"),
        iam.statement("NoEscalation", BOUNDARY_DENIED, "*", effect="Deny"),
    )
