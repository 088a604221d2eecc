"""mlops-platform: the Pulumi program (composition root).

Reads the typed stack config once, builds the AWS provider with default tags, wires the components
and exports what other stacks and tools need. Logic lives in the `mlops` library.
"""

import pulumi
import pulumi_aws as aws

from mlops import iam, naming
from mlops.components.account import AccountSettings, AccountSettingsArgs
from mlops.components.approvers import PersonaPermissionSets, PersonaPermissionSetsArgs
from mlops.components.audit import Audit, AuditArgs
from mlops.components.catalog import ServiceCatalog, ServiceCatalogArgs, discover_templates
from mlops.components.crossaccount import DeploymentAccess, DeploymentAccessArgs
from mlops.components.identity import StudioRoles, StudioRolesArgs
from mlops.components.keys import Keys, KeysArgs
from mlops.components.network import Network, NetworkArgs
from mlops.components.packages import PackageRepository, PackageRepositoryArgs
from mlops.components.storage import Storage, StorageArgs
from mlops.components.studio import Studio, StudioArgs
from mlops.components.usecase import UseCase, UseCaseArgs
from mlops.config import PROJECT, load_from_pulumi
from mlops.delivery import artifacts
from mlops.errors import ConfigError
from mlops.naming import NameContext
from mlops.tags import base_tags
from mlops.usecases import load_manifests

cfg = load_from_pulumi()
tags = base_tags(cfg)

provider = aws.Provider(
    "aws",
    region=cfg.region,
    allowed_account_ids=[cfg.account_id],
    default_tags=aws.ProviderDefaultTagsArgs(tags=tags),
    assume_roles=(
        [aws.ProviderAssumeRoleArgs(role_arn=cfg.deploy_role_arn, session_name="mlops-pulumi")]
        if cfg.deploy_role_arn
        else None
    ),
)
opts = pulumi.ResourceOptions(providers=[provider])

pulumi.export("environment", cfg.environment)
pulumi.export("account_id", cfg.account_id)
pulumi.export("region", cfg.region)

# --- platform core: keys, network, storage, audit, Studio (dev), cross-account -----------------
names = NameContext(environment=cfg.environment, account_id=cfg.account_id, region=cfg.region)
accounts = cfg.accounts.model_dump()
key_admins = cfg.key_admin_arns  # never the bare account root
model_execution_role_arn = iam.role_arn(cfg.account_id, naming.model_execution_role_name(names))

keys = Keys(
    "keys",
    KeysArgs(
        names=names,
        tags=tags,
        admin_arns=key_admins,
        break_glass_arns=[cfg.break_glass_role_arn] if cfg.break_glass_role_arn else [],
        # the artifact contract's key side: staging/prod model roles decrypt registered models
        model_reader_grants=artifacts.key_grants(names, accounts) if cfg.is_governance else (),
    ),
    opts=opts,
)
zones = aws.get_availability_zones(state="available", opts=pulumi.InvokeOptions(provider=provider))
if len(zones.names) < cfg.network.az_count:
    raise ConfigError(
        f"{PROJECT}:network.azCount is {cfg.network.az_count} but {cfg.region} offers "
        f"{len(zones.names)} availability zones",
        f"set network.azCount to at most {len(zones.names)} in Pulumi.{cfg.environment}.yaml",
    )
