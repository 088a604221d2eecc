"""The Service Catalog / SageMaker Projects product template (pure: data in, YAML text out).

The product does NOT create per-use-case infrastructure (that would duplicate ``UseCase``). It
declares one custom resource whose handler starts the onboarding build, which runs the same
``mlops onboard`` as the CLI, creates both repos in the Git provider with the rendered code and
opens a pull request adding ``usecases/<name>.yaml``; once merged, the platform program builds the
``UseCase`` from the manifest. One definition serves both paths. The form (the template's
parameters) asks the template's own questions (``mlops.onboarding.form``).

The same template body serves classic Service Catalog products and the newer S3-provisioned
SageMaker project templates (``CreateProject(TemplateProviders=[{CfnTemplateProvider: ...}])``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from mlops.onboarding.form import PROJECT_NAME_PARAMETER, FormField
from mlops.usecases import NAME_MAX, NAME_PATTERN

STUDIO_VISIBILITY_TAG = {"sagemaker:studio-visibility": "true"}
_TEMPLATE_NAME = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$"


@dataclass(frozen=True)
class TemplateProduct:
    """One copier template offered in Studio."""

    name: str
    version: str
    description: str
    fields: tuple[FormField, ...] = ()
    """The template's questions as form fields (`mlops.onboarding.form.form_fields`)."""

    @property
    def object_key(self) -> str:
        return f"service-catalog/{self.name}/{self.version}/product.yaml"


def product_template(
    product: TemplateProduct,
    onboarding_function_arn: str,
    fields: tuple[FormField, ...] | None = None,
) -> dict[str, Any]:
    """CloudFormation for launching `product`: its questions as parameters, one custom resource
    calling the onboarding hook. `fields` default to the product's own."""
    fields = product.fields if fields is None else fields
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": (
            f"Onboard a new use case from template {product.name} {product.version}: runs the "
            "same `mlops onboard` as the CLI, creates the training and inference repos with the "
            "rendered code and opens a pull request adding usecases/<name>.yaml. Per-use-case "
            "infrastructure is created by the platform from that manifest."
        ),
        "Parameters": {
            # SageMaker Projects passes these two to every project template.
            PROJECT_NAME_PARAMETER: {
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
            **{f.parameter: f.cfn() for f in fields if f.parameter != PROJECT_NAME_PARAMETER},
        },
        "Resources": {
            "Onboarding": {
                "Type": "Custom::MlopsOnboarding",
                "Properties": {
                    "ServiceToken": onboarding_function_arn,
                    # the build answers; it may take up to its 30-minute timeout
                    "ServiceTimeout": 2400,
                    "UseCaseName": {"Ref": PROJECT_NAME_PARAMETER},
                    "ProjectId": {"Ref": "SageMakerProjectId"},
                    "Template": product.name,
                    "TemplateVersion": product.version,
                    "Answers": {f.question: {"Ref": f.parameter} for f in fields},
                },
            }
        },
        "Outputs": {
            "PullRequest": {
                "Description": "The pull request adding the manifest (review and merge it)",
                "Value": {"Fn::GetAtt": ["Onboarding", "PullRequest"]},
            },
            "TrainingRepo": {
                "Description": "The training repo, with the rendered code",
                "Value": {"Fn::GetAtt": ["Onboarding", "TrainingRepo"]},
            },
            "InferenceRepo": {
                "Description": "The inference repo, with the rendered code",
                "Value": {"Fn::GetAtt": ["Onboarding", "InferenceRepo"]},
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
