"""Pulumi program of this use case's inference stack: its endpoint behind API Gateway.

The resources come from the platform library's reusable `InferenceService` component
(`mlops.components.serving`); this repo supplies only its settings, read from the stack's config
(`Pulumi.<stack>.yaml` of this repo). Physical names come from `mlops.naming`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tabular_core import usecase

ENVIRONMENTS = ("dev", "staging", "prod")


@dataclass(frozen=True, kw_only=True)
class ServiceSettings:
    environment: str
    account_id: str
    instance_type: str = "ml.m5.large"
    min_instances: int = 1
    max_instances: int = 2
    serverless_memory_mb: int | None = 2048

    def __post_init__(self) -> None:
        if self.environment not in ENVIRONMENTS:
            raise ValueError(f"environment must be one of {ENVIRONMENTS}, got {self.environment!r}")
        if not (len(self.account_id) == 12 and self.account_id.isdigit()):
            raise ValueError(f"account_id must be 12 digits, got {self.account_id!r}")
        if not 1 <= self.min_instances <= self.max_instances:
            raise ValueError("need 1 <= min_instances <= max_instances")

    @property
    def model_package_group(self) -> str:
        from mlops.naming import NameContext, usecase_name

        names = NameContext(self.environment, self.account_id, usecase.AWS_REGION)
        return usecase_name(names, usecase.USECASE_NAME, "models", kind="sagemaker")


def settings_from_config(config: Any, environment: str) -> ServiceSettings:
    """Read settings from a `pulumi.Config` (or anything with `get`/`require`/`get_int`)."""
    memory = config.get_int("serverlessMemoryMb")
    return ServiceSettings(
        environment=environment,
        account_id=config.require("accountId"),
        instance_type=config.get("instanceType") or "ml.m5.large",
        min_instances=config.get_int("minInstances") or 1,
        max_instances=config.get_int("maxInstances") or 2,
        serverless_memory_mb=memory
        if memory is not None
        else (2048 if environment != "prod" else None),
    )


def build(settings: ServiceSettings) -> Any:
    """Create the use case's inference service (the platform component does the work)."""
    from mlops.components.serving import InferenceService, InferenceServiceArgs

    return InferenceService(
        usecase.USECASE_NAME,
        InferenceServiceArgs(
            usecase=usecase.USECASE_NAME,
            model_package_group=settings.model_package_group,
            instance_type=settings.instance_type,
            min_instances=settings.min_instances,
            max_instances=settings.max_instances,
            serverless_memory_mb=settings.serverless_memory_mb,
            entry_point="tabular_inference/serve.py",
        ),
    )