network = Network(
    "network",
    NetworkArgs(
        names=names,
        tags=tags,
        vpc_cidr=str(cfg.network.vpc_cidr),
        availability_zones=zones.names[: cfg.network.az_count],
        logs_key_arn=keys.logs.arn,
        log_retention_days=cfg.retention.log_days,
        git_provider=cfg.git.provider,
        nat_gateway=cfg.network.nat_gateway,
        existing_vpc_id=cfg.network.existing_vpc_id,
        existing_private_subnet_ids=cfg.network.existing_private_subnet_ids,
    ),
    opts=opts,
)
# Customer data outside dev: only the named roles may read or write objects (need-to-know).
# Analytics roles are per use case (`mlops-<env>-<usecase>-analytics-*`), hence the pattern.
need_to_know = (
    {}
    if cfg.is_governance
    else {
        # each use case's endpoint role writes its data capture (data-capture/<usecase>/)
        "data": [
            model_execution_role_arn,
            *(
                iam.role_arn(
                    cfg.account_id, naming.usecase_name(names, u.name, "model", kind="role")
                )
                for u in load_manifests()
            ),
        ],
        "analytics-landing": [
            model_execution_role_arn,
            iam.role_arn(cfg.account_id, f"{naming.PREFIX}-{cfg.environment}-*-analytics-*"),
        ],
    }
)
storage = Storage(
    "storage",
    StorageArgs(
        names=names,
        tags=tags,
        key_arns=keys.arns(),
        noncurrent_days=cfg.retention.data_noncurrent_days,
        access_log_days=max(cfg.retention.log_days, 90),
        need_to_know_roles=need_to_know,
        bucket_managers=key_admins,
        # the artifact contract's bucket side: staging/prod model roles read */models/*
        model_reader_grants=artifacts.bucket_grants(names, accounts) if cfg.is_governance else (),
    ),
    opts=opts,
)
audit = Audit(
    "audit",
    AuditArgs(
        names=names,
        tags=tags,
        logs_key_arn=keys.logs.arn,
        access_logs_bucket=storage.access_logs.name,
        log_retention_days=cfg.retention.log_days,
        audit_years=cfg.retention.audit_years,
        lock_mode=cfg.audit_lock_mode,
        landing_zone=cfg.landing_zone,
        data_event_bucket_arns=[storage.data.arn, storage.analytics_landing.arn],
    ),
    opts=opts,
)
# Account-level singletons: API Gateway's CloudWatch role, once per account.
account_settings = AccountSettings(
    "account", AccountSettingsArgs(names=names, tags=tags), opts=opts
)

pulumi.export("vpc_id", network.vpc_id)
pulumi.export("private_subnet_ids", network.private_subnet_ids)
pulumi.export("sagemaker_security_group_id", network.sagemaker_sg.id)
pulumi.export("vpc_endpoints_security_group_id", network.endpoint_sg.id)
pulumi.export("kms_key_arns", keys.arns())
pulumi.export("data_key_arn", keys.data.arn)
pulumi.export("artifacts_key_arn", keys.artifacts.arn)
pulumi.export("logs_key_arn", keys.logs.arn)
pulumi.export("studio_key_arn", keys.studio.arn)
pulumi.export("bucket_names", storage.names())
pulumi.export("artifacts_bucket", storage.model_artifacts.name)
pulumi.export("data_bucket", storage.data.name)
pulumi.export("pipeline_artifacts_bucket", storage.pipeline_artifacts.name)
pulumi.export("analytics_landing_bucket", storage.analytics_landing.name)
pulumi.export("access_logs_bucket", storage.access_logs.name)
pulumi.export("audit_bucket", audit.bucket.name)
pulumi.export("apigateway_cloudwatch_role_arn", account_settings.apigateway_logs_role.arn)

if cfg.is_governance:
    studio_roles = StudioRoles(
        "studio-roles",
        StudioRolesArgs(
            names=names,
            tags=tags,
            bucket_arns=[
                storage.data.arn,
                storage.model_artifacts.arn,
                storage.pipeline_artifacts.arn,
            ],
            key_arns=[keys.data.arn, keys.artifacts.arn, keys.studio.arn],
        ),
        opts=opts,
    )
    studio = Studio(
        "studio",
        StudioArgs(
            names=names,
            tags=tags,
            vpc_id=network.vpc_id,
            subnet_ids=network.private_subnet_ids,
            security_group_id=network.sagemaker_sg.id,
            kms_key_arn=keys.studio.arn,
            execution_role_arn=studio_roles.execution.arn,
            data_scientist_role_arn=studio_roles.data_scientist.arn,
            lead_role_arn=studio_roles.lead_data_scientist.arn,
            data_scientists=cfg.people.data_scientists,
            lead_data_scientists=cfg.people.lead_data_scientists,
        ),
        opts=opts,
    )
    # Python packages for builds, Studio and developers: CodeArtifact, upstream the public index.
    packages = PackageRepository(
        "packages",
        PackageRepositoryArgs(
            names=names, tags=tags, kms_key_arn=keys.artifacts.arn, publisher_arns=key_admins
        ),
        opts=opts,
    )
    pulumi.export("package_index_url", packages.package_names.index_url)
    pulumi.export("studio_domain_id", studio.domain.id)
    pulumi.export("studio_execution_role_arn", studio_roles.execution.arn)
    pulumi.export("data_scientist_role_arn", studio_roles.data_scientist.arn)
    pulumi.export("lead_data_scientist_role_arn", studio_roles.lead_data_scientist.arn)
    # People sign in with IAM Identity Center permission sets per persona (docs/identity.md):
    # created here when the config names the instance, otherwise by the organisation from the docs.
    sso = cfg.people.identity_center
    if sso is not None:
        permission_sets = PersonaPermissionSets(
            "people",
            PersonaPermissionSetsArgs(
                names=names,
                instance_arn=sso.instance_arn,
                tags=tags,
                group_ids={
                    persona: group
                    for persona, group in (
                        ("data-scientist", sso.data_scientist_group_id),
                        ("lead-data-scientist", sso.lead_data_scientist_group_id),
                    )
                    if group
                },
            ),
            opts=opts,
        )
    # The model registry (model package groups) lives in dev, the governance account, and so do
    # the registered models' artifacts (mlops.delivery.artifacts).
    pulumi.export("registry_account_id", cfg.account_id)
    pulumi.export("registered_models_bucket", storage.model_artifacts.name)
    pulumi.export("registered_models_key_arn", keys.artifacts.arn)
