"""`mlops:catalog:ServiceCatalog` — start a new use case from SageMaker Studio in a few clicks.

- a portfolio shared with the lead-data-scientist role, SageMaker Projects enabled;
- one product per template in ``templates/`` (tagged ``sagemaker:studio-visibility=true``), whose
  CloudFormation template (``mlops.delivery.cfn``) only calls the onboarding hook;
- the form of each product asks the template's own questions (``mlops.onboarding.form``, from its
  copier.yml), the platform's region and accounts as defaults;
- the onboarding hook: a Lambda (custom-resource handler, in the VPC, with a KMS-encrypted
  dead-letter queue; it reaches CodeBuild through the VPC's `codebuild` endpoint) that starts a
  CodeBuild project running ``mlops onboard`` (the CLI path) outside the VPC, which creates both
  repos in the Git provider, pushes the rendered code, opens the manifest pull request and answers
  CloudFormation (``mlops.onboarding.studio``). The build reaches only GitHub, Secrets Manager
  (its Git token: a secret created here, value set out of band), the platform's CodeArtifact
  repository and CloudFormation's response URL; nothing VPC-private, no data store;
- a least-privilege launch role (CloudFormation on Service Catalog stacks, read the product
  templates, invoke the hook — nothing else), used by the launch constraints and by S3-provisioned
  SageMaker project templates, which reuse the same template objects.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops import iam
from mlops.components import packages
from mlops.components.logs import encrypted_log_group
from mlops.config import REPO_ROOT, StackConfig
from mlops.delivery import buildspecs, cfn, policies
from mlops.naming import NameContext, log_group_name, name, role_name
from mlops.onboarding.answers import platform_answers_for
from mlops.onboarding.form import with_defaults
from mlops.rehearsal import declare
from mlops.tags import with_component
from mlops.usecases import NAME_MAX, NAME_PATTERN

TEMPLATES_DIR = REPO_ROOT / "templates"
BUILD_IMAGE = "aws/codebuild/amazonlinux-x86_64-standard:5.0"
TRIGGER_SOURCE = Path(__file__).resolve().parent.parent / "delivery" / "onboard_trigger.py"


def discover_templates(root: Path = TEMPLATES_DIR) -> list[cfn.TemplateProduct]:
    """Every copier template (folder with copier.yml): version, description and its questions as
    the Studio form (the platform's own answers are filled in per stack by ServiceCatalog)."""
    from mlops.onboarding import load_template
    from mlops.onboarding.form import form_fields

    products = []
    for path in sorted(root.glob("*/copier.yml")):
        info = load_template(path.parent)
        products.append(
            cfn.TemplateProduct(
                name=info.name,
                version=info.version,
                description=" ".join(info.description.split()),
                fields=form_fields(info),
            )
        )
    return products


EXACT_PIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*==[0-9][A-Za-z0-9.+!-]*")


def platform_version() -> str:
    """The platform's version, from its pyproject.toml (the release the catalog's builds run)."""
    data = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return data["project"]["version"]


@dataclass(frozen=True, kw_only=True)
class ServiceCatalogArgs:
    config: StackConfig
    tags: Mapping[str, str]
    templates: Sequence[cfn.TemplateProduct]
    kms_key_arn: pulumi.Input[str]
    templates_bucket: pulumi.Input[str]
    """Private, KMS-encrypted bucket holding the product templates (pipeline-artifacts)."""
    lead_data_scientist_role_arn: pulumi.Input[str]
    lead_data_scientist_role_name: pulumi.Input[str] | None = None
    """When given, the lead may pass the launch role to CloudFormation: S3-provisioned SageMaker
    project templates (CreateProject with a CfnTemplateProvider) need it; Service Catalog not."""
    subnet_ids: pulumi.Input[Sequence[str]]
    security_group_ids: pulumi.Input[Sequence[str]]
    vpc_id: pulumi.Input[str]
    platform_repo_url: str = "https://github.com/acme-insurance-ml/mlops-platform.git"
    git_token_secret_arn: pulumi.Input[str] | None = None
    """The onboarding build's Git token (repo scope on `config.git.owner`); by default a secret
    created here, KMS-encrypted, whose value is set out of band."""
    platform_pip_spec: str = field(default_factory=lambda: f"mlops-platform=={platform_version()}")
    """What the onboarding build's clone step installs: one exact version (`name==version`) from
    the platform's repository; the onboarding then runs the clone's code on its locked, hashed
    dependencies."""
    enable_projects: bool = True
    """Create the account-level SageMaker Projects switch here (False if Studio already does)."""

    def __post_init__(self) -> None:
        platform_repo(self.platform_repo_url)
        if not EXACT_PIN.fullmatch(self.platform_pip_spec):
            raise ValueError(
                f"ServiceCatalogArgs.platform_pip_spec: {self.platform_pip_spec!r} is not one exact"
                " version: write it as mlops-platform==<version> (a released version)"
            )
        if self.config.git.provider != "github":
            raise ValueError(
                f"ServiceCatalogArgs.config.git.provider: {self.config.git.provider!r} has no "
                "onboarding adapter yet (GitHub only): set git.provider: github"
            )
        if not self.config.is_governance:
            raise ValueError("ServiceCatalog belongs to the dev (governance) stack only")
        if not self.templates:
            raise ValueError("ServiceCatalogArgs.templates: no templates found in templates/")
        names = [t.name for t in self.templates]
        if len(set(names)) != len(names):
            raise ValueError(f"ServiceCatalogArgs.templates: duplicate names {names}")


class ServiceCatalog(pulumi.ComponentResource):
    def __init__(
        self, name_: str, args: ServiceCatalogArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:catalog:ServiceCatalog", name_, None, opts)
        self._name, self._args = name_, args
        self._child = pulumi.ResourceOptions(parent=self)
        cfg = args.config
        self._ctx = NameContext(cfg.environment, cfg.account_id, cfg.region)
        self._tags = with_component(args.tags, "catalog")
        self._build_onboarding()
        self._build_portfolio()
        self._build_products()
        self._declare_onboarding()
        self.register_outputs(
            {
                "portfolio_id": self.portfolio.id,
                "launch_role_arn": self.launch_role.arn,
                "onboarding_function_arn": self.trigger.arn,
                "products": {t: p.id for t, p in self.products.items()},
            }
        )

    def _n(self, *parts: str, kind: str = "generic") -> str:
        return name(self._ctx, *parts, kind=kind)

    # --- onboarding: CodeBuild running `mlops onboard`, started by a custom-resource Lambda ----
    def _build_onboarding(self) -> None:
        a, cfg, ctx = self._args, self._args.config, self._ctx
        logs = encrypted_log_group(
            f"{self._name}-onboarding-logs",
            physical_name=log_group_name(ctx, "onboarding"),
            kms_key_arn=a.kms_key_arn,
            retention_days=cfg.retention.log_days,
            tags=self._tags,
            opts=self._child,
        )
        self.onboarding_logs = logs
        self.git_token = None
        if a.git_token_secret_arn is None:
            physical = self._n("onboarding-git-token")
            self.git_token = aws.secretsmanager.Secret(
                f"{self._name}-git-token",
                name=physical,
                description=(
                    f"Git token of the onboarding build (repo scope on {cfg.git.owner}): value set"
                    f" out of band (aws secretsmanager put-secret-value --secret-id {physical})"
                ),
                kms_key_id=a.kms_key_arn,
                recovery_window_in_days=7,
                tags=self._tags,
                opts=self._child,
            )
        self.git_token_arn: pulumi.Input[str] = (
            self.git_token.arn if self.git_token is not None else a.git_token_secret_arn
        )
        build_role = aws.iam.Role(
            f"{self._name}-onboard-build-role",
            name=role_name(ctx, "onboard-build"),
            assume_role_policy=json.dumps(
                iam.service_trust("codebuild.amazonaws.com", source_account=cfg.account_id)
            ),
            tags=self._tags,
            opts=self._child,
        )

        def build_policy(logs_arn: str, key: str, secret: str) -> dict[str, Any]:
            statements: list[dict[str, Any]] = [
                iam.statement(
                    "Logs",
                    ["logs:CreateLogStream", "logs:PutLogEvents"],
                    [logs_arn, f"{logs_arn}:*"],
                ),
                iam.statement("Key", ["kms:Decrypt", "kms:GenerateDataKey"], key),
                # the onboarding build runs outside the VPC (GitHub and the package index only)
                *packages.reader_statements(packages.package_names(ctx)),
            ]
            statements.append(iam.statement("GitToken", "secretsmanager:GetSecretValue", secret))
            return iam.document(*statements)

        aws.iam.RolePolicy(
            f"{self._name}-onboard-build-policy",
            role=build_role.name,
            policy=pulumi.Output.all(
                logs_arn=logs.arn, key=a.kms_key_arn, secret=self.git_token_arn
            ).apply(lambda v: json.dumps(build_policy(**v), sort_keys=True)),
            opts=pulumi.ResourceOptions(parent=build_role),
        )
        env = [
            aws.codebuild.ProjectEnvironmentEnvironmentVariableArgs(name=k, value=v)
            for k, v in (
                ("PLATFORM_REPO", platform_repo(a.platform_repo_url)),
                *git_urls(a.platform_repo_url).items(),
                ("MLOPS_GIT_PROVIDER", cfg.git.provider),
                ("MLOPS_GIT_OWNER", cfg.git.owner),
                ("MLOPS_GIT_TOKEN_SECRET", self.git_token_arn),
                ("MLOPS_PLATFORM_PIP_SPEC", a.platform_pip_spec),
                *packages.package_names(ctx).environment().items(),
            )
        ]
        self.onboard_project = aws.codebuild.Project(
            f"{self._name}-onboard",
            name=self._n("onboard"),
            description="Runs `mlops onboard` for Service Catalog / SageMaker Projects launches",
            service_role=build_role.arn,
            encryption_key=a.kms_key_arn,
            build_timeout=30,
            source=aws.codebuild.ProjectSourceArgs(
                type="NO_SOURCE", buildspec=buildspecs.onboard()
            ),
            artifacts=aws.codebuild.ProjectArtifactsArgs(type="NO_ARTIFACTS"),
            environment=aws.codebuild.ProjectEnvironmentArgs(
                compute_type="BUILD_GENERAL1_SMALL",
                image=BUILD_IMAGE,
                type="LINUX_CONTAINER",
                environment_variables=env,
            ),
            # no vpc_config: it reaches nothing VPC-private (docs/deploy.md, "Egress")
            logs_config=aws.codebuild.ProjectLogsConfigArgs(
                cloudwatch_logs=aws.codebuild.ProjectLogsConfigCloudwatchLogsArgs(
                    group_name=logs.name, status="ENABLED"
                )
            ),
            tags=self._tags,
            opts=self._child,
        )
        self.dead_letters = aws.sqs.Queue(
            f"{self._name}-onboard-dlq",
            name=self._n("onboard-dlq"),
            kms_master_key_id=a.kms_key_arn,
            message_retention_seconds=14 * 24 * 3600,
            tags=self._tags,
            opts=self._child,
        )
        trigger_role = aws.iam.Role(
            f"{self._name}-onboard-trigger-role",
            name=role_name(ctx, "onboard-trigger"),
            assume_role_policy=json.dumps(
                iam.service_trust("lambda.amazonaws.com", source_account=cfg.account_id)
            ),
            tags=self._tags,
            opts=self._child,
        )
        function_name = self.function_name = self._n("onboard-trigger", kind="lambda")
        fn_logs = (
            f"arn:aws:logs:{cfg.region}:{cfg.account_id}:log-group:/aws/lambda/{function_name}"
        )
        aws.iam.RolePolicy(
            f"{self._name}-onboard-trigger-policy",
            role=trigger_role.name,
            policy=pulumi.Output.all(
                project=policies.codebuild_project_arn(
                    cfg.region, cfg.account_id, self._n("onboard")
                ),
                dlq=self.dead_letters.arn,
                key=a.kms_key_arn,
            ).apply(
                lambda v: json.dumps(
                    iam.document(
                        iam.statement("StartOnboarding", "codebuild:StartBuild", v["project"]),
                        iam.statement("DeadLetters", "sqs:SendMessage", v["dlq"]),
                        iam.statement("Key", ["kms:GenerateDataKey", "kms:Decrypt"], v["key"]),
                        iam.statement(
                            "Logs",
                            [
                                "logs:CreateLogGroup",
                                "logs:CreateLogStream",
                                "logs:PutLogEvents",
                            ],
                            [fn_logs, f"{fn_logs}:*"],
                        ),
                        *policies.vpc_network_interfaces(cfg.region, cfg.account_id, "lambda"),
                    ),
                    sort_keys=True,
                )
            ),
            opts=pulumi.ResourceOptions(parent=trigger_role),
        )
        self.trigger = aws.lambda_.Function(
            f"{self._name}-onboard-trigger",
            name=function_name,
            description="Custom resource of the use-case products: starts `mlops onboard`",
            role=trigger_role.arn,
            runtime="python3.12",
            handler="onboard_trigger.lambda_handler",
            code=pulumi.AssetArchive({"onboard_trigger.py": pulumi.FileAsset(str(TRIGGER_SOURCE))}),
            timeout=60,
            kms_key_arn=a.kms_key_arn,
            environment=aws.lambda_.FunctionEnvironmentArgs(
                variables={
                    "ONBOARD_PROJECT": self.onboard_project.name,
                    "USECASE_NAME_PATTERN": NAME_PATTERN,
                    "USECASE_NAME_MAX": str(NAME_MAX),
                }
            ),
            vpc_config=aws.lambda_.FunctionVpcConfigArgs(
                subnet_ids=a.subnet_ids, security_group_ids=a.security_group_ids
            ),
            dead_letter_config=aws.lambda_.FunctionDeadLetterConfigArgs(
                target_arn=self.dead_letters.arn
            ),
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            tags=self._tags,
            opts=self._child,
        )

    # --- portfolio, access, SageMaker Projects, launch role -----------------------------------
    def _build_portfolio(self) -> None:
        a, cfg = self._args, self._args.config
        self.portfolio = aws.servicecatalog.Portfolio(
            f"{self._name}-portfolio",
            name=self._n("usecase-templates"),
            description="Start a governed ML use case from a platform template",
            provider_name=cfg.tags.owner,
            tags=self._tags,
            opts=self._child,
        )
        self.lead_access = aws.servicecatalog.PrincipalPortfolioAssociation(
            f"{self._name}-lead-access",
            portfolio_id=self.portfolio.id,
            principal_arn=a.lead_data_scientist_role_arn,
            principal_type="IAM",
            opts=self._child,
        )
        self.projects = None
        if a.enable_projects:
            self.projects = aws.sagemaker.ServicecatalogPortfolioStatus(
                f"{self._name}-sagemaker-projects", status="Enabled", opts=self._child
            )
        self.launch_role = aws.iam.Role(
            f"{self._name}-launch-role",
            name=role_name(self._ctx, "catalog-launch"),
            description="Service Catalog / SageMaker Projects launch role: onboarding hook only",
            assume_role_policy=json.dumps(
                iam.document(
                    iam.statement(
                        "TrustServiceCatalogLaunch",
                        "sts:AssumeRole",
                        iam.NO_RESOURCE,
                        principal={
                            "Service": [
                                "servicecatalog.amazonaws.com",
                                "cloudformation.amazonaws.com",
                            ]
                        },
                        condition={"StringEquals": {"aws:SourceAccount": cfg.account_id}},
                    )
                )
            ),
            tags=self._tags,
            opts=self._child,
        )
        self.launch_policy = aws.iam.RolePolicy(
            f"{self._name}-launch-policy",
            role=self.launch_role.name,
            policy=pulumi.Output.all(
                bucket=a.templates_bucket,
                key=a.kms_key_arn,
                fn=policies.lambda_function_arn(cfg.region, cfg.account_id, self.function_name),
            ).apply(lambda v: json.dumps(launch_policy(cfg, **v), sort_keys=True)),
            opts=pulumi.ResourceOptions(parent=self.launch_role),
        )
        self.lead_pass_launch_role = None
        if a.lead_data_scientist_role_name is not None:
            self.lead_pass_launch_role = aws.iam.RolePolicy(
                f"{self._name}-lead-pass-launch-role",
                name="pass-catalog-launch-role",
                role=a.lead_data_scientist_role_name,
                policy=self.launch_role.arn.apply(
                    lambda arn: json.dumps(
                        iam.document(
                            iam.statement(
                                "LaunchS3ProjectTemplates",
                                "iam:PassRole",
                                arn,
                                condition={
                                    "StringEquals": {
                                        "iam:PassedToService": "cloudformation.amazonaws.com"
                                    }
                                },
                            )
                        ),
                        sort_keys=True,
                    )
                ),
                opts=self._child,
            )

    # --- one product per template ---------------------------------------------------------
    def _build_products(self) -> None:
        a, cfg = self._args, self._args.config
        self.template_objects: dict[str, aws.s3.BucketObjectv2] = {}
        self.products: dict[str, aws.servicecatalog.Product] = {}
        platform = platform_answers_for(cfg)
        for product in a.templates:
            fields = with_defaults(product.fields, platform)
            body = self.trigger.arn.apply(
                lambda arn, p=product, f=fields: cfn.render(cfn.product_template(p, arn, f))
            )
            obj = aws.s3.BucketObjectv2(
                f"{self._name}-{product.name}-template",
                bucket=a.templates_bucket,
                key=product.object_key,
                content=body,
                content_type="application/x-yaml",
                server_side_encryption="aws:kms",
                kms_key_id=a.kms_key_arn,
                bucket_key_enabled=True,
                # the same object is an S3-provisioned SageMaker project template
                tags={**self._tags, **cfn.STUDIO_VISIBILITY_TAG},
                opts=self._child,
            )
            url = pulumi.Output.from_input(a.templates_bucket).apply(
                lambda b, p=product: cfn.template_url(b, cfg.region, p.object_key)
            )
            sc_product = aws.servicecatalog.Product(
                f"{self._name}-{product.name}-product",
                name=self._n(product.name, "usecase"),
                owner=cfg.tags.owner,
                description=product.description[:200],
                type="CLOUD_FORMATION_TEMPLATE",
                provisioning_artifact_parameters=aws.servicecatalog.ProductProvisioningArtifactParametersArgs(
                    name=product.version,
                    description=f"{product.name} {product.version}",
                    type="CLOUD_FORMATION_TEMPLATE",
                    template_url=url,
                ),
                tags={**self._tags, **cfn.STUDIO_VISIBILITY_TAG},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[obj]),
            )
            association = aws.servicecatalog.ProductPortfolioAssociation(
                f"{self._name}-{product.name}-association",
                portfolio_id=self.portfolio.id,
                product_id=sc_product.id,
                opts=self._child,
            )
            aws.servicecatalog.Constraint(
                f"{self._name}-{product.name}-launch",
                type="LAUNCH",
                portfolio_id=self.portfolio.id,
                product_id=sc_product.id,
                description=f"Launch {product.name} with the least-privilege onboarding role",
                parameters=self.launch_role.arn.apply(lambda arn: json.dumps({"RoleArn": arn})),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[association]),
            )
            self.template_objects[product.name] = obj
            self.products[product.name] = sc_product

    # --- runtime actors (mlops rehearse, onboarding) ----------------------------------------
    def _declare_onboarding(self) -> None:
        """A lead opens a SageMaker Project / launches the product from Studio; Service Catalog
        takes the launch role; CloudFormation reads the template and calls the hook; the hook
        starts the onboarding build, which renders the repos and opens the manifest PR."""
        a, cfg = self._args, self._args.config
        acct, region = cfg.account_id, cfg.region
        lead = a.lead_data_scientist_role_arn
        product = next(iter(self.products.values()))
        template = next(iter(self.template_objects.values()))
        template_arn = pulumi.Output.concat("arn:aws:s3:::", template.bucket, "/", template.key)
        product_arn = product.id.apply(lambda i: f"arn:aws:catalog:{region}:{acct}:product/{i}")
        declare.actor(
            flow="onboarding",
            step="the lead launches a use-case product from Studio",
            order=10,
            principal=lead,
            account=acct,
            origin=declare.PUBLIC,
            calls=[
                declare.call("servicecatalog:SearchProducts"),
                declare.call("servicecatalog:DescribeProduct", product_arn),
                declare.call("servicecatalog:ListLaunchPaths", product_arn),
                declare.call("servicecatalog:ProvisionProduct", product_arn),
            ],
        )
        declare.service_assumes(
            flow="onboarding",
            step="Service Catalog takes the launch role",
            service="servicecatalog.amazonaws.com",
            role_arn=self.launch_role.arn,
            account=acct,
            order=20,
        )
        stack = f"arn:aws:cloudformation:{region}:{acct}:stack/SC-{acct}-pp-rehearsal/1"
        declare.actor(
            flow="onboarding",
            step="the launch role creates the product's stack",
            order=21,
            principal=self.launch_role.arn,
            account=acct,
            origin=declare.AWS_SERVICE,
            calls=[
                declare.call("s3:GetObject", template_arn, why="read the product template"),
                declare.call("cloudformation:ValidateTemplate"),
                declare.call("cloudformation:CreateStack", stack),
                declare.call("lambda:InvokeFunction", self.trigger.arn, why="onboarding hook"),
            ],
        )
        declare.service_assumes(
            flow="onboarding",
            step="Lambda takes the hook's role",
            service="lambda.amazonaws.com",
            role_arn=self.trigger.role,
            account=acct,
            source_arn=self.trigger.arn,
            order=30,
        )
        vpc = declare.vpc(a.vpc_id, a.subnet_ids, a.security_group_ids)
        declare.actor(
            flow="onboarding",
            step="the hook starts the onboarding build",
            order=31,
            principal=self.trigger.role,
            account=acct,
            origin=vpc,
            calls=[
                declare.call("codebuild:StartBuild", self.onboard_project.arn),
                declare.call(
                    "https",
                    f"https://cloudformation-custom-resource-response-{region}"
                    f".s3.{region}.amazonaws.com/",
                    network_only=True,
                    destination="s3",
                    why="answer CloudFormation's pre-signed response URL (an S3 bucket)",
                ),
            ],
        )
        declare.service_assumes(
            flow="onboarding",
            step="CodeBuild takes the onboarding role",
            service="codebuild.amazonaws.com",
            role_arn=self.onboard_project.service_role,
            account=acct,
            source_arn=self.onboard_project.arn,
            order=40,
        )
        logs = self.onboarding_logs.arn.apply(lambda arn: f"{arn}:log-stream:rehearsal")
        urls = git_urls(a.platform_repo_url)
        declare.actor(
            flow="onboarding",
            step="the onboarding build renders, creates both repos, pushes and opens the PR",
            order=41,
            principal=self.onboard_project.service_role,
            account=acct,
            origin=declare.PUBLIC,
            calls=[
                declare.call("logs:CreateLogStream", logs),
                declare.call("logs:PutLogEvents", logs),
                *packages.install_calls(
                    packages.package_names(self._ctx), "pip install mlops-platform"
                ),
                declare.call(
                    "secretsmanager:GetSecretValue",
                    self.git_token_arn,
                    why="the Git token (secret created here, value set out of band)",
                ),
                declare.call(
                    "kms:Decrypt",
                    a.kms_key_arn,
                    why="Secrets Manager decrypts the Git token as the caller",
                    context={
                        "kms:ViaService": f"secretsmanager.{region}.amazonaws.com",
                        "kms:EncryptionContext:SecretARN": self.git_token_arn,
                        "aws:ViaAWSService": True,
                    },
                    destination="secretsmanager",
                ),
                declare.call(
                    "https",
                    a.platform_repo_url,
                    network_only=True,
                    why="git clone the platform repo; push the manifest branch",
                ),
                declare.call(
                    "https",
                    f"{urls['MLOPS_GIT_API_URL']}/",
                    network_only=True,
                    why="create the training and inference repos; open the pull request",
                ),
                declare.call(
                    "https",
                    f"{urls['MLOPS_GIT_URL']}/{cfg.git.owner}/",
                    network_only=True,
                    why="git push the rendered training and inference repos",
                ),
                declare.call(
                    "https",
                    f"https://cloudformation-custom-resource-response-{region}"
                    f".s3.{region}.amazonaws.com/",
                    network_only=True,
                    destination="s3",
                    why="answer CloudFormation's pre-signed response URL with the PR and repos",
                ),
            ],
        )


