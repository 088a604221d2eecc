"""Names other stacks rely on, and the least-privilege policies of a use case's delivery roles
(JSON as Outputs); every statement is scoped to this use case's resources. Physical names come from
`mlops.naming`; these wrappers only pick the stack's naming context from its config."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pulumi

from mlops import backends, naming
from mlops.components import packages
from mlops.config import PROJECT, StackConfig
from mlops.delivery import artifacts, toolchain
from mlops.delivery import iam as docs
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
    listing: dict[str, Any] = {
        "Sid": "ListArtifacts",
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": f"arn:aws:s3:::{bucket}",
    }
    if prefixes:
        listing["Condition"] = {"StringLike": {"s3:prefix": [f"{p}*" for p in prefixes]}}
    return [
        {
            "Sid": "Artifacts",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:GetObjectVersion"],
            "Resource": objects,
        },
        listing,
        {
            "Sid": "ArtifactsBucketLocation",
            "Effect": "Allow",
            "Action": "s3:GetBucketLocation",
            "Resource": f"arn:aws:s3:::{bucket}",
        },
        {
            "Sid": "ArtifactKey",
            "Effect": "Allow",
            "Action": ["kms:Encrypt", "kms:DescribeKey"],
            "Resource": key,
        },
        {
            "Sid": "ArtifactKeyOwnObjects",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": key,
            "Condition": {"StringLike": {S3_CONTEXT: sorted(own_objects)}},
        },
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
    return {
        "Sid": "Logs",
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": [log_group_arn, f"{log_group_arn}:*"],
    }


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

    packages_arn = docs.model_packages_arn(cfg.region, cfg.account_id, group_name)

    def build(bucket: str, key: str, group_arn: str, models: str | None) -> dict[str, Any]:
        return docs.doc(
            *_artifacts(bucket, key, own_objects=own_key_context(a, bucket, models)),
            {
                "Sid": "RunOwnJobs",
                "Effect": "Allow",
                "Action": [
                    "sagemaker:CreateTrainingJob",
                    "sagemaker:DescribeTrainingJob",
                    "sagemaker:CreateProcessingJob",
                    "sagemaker:DescribeProcessingJob",
                    "sagemaker:CreateHyperParameterTuningJob",
                    "sagemaker:DescribeHyperParameterTuningJob",
                    "sagemaker:ListTrainingJobsForHyperParameterTuningJob",
                    "sagemaker:AddTags",
                ],
                "Resource": [
                    f"{sm}:training-job/*",
                    f"{sm}:processing-job/*",
                    f"{sm}:hyper-parameter-tuning-job/*",
                ],
            },
            {
                "Sid": "RegisterInOwnGroup",
                "Effect": "Allow",
                "Action": [
                    "sagemaker:CreateModelPackage",
                    "sagemaker:DescribeModelPackage",
                    "sagemaker:DescribeModelPackageGroup",
                    "sagemaker:ListModelPackages",
                ],
                "Resource": [
                    group_arn,
                    packages_arn,
                ],
            },
            {
                "Sid": "PassSelfToJobs",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": self_arn,
                "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            },
            {
                "Sid": "OwnPipeline",
                "Effect": "Allow",
                "Action": ["sagemaker:DescribePipeline", "sagemaker:ListPipelineExecutionSteps"],
                "Resource": f"{sm}:pipeline/{mine}-*",
            },
            *docs.vpc_network_interfaces(cfg.region, cfg.account_id, "sagemaker"),
            {
                "Sid": "JobLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": job_logs,
            },
            *job_runtime_statements(cfg.region, cfg.account_id, key, pipeline),
            {
                "Sid": "EcrLogin",
                "Effect": "Allow",
                "Action": "ecr:GetAuthorizationToken",
                "Resource": "*",
            },
            {
                "Sid": "PullOwnImages",
                "Effect": "Allow",
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                "Resource": f"arn:aws:ecr:{cfg.region}:{cfg.account_id}:repository/*",
            },
        )

    def with_data(
        data: str | None, data_key: str | None, models: str | None, **rest: str
    ) -> dict[str, Any]:
        document = build(models=models, **rest)
        mine = a.usecase
        if data:
            document["Statement"].append(
                {
                    "Sid": "ReadOwnTrainingData",
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:ListBucket"],
                    "Resource": [f"arn:aws:s3:::{data}", f"arn:aws:s3:::{data}/{mine}/*"],
                }
            )
        if data_key:
            document["Statement"].append(
                {
                    "Sid": "DataKey",
                    "Effect": "Allow",
                    "Action": ["kms:Decrypt", "kms:DescribeKey"],
                    "Resource": data_key,
                }
            )
        if models:  # the Publish step writes <usecase>/models/ (the artifact contract)
            document["Statement"].append(artifacts.writer_statement(models, mine))
        return document

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
        {
            "Sid": "VolumeKeyGrants",
            "Effect": "Allow",
            "Action": "kms:CreateGrant",
            "Resource": key_arn,
            "Condition": {
                "Bool": {"kms:GrantIsForAWSResource": "true"},
                "StringEquals": {"kms:ViaService": f"sagemaker.{region}.amazonaws.com"},
            },
        },
        {
            "Sid": "PipelineExperiment",
            "Effect": "Allow",
            "Action": [
                "sagemaker:CreateExperiment",
                "sagemaker:DescribeExperiment",
                "sagemaker:AddTags",
            ],
            "Resource": f"{sm}:experiment/{pipeline}",
        },
        {
            "Sid": "ExecutionTrials",
            "Effect": "Allow",
            "Action": [
                "sagemaker:CreateTrial",
                "sagemaker:DescribeTrial",
                "sagemaker:AssociateTrialComponent",
                "sagemaker:CreateTrialComponent",
                "sagemaker:DescribeTrialComponent",
                "sagemaker:UpdateTrialComponent",
                "sagemaker:AddTags",
            ],
            # CreateTrial is also authorised on the experiment the trial joins (the pipeline's)
            "Resource": [
                f"{sm}:experiment/{pipeline}",
                f"{sm}:experiment-trial/*",
                f"{sm}:experiment-trial-component/*",
            ],
        },
        {
            "Sid": "TrainingMetrics",
            "Effect": "Allow",
            "Action": "cloudwatch:PutMetricData",
            "Resource": "*",
            "Condition": {"StringEquals": {"cloudwatch:namespace": TRAINING_METRICS_NAMESPACE}},
        },
    ]


def codebuild_policy(
    a: DeliveryArgs, pass_roles: Sequence[pulumi.Input[str]], sagemaker_pipeline: str
) -> pulumi.Output[str]:
    cfg = a.config
    sm = f"arn:aws:sagemaker:{cfg.region}:{cfg.account_id}"

    def build(bucket: str, key: str, logs: str, roles: list[str]) -> dict[str, Any]:
        return docs.doc(
            *_artifacts(
                bucket,
                key,
                artifact_prefixes(a.ctx, a.usecase),
                own_objects=own_key_context(a, bucket),
            ),
            _logs(logs),
            # Test and TrainingPipeline builds run outside the VPC: no network-interface rights
            *packages.reader_statements(a.packages),
            {
                "Sid": "UpsertAndStartOwnPipeline",
                "Effect": "Allow",
                "Action": [
                    "sagemaker:CreatePipeline",
                    "sagemaker:UpdatePipeline",
                    "sagemaker:DescribePipeline",
                    "sagemaker:StartPipelineExecution",
                    "sagemaker:DescribePipelineExecution",
                    "sagemaker:AddTags",
                ],
                "Resource": [
                    f"{sm}:pipeline/{sagemaker_pipeline}",
                    f"{sm}:pipeline/{sagemaker_pipeline}/*",
                ],
            },
            {
                # the Backtest step compares the candidate with the live model: the build looks up
                # the newest Approved package of its own group (read only)
                "Sid": "ReadOwnApprovedPackages",
                "Effect": "Allow",
                "Action": ["sagemaker:ListModelPackages", "sagemaker:DescribeModelPackage"],
                "Resource": [
                    f"{sm}:model-package-group/{model_package_group_name(a.ctx, a.usecase)}",
                    docs.model_packages_arn(
                        cfg.region, cfg.account_id, model_package_group_name(a.ctx, a.usecase)
                    ),
                ],
            },
            {
                "Sid": "PassPipelineRole",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": roles,
                "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            },
            {
                "Sid": "Reports",
                "Effect": "Allow",
                "Action": [
                    "codebuild:CreateReportGroup",
                    "codebuild:CreateReport",
                    "codebuild:UpdateReport",
                    "codebuild:BatchPutTestCases",
                ],
                "Resource": f"arn:aws:codebuild:{cfg.region}:{cfg.account_id}:report-group/"
                f"{a.n('')}-*",
            },
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
        return docs.doc(
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
    project_arns = [docs.codebuild_project_arn(cfg.region, cfg.account_id, p) for p in projects]

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
            {
                "Sid": "RunOwnBuilds",
                "Effect": "Allow",
                "Action": ["codebuild:StartBuild", "codebuild:BatchGetBuilds"],
                "Resource": projects,
            },
        ]
        if connection:
            statements.append(docs.connection_use(connection))
        if notify_topic:
            topic = f"arn:aws:sns:{cfg.region}:{cfg.account_id}:{notify_topic}"
            statements.append(
                {
                    "Sid": "NotifyApprovers",
                    "Effect": "Allow",
                    "Action": "sns:Publish",
                    "Resource": topic,
                }
            )
            # the topic is encrypted with the artifacts key: SNS makes the data key as the caller
            statements.append(
                {
                    "Sid": "NotifyApproversKey",
                    "Effect": "Allow",
                    "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                    "Resource": key,
                    "Condition": {
                        "StringEquals": {
                            "kms:ViaService": f"sns.{cfg.region}.amazonaws.com",
                            "kms:EncryptionContext:aws:sns:topicArn": topic,
                        }
                    },
                }
            )
        if repos:
            statements.append(
                {
                    "Sid": "ReadRepos",
                    "Effect": "Allow",
                    "Action": [
                        "codecommit:GetBranch",
                        "codecommit:GetCommit",
                        "codecommit:UploadArchive",
                        "codecommit:GetUploadArchiveStatus",
                    ],
                    "Resource": repos,
                }
            )
        return docs.doc(*statements)

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

    packages_arn = docs.model_packages_arn(cfg.region, cfg.account_id, group_name)

    def build(
        bucket: str, key: str, logs: str, group_arn: str, secrets: list[str]
    ) -> dict[str, Any]:
        return docs.doc(
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
            {
                "Sid": "AssumeOwnDeployers",
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Resource": sorted(target_roles),
            },
            {
                "Sid": "ReadAndRecordPromotions",
                "Effect": "Allow",
                "Action": [
                    "sagemaker:DescribeModelPackage",
                    "sagemaker:ListModelPackages",
                    "sagemaker:UpdateModelPackage",
                    "sagemaker:DescribeModelPackageGroup",
                ],
                "Resource": [
                    group_arn,
                    packages_arn,
                ],
            },
            {
                "Sid": "ReadApprover",
                "Effect": "Allow",
                "Action": [
                    "codepipeline:ListActionExecutions",
                    "codepipeline:GetPipelineExecution",
                ],
                "Resource": pipeline_arn,
            },
            # the shared backend also holds the platform's stacks and other use cases': write
            # only this use case's inference stacks, read the platform stacks they reference
            {
                "Sid": "PulumiStateList",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": f"arn:aws:s3:::{state}",
            },
            {
                "Sid": "PulumiStateRead",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                "Resource": [
                    f"arn:aws:s3:::{state}/{backends.META_KEY}",
                    f"arn:aws:s3:::{state}/{backends.state_object_key(PROJECT, '*')}",
                    *own_state,
                ],
            },
            {
                "Sid": "PulumiStateWriteOwn",
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:DeleteObject"],
                "Resource": own_state,
            },
            {
                "Sid": "PulumiStateKey",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": f"arn:aws:kms:{cfg.region}:{cfg.account_id}:key/*",
                # only through S3 and only for the state bucket's objects (its encryption context:
                # the bucket ARN with a bucket key, the object's without): any key by ARN, since
                # the state key is the bootstrap's, but never another bucket's objects
                "Condition": {
                    "StringEquals": {"kms:ViaService": f"s3.{cfg.region}.amazonaws.com"},
                    "StringLike": {
                        S3_CONTEXT: [f"arn:aws:s3:::{state}", f"arn:aws:s3:::{state}/*"]
                    },
                },
            },
            # `deploy verify`: the model data's SHA-256 against the one registered (the artifact
            # contract; the bucket's key is the artifacts key of `ArtifactKey`)
            artifacts.verifier_statement(artifacts.registry_bucket(a.ctx), a.usecase),
            # `deploy snowflake-key`: only its own secrets (Snowflake's private key), by ARN
            *(
                [
                    {
                        "Sid": "ReadOwnDeploySecrets",
                        "Effect": "Allow",
                        "Action": "secretsmanager:GetSecretValue",
                        "Resource": sorted(secrets),
                    },
                    {
                        # the secrets are encrypted with the artifacts key
                        "Sid": "ReadOwnDeploySecretsKey",
                        "Effect": "Allow",
                        "Action": "kms:Decrypt",
                        "Resource": key,
                        "Condition": {
                            "StringEquals": {
                                "kms:ViaService": f"secretsmanager.{cfg.region}.amazonaws.com",
                                "kms:EncryptionContext:SecretARN": sorted(secrets),
                            }
                        },
                    },
                ]
                if secrets
                else []
            ),
            {
                # `--secrets-provider awskms://alias/...`: the CLI calls KMS directly
                "Sid": "PulumiSecretsKey",
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": f"arn:aws:kms:{cfg.region}:{cfg.account_id}:key/*",
                "Condition": {
                    "ForAnyValue:StringEquals": {
                        "kms:ResourceAliases": inference_secrets_alias(cfg)
                    }
                },
            },
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
        lambda arn: docs.doc(
            {
                "Sid": "StartPipeline",
                "Effect": "Allow",
                "Action": "codepipeline:StartPipelineExecution",
                "Resource": arn,
            }
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
    return {
        "Sid": "OnlyTheLeadSetsApprovalStatus",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": PACKAGE_WRITES,
        "Resource": packages_arn,
        "Condition": condition,
    }


def data_scientist_deny_policy(
    deploy_pipeline_arn: str, training_pipeline_arn: str, packages_arn: str
) -> dict[str, Any]:
    """Explicit denies (win over any allow) attached to the data scientists' role for one use
    case: no promotion gate, no package status but PendingManualApproval, and the governed
    pipeline changed or started only through CI (the build role)."""
    return docs.doc(
        *docs.deny_approval_policy(deploy_pipeline_arn)["Statement"],
        {
            "Sid": "NoApprovalStatusByDataScientists",
            "Effect": "Deny",
            "Action": PACKAGE_WRITES,
            "Resource": packages_arn,
            "Condition": _status_other_than_pending(),
        },
        {
            "Sid": "GovernedPipelineOnlyThroughCi",
            "Effect": "Deny",
            "Action": GOVERNED_PIPELINE_ACTIONS,
            "Resource": [training_pipeline_arn, f"{training_pipeline_arn}/*"],
        },
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
    return docs.doc(
        {"Sid": "ServingServices", "Effect": "Allow", "Action": BOUNDARY_SERVICES, "Resource": "*"},
        {"Sid": "NoEscalation", "Effect": "Deny", "Action": BOUNDARY_DENIED, "Resource": "*"},
    )