else:
    # What staging/prod need from dev: its model-artifacts bucket and artifacts key.
    dev_stack = pulumi.StackReference(f"organization/{PROJECT}/{cfg.governance}")
    deployment = DeploymentAccess(
        "deployment",
        DeploymentAccessArgs(
            names=names,
            tags=tags,
            dev_account_id=cfg.accounts.dev,
            dev_artifacts_bucket=dev_stack.require_output("artifacts_bucket"),
            dev_artifacts_key_arn=dev_stack.require_output("artifacts_key_arn"),
        ),
        opts=opts,
    )
    pulumi.export("model_execution_role_arn", deployment.model_execution_role.arn)
    # where this stage's model roles read registered models from (the artifact contract)
    pulumi.export("registered_models_bucket", dev_stack.require_output("artifacts_bucket"))
    pulumi.export("registered_models_key_arn", dev_stack.require_output("artifacts_key_arn"))

# --- use cases: one UseCase per usecases/*.yaml; governance parts and catalog in dev -----------
sagemaker_sgs = [network.sagemaker_sg.id]
usecases = {}
for manifest in load_manifests():
    governance = (
        dict(
            artifact_bucket=storage.pipeline_artifacts.name,
            data_bucket=storage.data.name,
            data_key_arn=keys.data.arn,
            model_artifacts_bucket=storage.model_artifacts.name,
            vpc_id=network.vpc_id,
            git_connection_arn=cfg.git.connection_arn,
            lead_data_scientist_role_name=studio_roles.lead_data_scientist.name,
            data_scientist_role_name=studio_roles.data_scientist.name,
        )
        if cfg.is_governance
        else {}
    )
    usecases[manifest.name] = UseCase(
        f"usecase-{manifest.name}",
        UseCaseArgs(
            manifest=manifest,
            config=cfg,
            tags=tags,
            kms_key_arn=keys.artifacts.arn,
            subnet_ids=network.private_subnet_ids,
            security_group_ids=sagemaker_sgs,
            # staging/prod: the platform's model-execution role; dev: the use case makes its own
            model_execution_role_arn=None if cfg.is_governance else model_execution_role_arn,
            **governance,
        ),
        opts=opts,
    )
pulumi.export("usecases", {n: u.deployer_role.arn for n, u in usecases.items()})
if cfg.is_governance:
    catalog = ServiceCatalog(
        "catalog",
        ServiceCatalogArgs(
            config=cfg,
            tags=tags,
            templates=discover_templates(),
            kms_key_arn=keys.artifacts.arn,
            templates_bucket=storage.pipeline_artifacts.name,
            lead_data_scientist_role_arn=studio_roles.lead_data_scientist.arn,
            lead_data_scientist_role_name=studio_roles.lead_data_scientist.name,
            vpc_id=network.vpc_id,
            subnet_ids=network.private_subnet_ids,
            security_group_ids=sagemaker_sgs,
            enable_projects=False,  # Studio owns the account-level SageMaker Projects switch
        ),
        opts=opts,
    )
    pulumi.export("service_catalog_portfolio_id", catalog.portfolio.id)
