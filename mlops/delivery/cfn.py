"""The Service Catalog / SageMaker Projects product template (pure: data in, YAML text out).

The product does NOT create per-use-case infrastructure (that would duplicate ``UseCase``). It
declares one custom resource whose handler starts the onboarding build, which runs the same
``mlops onboard`` as the CLI and opens a change adding ``usecases/<name>.yaml``; once merged, the
platform program builds the ``UseCase`` from the manifest. One definition serves both paths.

The same template body serves classic Service Catalog products and the newer S3-provisioned
SageMaker project templates (``CreateProject(TemplateProviders=[{CfnTemplateProvider: ...}])``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from mlops.usecases import NAME_MAX, NAME_PATTERN

STUDIO_VISIBILITY_TAG = {"sagemaker:studio-visibility": "true"}
_EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
_TEMPLATE_NAME = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$"


@dataclass(frozen=True)
class TemplateProduct:
    """One copier template offered in Studio."""

    name: str
    version: str
    description: str

    @property
    def object_key(self) -> str:
        return f"service-catalog/{self.name}/{self.version}/product.yaml"


def product_template(product: TemplateProduct, onboarding_function_arn: str) -> dict[str, Any]:
    """CloudFormation for launching `product`: one custom resource calling the onboarding hook."""
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": (
            f"Onboard a new use case from template {product.name} {product.version}: runs the "
            "same `mlops onboard` as the CLI and opens a change adding usecases/<name>.yaml. "
            "Per-use-case infrastructure is created by the platform from that manifest."
        ),
        "Parameters": {
            # SageMaker Projects passes these two to every project template.
            "SageMakerProjectName": {
                "Type": "String",
                "Description": "Use-case name: lower-case letters, digits and single hyphens",
                "AllowedPattern": NAME_PATTERN,
                "MaxLength": NAME_MAX,
                "MinLength": 1,
            },
            "SageMakerProjectId": {
                "Type": "String",
                "Description": "Set by SageMaker Projects; none for a Service Catalog launch",
                "Default": "none",
            },
            "OwnerEmail": {
                "Type": "String",
                "Description": "E-mail of the accountable lead data scientist",
                "AllowedPattern": _EMAIL_PATTERN,
            },
            "Description": {
                "Type": "String",
                "Description": "One line saying what the model decides",
                "MaxLength": 256,
                "Default": "",
            },
        },
        "Resources": {
            "Onboarding": {
                "Type": "Custom::MlopsOnboarding",
                "Properties": {
                    "ServiceToken": onboarding_function_arn,
                    "UseCaseName": {"Ref": "SageMakerProjectName"},
                    "ProjectId": {"Ref": "SageMakerProjectId"},
                    "OwnerEmail": {"Ref": "OwnerEmail"},
                    "Description": {"Ref": "Description"},
                    "Template": product.name,
                    "TemplateVersion": product.version,
                },
            }
        },
        "Outputs": {
            "OnboardingBuildId": {
                "Description": "CodeBuild run of `mlops onboard` (its log links the change)",
                "Value": {"Fn::GetAtt": ["Onboarding", "BuildId"]},
            },
            "Manifest": {
                "Description": "Manifest the change adds; the platform builds the use case from it",
                "Value": {"Fn::Sub": "usecases/${SageMakerProjectName}.yaml"},
            },
        },
    }


def render(template: dict[str, Any]) -> str:
    return yaml.safe_dump(template, sort_keys=False, width=100)


def template_url(bucket: str, region: str, key: str) -> str:
    return f"https://{bucket}.s3.{region}.amazonaws.com/{key}"


def s3_template_provider(
    product: TemplateProduct, url: str, role_arn: str | None = None, **parameters: str
) -> dict[str, Any]:
    """`TemplateProviders` entry for SageMaker `CreateProject` with an S3-provisioned template."""
    import re

    if not re.fullmatch(_TEMPLATE_NAME, product.name):
        raise ValueError(f"template name {product.name!r} is not a valid SageMaker TemplateName")
    provider: dict[str, Any] = {"TemplateName": product.name, "TemplateURL": url}
    if role_arn:
        provider["RoleARN"] = role_arn
    if parameters:
        provider["Parameters"] = [{"Key": k, "Value": v} for k, v in sorted(parameters.items())]
    return {"CfnTemplateProvider": provider}
