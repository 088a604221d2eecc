"""SageMaker Studio (dev stack): a VPC-only, KMS-encrypted, IAM-auth domain with user profiles.

- `auth_mode="IAM"`, `app_network_access_type="VpcOnly"` in the private subnets with the SageMaker
  security group, the Studio KMS key for EFS and app storage;
- EFS home volume deleted with the domain (`retention_policy`), so `pulumi destroy` works;
- one user profile per data scientist (data-scientist role) and per lead (lead role);
- notebook sharing disabled (no output copied to S3 outside our buckets);
- SageMaker Projects enabled for the account (`ServicecatalogPortfolioStatus`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops.config import Person
from mlops.naming import NameContext, name
from mlops.tags import with_component


@dataclass(frozen=True, kw_only=True)
class StudioArgs:
    names: NameContext
    tags: Mapping[str, str]
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[str]]
    security_group_id: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    execution_role_arn: pulumi.Input[str]
    data_scientist_role_arn: pulumi.Input[str]
    lead_role_arn: pulumi.Input[str]
    data_scientists: Sequence[Person] = ()
    lead_data_scientists: Sequence[Person] = ()
    enable_projects: bool = True

    def __post_init__(self) -> None:
        if self.names.environment != "dev":
            raise ValueError("Studio is created in the dev (data science) stack only")
        if not self.lead_data_scientists:
            raise ValueError("StudioArgs.lead_data_scientists: at least one lead is required")
        users = [p.user for p in [*self.data_scientists, *self.lead_data_scientists]]
        if len(set(users)) != len(users):
            raise ValueError("StudioArgs: user profile names must be unique")


class Studio(pulumi.ComponentResource):
    def __init__(
        self, name_: str, args: StudioArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:studio:Studio", name_, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = with_component(args.tags, "studio")
        sgs = [args.security_group_id]
        self.domain = aws.sagemaker.Domain(
            f"{name_}-domain",
            domain_name=name(args.names, "studio", kind="sagemaker"),
            auth_mode="IAM",
            app_network_access_type="VpcOnly",
            app_security_group_management="Service",
            vpc_id=args.vpc_id,
            subnet_ids=args.subnet_ids,
            kms_key_id=args.kms_key_arn,
            retention_policy=aws.sagemaker.DomainRetentionPolicyArgs(home_efs_file_system="Delete"),
            domain_settings=aws.sagemaker.DomainDomainSettingsArgs(security_group_ids=sgs),
            default_user_settings=aws.sagemaker.DomainDefaultUserSettingsArgs(
                execution_role=args.execution_role_arn,
                security_groups=sgs,
                sharing_settings=aws.sagemaker.DomainDefaultUserSettingsSharingSettingsArgs(
                    notebook_output_option="Disabled"
                ),
                studio_web_portal="ENABLED",
                default_landing_uri="studio::",
            ),
            default_space_settings=aws.sagemaker.DomainDefaultSpaceSettingsArgs(
                execution_role=args.execution_role_arn, security_groups=sgs
            ),
            tag_propagation="ENABLED",
            tags=tags,
            opts=child,
        )
        self.user_profiles: dict[str, aws.sagemaker.UserProfile] = {}
        people = [(p, "data-scientist", args.data_scientist_role_arn) for p in args.data_scientists]
        people += [
            (p, "lead-data-scientist", args.lead_role_arn) for p in args.lead_data_scientists
        ]
        for person, persona, role_arn in people:
            self.user_profiles[person.user] = aws.sagemaker.UserProfile(
                f"{name_}-user-{person.user}",
                domain_id=self.domain.id,
                user_profile_name=person.user,
                user_settings=aws.sagemaker.UserProfileUserSettingsArgs(
                    execution_role=role_arn, security_groups=sgs
                ),
                tags={**tags, "persona": persona},
                opts=child,
            )
        self.projects = None
        if args.enable_projects:
            # Account-level switch that lets Studio list and launch SageMaker Projects products.
            self.projects = aws.sagemaker.ServicecatalogPortfolioStatus(
                f"{name_}-projects", status="Enabled", opts=child
            )
        self.register_outputs(
            {"domain_id": self.domain.id, "user_profiles": sorted(self.user_profiles)}
        )
