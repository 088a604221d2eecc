"""`mlops:serving:ModelEndpoint` — one SageMaker endpoint for an approved model package.

- Model from the package ARN, run by its own least-privilege role.
- Endpoint config encrypted with the stack key.
- Serverless (memory, max concurrency) or real-time (instance type, min..max instances with
  target-tracking autoscaling on invocations per instance).
- Real-time only: model in the VPC with network isolation, data capture (input and output,
  KMS-encrypted with the capture bucket's key). SageMaker Serverless supports none of the three.
- Real-time only: a new model arrives through SageMaker's deployment guardrails — blue/green with
  the manifest's traffic shifting (``Rollout``: canary, linear or all at once, with waits) and
  automatic rollback when any of ``rollback_alarm_names`` fires during the rollout. Serverless
  endpoints update blue/green all at once (SageMaker's default): their traffic cannot be shifted
  by instance capacity, and rolling updates exclude them.
Built by ``InferenceService``; usable on its own.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops import iam
from mlops.inference import serving_docs
from mlops.naming import (
    NameContext,
    boundary_policy_arn,
    deploy_suffix,
    endpoint_config_name,
    endpoint_name,
    sagemaker_model_name,
    usecase_name,
)
from mlops.rehearsal import declare
from mlops.usecases import ROLLOUT_MAX_SECONDS, RealtimeEndpoint, Rollout, ServerlessEndpoint

VARIANT = "AllTraffic"
MAX_ROLLBACK_ALARMS = 10


@dataclass(frozen=True, kw_only=True)
class ModelEndpointArgs:
    usecase: str
    names: NameContext
    tags: Mapping[str, str]
    endpoint: ServerlessEndpoint | RealtimeEndpoint
    model_package_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[str]]
    security_group_ids: pulumi.Input[Sequence[str]]
    model_artifact_bucket_arn: pulumi.Input[str] | None = None
    """The registry bucket registered models live in (dev's model-artifacts, the artifact
    contract: `mlops.delivery.artifacts`); the role reads `<usecase>/models/*` of it only."""
    model_artifact_kms_key_arn: pulumi.Input[str] | None = None
    """That bucket's key (dev's artifacts key); required with `model_artifact_bucket_arn`."""
    data_capture_bucket: pulumi.Input[str] | None = None
    data_capture_kms_key_arn: pulumi.Input[str] | None = None
    data_capture_percent: int = 100
    scale_target_invocations: float = 200.0
    rollback_alarm_names: Sequence[pulumi.Input[str]] = ()
    """Alarms that roll a real-time rollout back (endpoint errors and latency, and the use
    case's own, such as the investigate share); SageMaker takes 1..10."""

    def __post_init__(self) -> None:
        if (
            isinstance(self.endpoint, RealtimeEndpoint)
            and not 1 <= len(self.rollback_alarm_names) <= MAX_ROLLBACK_ALARMS
        ):
            raise ValueError(
                f"a real-time endpoint needs 1..{MAX_ROLLBACK_ALARMS} rollback_alarm_names "
                f"(got {len(self.rollback_alarm_names)}): a rollout without alarms cannot roll back"
            )
        if not 0 < self.data_capture_percent <= 100:
            raise ValueError("data_capture_percent must be within 1..100")
        if isinstance(self.endpoint, RealtimeEndpoint) and self.data_capture_bucket is None:
            raise ValueError(
                "a real-time endpoint needs data_capture_bucket (KMS-encrypted capture)"
            )

    @property
    def realtime(self) -> bool:
        return isinstance(self.endpoint, RealtimeEndpoint)


def deployment_config(rollout: Rollout, alarm_names: Sequence[pulumi.Input[str]]) -> dict[str, Any]:
    """SageMaker deployment guardrails for a real-time endpoint (blue/green, traffic shifted as
    the manifest says, rolled back when an alarm fires)."""
    routing: dict[str, Any] = {
        "type": rollout.traffic.upper(),
        "wait_interval_in_seconds": rollout.wait_seconds,
    }
    size = {"type": "CAPACITY_PERCENT", "value": rollout.step_percent}
    if rollout.traffic == "canary":
        routing["canary_size"] = size
    elif rollout.traffic == "linear":
        routing["linear_step_size"] = size
    return {
        "blue_green_update_policy": {
            "traffic_routing_configuration": routing,
            "termination_wait_in_seconds": rollout.termination_wait_seconds,
            "maximum_execution_timeout_in_seconds": ROLLOUT_MAX_SECONDS,
        },
        "auto_rollback_configuration": {"alarms": [{"alarm_name": n} for n in alarm_names]},
    }


class ModelEndpoint(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: ModelEndpointArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:serving:ModelEndpoint", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        a, n = args, args.names
        tags = dict(a.tags)
        capture_key = a.data_capture_kms_key_arn or a.kms_key_arn
        capture_arn = (
            pulumi.Output.from_input(a.data_capture_bucket).apply(lambda b: f"arn:aws:s3:::{b}")
            if a.realtime and a.data_capture_bucket
            else None
        )
        self.role = aws.iam.Role(
            f"{name}-role",
            name=usecase_name(n, a.usecase, "model", kind="role"),
            permissions_boundary=boundary_policy_arn(n, a.usecase),
            assume_role_policy=iam.dumps(
                iam.service_trust("sagemaker.amazonaws.com", n.account_id)
            ),
            tags=tags,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-role-policy",
            role=self.role.name,
            policy=pulumi.Output.all(
                keys=[a.kms_key_arn, capture_key],
                artifacts=a.model_artifact_bucket_arn,
                artifacts_key=a.model_artifact_kms_key_arn,
                capture=capture_arn,
                subnets=a.subnet_ids if a.realtime else [],
                groups=a.security_group_ids if a.realtime else [],
            ).apply(
                lambda v: iam.dumps(
                    serving_docs.model_policy(
                        kms_key_arns=v["keys"],
                        artifact_bucket_arn=v["artifacts"],
                        artifact_key_arn=v["artifacts_key"],
                        usecase=a.usecase,
                        capture_bucket_arn=v["capture"],
                        region=n.region,
                        account_id=n.account_id,
                        subnet_ids=v["subnets"],
                        security_group_ids=v["groups"],
                    )
                )
            ),
            opts=pulumi.ResourceOptions(parent=self.role),
        )
        # Physical names inside the deployer's `mlops-<env>-<usecase>-*` scope; the model and the
        # config end in a suffix of what they hold, so a replacement coexists with the one serving.
        # the rollout is how the endpoint changes, not what it serves: not part of the config
        settings = json.dumps(a.endpoint.model_dump(mode="json", exclude={"rollout"}),
                              sort_keys=True)  # fmt: skip
        model_suffix = pulumi.Output.all(
            a.model_package_arn, a.subnet_ids, a.security_group_ids
        ).apply(lambda v: deploy_suffix(v[0], str(a.realtime), json.dumps(v[1:], sort_keys=True)))
        self.model = aws.sagemaker.Model(
            f"{name}-model",
            name=model_suffix.apply(lambda sfx: sagemaker_model_name(n, a.usecase, sfx)),
            execution_role_arn=self.role.arn,
            primary_container={"model_package_name": a.model_package_arn},
            enable_network_isolation=a.realtime,  # unsupported on serverless
            vpc_config=(
                {"subnets": a.subnet_ids, "security_group_ids": a.security_group_ids}
                if a.realtime
                else None
            ),
            tags=tags,
            opts=child,
        )
        variant: dict[str, Any] = {"variant_name": VARIANT, "model_name": self.model.name}
        capture: dict[str, Any] | None = None
        if isinstance(a.endpoint, RealtimeEndpoint):
            variant |= {
                "instance_type": a.endpoint.instance_type,
                "initial_instance_count": a.endpoint.min_instances,
            }
            capture = {
                "enable_capture": True,
                "initial_sampling_percentage": a.data_capture_percent,
                "destination_s3_uri": pulumi.Output.concat(
                    "s3://", a.data_capture_bucket, f"/data-capture/{a.usecase}"
                ),
                "kms_key_id": capture_key,
                "capture_options": [{"capture_mode": "Input"}, {"capture_mode": "Output"}],
                "capture_content_type_header": {"json_content_types": ["application/json"]},
            }
        else:
            variant["serverless_config"] = {
                "max_concurrency": a.endpoint.max_concurrency,
                "memory_size_in_mb": a.endpoint.memory_mb,
            }
        config_suffix = pulumi.Output.all(
            model_suffix, a.kms_key_arn, a.data_capture_bucket, capture_key
        ).apply(
            lambda v: deploy_suffix(*(str(x) for x in v), settings, str(a.data_capture_percent))
        )
        self.config = aws.sagemaker.EndpointConfiguration(
            f"{name}-config",
            name=config_suffix.apply(lambda sfx: endpoint_config_name(n, a.usecase, sfx)),
            kms_key_arn=a.kms_key_arn,
            production_variants=[variant],
            data_capture_config=capture,
            tags=tags,
            opts=child,
        )
        self.endpoint = aws.sagemaker.Endpoint(
            f"{name}-endpoint",
            name=endpoint_name(n, a.usecase),
            endpoint_config_name=self.config.name,
            deployment_config=(
                deployment_config(a.endpoint.rollout, a.rollback_alarm_names)
                if isinstance(a.endpoint, RealtimeEndpoint)
                else None
            ),
            tags=tags,
            opts=child,
        )
        self.scaling_target: aws.appautoscaling.Target | None = None
        self.scaling_policy: aws.appautoscaling.Policy | None = None
        if isinstance(a.endpoint, RealtimeEndpoint):
            self.scaling_target = aws.appautoscaling.Target(
                f"{name}-scaling-target",
                service_namespace="sagemaker",
                scalable_dimension="sagemaker:variant:DesiredInstanceCount",
                resource_id=self.endpoint.name.apply(lambda e: f"endpoint/{e}/variant/{VARIANT}"),
                min_capacity=a.endpoint.min_instances,
                max_capacity=a.endpoint.max_instances,
                tags=tags,
                opts=child,
            )
            self.scaling_policy = aws.appautoscaling.Policy(
                f"{name}-scaling-policy",
                policy_type="TargetTrackingScaling",
                service_namespace=self.scaling_target.service_namespace,
                scalable_dimension=self.scaling_target.scalable_dimension,
                resource_id=self.scaling_target.resource_id,
                target_tracking_scaling_policy_configuration={
                    "target_value": a.scale_target_invocations,
                    "predefined_metric_specification": {
                        "predefined_metric_type": "SageMakerVariantInvocationsPerInstance"
                    },
                    "scale_in_cooldown": 300,
                    "scale_out_cooldown": 60,
                },
                opts=child,
            )
        self._args = args
        self._capture_arn = capture_arn
        self.register_outputs(
            {"endpoint_name": self.endpoint.name, "endpoint_arn": self.endpoint.arn}
        )

    def declare_runtime(self, order: int) -> None:
        """SageMaker, as the model's role, loads the package (its model data and image: a join
        with the training side, given as ``package:`` placeholders the rehearsal resolves),
        then the endpoint writes logs, metrics and captured data."""
        a, n = self._args, self._args.names
        declare.service_assumes(
            flow="decision",
            step="SageMaker takes the model role",
            service="sagemaker.amazonaws.com",
            role_arn=self.role.arn,
            account=n.account_id,
            order=order,
        )
        origin = (
            declare.vpc(None, a.subnet_ids, a.security_group_ids)
            if a.realtime
            else declare.AWS_SERVICE
        )
        calls = [
            declare.call("s3:GetObject", "package:model-data", why="download the model data"),
            declare.call("ecr:GetAuthorizationToken", why="pull the package's image"),
            declare.call("ecr:BatchGetImage", "package:image", why="pull the package's image"),
            declare.call("ecr:GetDownloadUrlForLayer", "package:image", why="image layers"),
            declare.call(
                "logs:PutLogEvents",
                f"arn:aws:logs:{n.region}:{n.account_id}:log-group:/aws/sagemaker/Endpoints/"
                f"{endpoint_name(n, a.usecase)}:log-stream:r",
                why="endpoint logs",
            ),
            declare.call(
                "cloudwatch:PutMetricData",
                context={"cloudwatch:namespace": "/aws/sagemaker/Endpoints"},
                why="endpoint metrics",
            ),
        ]
        if self._capture_arn is not None:
            calls.append(
                declare.call(
                    "s3:PutObject",
                    self._capture_arn.apply(lambda b: f"{b}/data-capture/{a.usecase}/r.jsonl"),
                    why="data capture",
                )
            )
        declare.actor(
            flow="decision",
            step="the endpoint loads the model and serves",
            principal=self.role.arn,
            account=n.account_id,
            origin=origin,
            calls=calls,
            order=order + 1,
        )
