"""Pulumi program of this use case's inference stack: its decision API.

Everything is built by the platform's reusable `InferenceService` component
(`mlops.components.serving`): the endpoint for the approved model package (none until one is
approved), the three workflow Lambdas of `handlers.py`, the Express workflow and the IAM-auth
REST API behind API Gateway. This repo supplies settings only, read from its stack config and
the platform stack's outputs (network, keys, buckets).

Config (`Pulumi.<stack>.yaml`): accountId, platformStack, modelPackageArn (optional),
endpointMode (serverless | realtime) + serverlessMemoryMb/maxConcurrency |
instanceType/minInstances/maxInstances, lambdaLayerArns (the Python dependencies, built by CI).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlops.inference.stack_settings import InferenceStackSettings, common_settings

from tabular_core import usecase

HANDLERS = {
    "encode": "tabular_inference.handlers.encode_handler",
    "market": "tabular_inference.handlers.context_handler",
    "decide": "tabular_inference.handlers.decide_handler",
}


@dataclass(frozen=True, kw_only=True)
class ServiceSettings(InferenceStackSettings):
    """The platform's common inference-stack settings (`mlops.inference.stack_settings`)."""

    instance_type: str = "ml.m5.large"

    @property
    def model_package_group(self) -> str:
        """The group the training pipeline registers into (same `mlops.naming` function)."""
        from mlops.naming import NameContext, usecase_name

        names = NameContext(self.environment, self.account_id, usecase.AWS_REGION)
        return usecase_name(names, usecase.USECASE_NAME, "models", kind="sagemaker")


def settings_from_config(config: Any, environment: str) -> ServiceSettings:
    """Read settings from a `pulumi.Config` (or anything with get/require/get_int/get_object)."""
    return ServiceSettings(
        **common_settings(config, environment, instance_type="ml.m5.large", prod_instances=(2, 4))
    )


def lambda_code(src_dir: str = "src") -> Any:
    """The deployment package: this repo's two packages (dependencies come from the layers)."""
    import pulumi

    return pulumi.AssetArchive(
        {
            "tabular_inference": pulumi.FileArchive(f"{src_dir}/tabular_inference"),
            "tabular_core": pulumi.FileArchive(f"{src_dir}/tabular_core"),
        }
    )


def build(settings: ServiceSettings, code: Any = None) -> Any:
    """Create the use case's decision service (the platform component does the work)."""
    import pulumi
    from mlops.components.serving import FunctionSpec, InferenceService, InferenceServiceArgs
    from mlops.naming import NameContext

    from tabular_inference.requests import PredictRequest

    platform = pulumi.StackReference(settings.platform_stack)
    names = NameContext(settings.environment, settings.account_id, usecase.AWS_REGION)
    return InferenceService(
        usecase.USECASE_NAME,
        InferenceServiceArgs(
            usecase=usecase.USECASE_NAME,
            names=names,
            tags={
                "owner": usecase.OWNER_EMAIL,
                "cost-centre": usecase.USECASE_NAME,
                "data-classification": "confidential",
                "environment": settings.environment,
                "managed-by": "pulumi",
            },
            endpoint=settings.endpoint(),
            functions=[
                FunctionSpec(role=role, handler=handler, memory_mb=256)
                for role, handler in HANDLERS.items()
            ],
            code=code if code is not None else lambda_code(),
            kms_key_arn=platform.require_output("artifacts_key_arn"),
            subnet_ids=platform.require_output("private_subnet_ids"),
            security_group_ids=platform.require_output("sagemaker_security_group_id").apply(
                lambda sg: [sg]
            ),
            model_package_arn=settings.model_package_arn,
            # registered models live in dev's model-artifacts bucket (the artifact contract)
            model_artifact_bucket_arn=platform.require_output("registered_models_bucket").apply(
                lambda b: f"arn:aws:s3:::{b}"
            ),
            model_artifact_kms_key_arn=platform.require_output("registered_models_key_arn"),
            data_capture_bucket=platform.require_output("data_bucket"),
            layers=list(settings.lambda_layer_arns),
            request_schema=PredictRequest.model_json_schema(),
            reserved_concurrency=settings.function_concurrency,
        ),
    )