def platform_repo(url: str) -> str:
    """`owner/name` of the platform repo from its https clone URL."""
    from urllib.parse import urlparse

    parsed = urlparse(url)
    parts = parsed.path.strip("/").removesuffix(".git").split("/")
    if parsed.scheme != "https" or len(parts) != 2 or not all(parts):
        raise ValueError(
            f"ServiceCatalogArgs.platform_repo_url: {url!r} is not https://<host>/<owner>/<repo>"
            "[.git]: give the platform repo's https clone URL"
        )
    return "/".join(parts)


def git_urls(platform_repo_url: str) -> dict[str, str]:
    """The provider's git and REST URLs, from the platform repo's host (GitHub or Enterprise)."""
    from urllib.parse import urlparse

    host = urlparse(platform_repo_url).hostname or "github.com"
    api = "https://api.github.com" if host == "github.com" else f"https://{host}/api/v3"
    return {"MLOPS_GIT_URL": f"https://{host}", "MLOPS_GIT_API_URL": api}


def launch_policy(cfg: StackConfig, bucket: str, key: str, fn: str) -> dict[str, Any]:
    """Least privilege for launching a product: its stack, its template, the onboarding hook."""
    stacks = f"arn:aws:cloudformation:{cfg.region}:{cfg.account_id}:stack/SC-{cfg.account_id}-*"
    projects = f"arn:aws:cloudformation:{cfg.region}:{cfg.account_id}:stack/SageMaker-*"
    return iam.document(
        iam.statement(
            "OwnStacks",
            [
                "cloudformation:CreateStack",
                "cloudformation:UpdateStack",
                "cloudformation:DeleteStack",
                "cloudformation:DescribeStacks",
                "cloudformation:DescribeStackEvents",
                "cloudformation:SetStackPolicy",
            ],
            [stacks, f"{stacks}/*", projects, f"{projects}/*"],
        ),
        iam.statement(
            "ReadTemplates",
            ["cloudformation:GetTemplateSummary", "cloudformation:ValidateTemplate"],
            "*",
        ),
        iam.statement(
            "ProductTemplates", "s3:GetObject", f"arn:aws:s3:::{bucket}/service-catalog/*"
        ),
        iam.statement(
            "DecryptTemplates",
            "kms:Decrypt",
            key,
            condition={"StringEquals": {"kms:ViaService": f"s3.{cfg.region}.amazonaws.com"}},
        ),
        iam.statement("OnboardingHook", "lambda:InvokeFunction", fn),
    )
