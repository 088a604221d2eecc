"""Settings every use case's inference stack shares (its `Pulumi.<stack>.yaml`).

Rendered inference repos subclass `InferenceStackSettings` with their own extra settings and read
the common ones with `common_settings(config, environment, ...)`; the endpoint they describe is
turned into the manifest's endpoint model that `InferenceService` takes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ENVIRONMENTS = ("dev", "staging", "prod")


@dataclass(frozen=True, kw_only=True)
class InferenceStackSettings:
    environment: str
    account_id: str
    platform_stack: str
    model_package_arn: str | None = None
    endpoint_mode: str = "serverless"
    serverless_memory_mb: int = 2048
    max_concurrency: int = 5
    instance_type: str = "ml.c6i.large"
    min_instances: int = 1
    max_instances: int = 2
    rollout_traffic: str = "canary"
    rollout_step_percent: int = 10
    rollout_wait_seconds: int = 600
    rollout_termination_wait_seconds: int = 300
    """A real-time endpoint's rollout (the manifest's stacks.<env>.endpoint.rollout, set by the
    deploy build as `rolloutTraffic`, `rolloutStepPercent`, ...; validated by the manifest's
    `Rollout`)."""
    function_concurrency: int = 10
    """Reserved concurrency of each serving Lambda (the manifest's
    stacks.<env>.function_concurrency, set by the deploy build as `functionConcurrency`)."""
    lambda_layer_arns: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.environment not in ENVIRONMENTS:
            raise ValueError(f"environment must be one of {ENVIRONMENTS}, got {self.environment!r}")
        if not (len(self.account_id) == 12 and self.account_id.isdigit()):
            raise ValueError(f"accountId must be 12 digits, got {self.account_id!r}")
        if self.endpoint_mode not in ("serverless", "realtime"):
            raise ValueError(f"endpointMode must be serverless or realtime: {self.endpoint_mode!r}")
        if not 1 <= self.min_instances <= self.max_instances:
            raise ValueError("need 1 <= minInstances <= maxInstances")
        if not 1 <= self.function_concurrency <= 900:
            raise ValueError(
                f"functionConcurrency must be within 1..900, got {self.function_concurrency}"
            )
        if self.model_package_arn is not None and ":model-package/" not in self.model_package_arn:
            raise ValueError(
                f"modelPackageArn {self.model_package_arn!r} is not a model package ARN "
                "(arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>)"
            )

    def endpoint(self) -> Any:
        """The endpoint as the use-case manifest models it (what InferenceService takes)."""
        from mlops.usecases import RealtimeEndpoint, Rollout, ServerlessEndpoint

        if self.endpoint_mode == "realtime":
            return RealtimeEndpoint(
                mode="realtime",
                instance_type=self.instance_type,
                min_instances=self.min_instances,
                max_instances=self.max_instances,
                rollout=Rollout(
                    traffic=self.rollout_traffic,  # type: ignore[arg-type]
                    step_percent=self.rollout_step_percent,
                    wait_seconds=self.rollout_wait_seconds,
                    termination_wait_seconds=self.rollout_termination_wait_seconds,
                ),
            )
        return ServerlessEndpoint(
            mode="serverless",
            memory_mb=self.serverless_memory_mb,
            max_concurrency=self.max_concurrency,
        )


def common_settings(
    config: Any,
    environment: str,
    *,
    instance_type: str = "ml.c6i.large",
    prod_instances: tuple[int, int] = (2, 6),
) -> dict[str, Any]:
    """The shared settings from a `pulumi.Config` (or anything with get/require/get_int/
    get_object): prod defaults to real-time with `prod_instances`, other stacks to serverless."""
    prod = environment == "prod"
    return {
        "environment": environment,
        "account_id": config.require("accountId"),
        "platform_stack": config.require("platformStack"),
        "model_package_arn": config.get("modelPackageArn") or None,
        "endpoint_mode": config.get("endpointMode") or ("realtime" if prod else "serverless"),
        "serverless_memory_mb": config.get_int("serverlessMemoryMb") or 2048,
        "max_concurrency": config.get_int("maxConcurrency") or 5,
        "instance_type": config.get("instanceType") or instance_type,
        "min_instances": config.get_int("minInstances") or (prod_instances[0] if prod else 1),
        "max_instances": config.get_int("maxInstances") or (prod_instances[1] if prod else 2),
        "rollout_traffic": config.get("rolloutTraffic") or "canary",
        "rollout_step_percent": config.get_int("rolloutStepPercent") or 10,
        "rollout_wait_seconds": _int_or(config.get_int("rolloutWaitSeconds"), 600),
        "rollout_termination_wait_seconds": _int_or(
            config.get_int("rolloutTerminationWaitSeconds"), 300
        ),
        "function_concurrency": config.get_int("functionConcurrency") or 10,
        "lambda_layer_arns": tuple(config.get_object("lambdaLayerArns") or ()),
    }


def _int_or(value: int | None, default: int) -> int:
    """`value` unless unset (0 is a valid wait)."""
    return default if value is None else value
