"""Deploy a registered model package to one stage, then record the promotion on the package.

Run by the deploy pipeline's CodeBuild actions (``python -m mlops.delivery.deploy``). The pure part
(``choose_package``, ``plan``) decides *what* to call; ``apply`` and ``main`` are the boto3 adapter:
assume the stage's per-use-case deployer role, read the deployment target (SSM parameter written by
the ``UseCase`` component of that stack), create model → endpoint config → endpoint (or update it),
register autoscaling for real-time endpoints, and record stage, package and approver.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlops.delivery.promotion import (
    PromotionError,
    approver_from_pipeline,
    deployed_marker,
    record_promotion,
    registry_approver,
)

VARIANT = "AllTraffic"


@dataclass(frozen=True)
class Target:
    usecase: str
    environment: str
    endpoint_name: str
    model_execution_role_arn: str
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]
    endpoint: Mapping[str, Any]

    @classmethod
    def from_json(cls, text: str) -> Target:
        d = json.loads(text)
        return cls(
            usecase=d["usecase"],
            environment=d["environment"],
            endpoint_name=d["endpoint_name"],
            model_execution_role_arn=d["model_execution_role_arn"],
            subnet_ids=tuple(d["subnet_ids"]),
            security_group_ids=tuple(d["security_group_ids"]),
            endpoint=d["endpoint"],
        )


def choose_package(packages: Sequence[Mapping[str, Any]], stage: str, execution_id: str) -> str:
    """dev: the newest Approved package never deployed; staging/prod: exactly the package this
    pipeline execution deployed to dev (so what was smoke-tested is what gets promoted)."""
    approved = [p for p in packages if p.get("ModelApprovalStatus") == "Approved"]
    if stage == "dev":
        fresh = [
            p
            for p in approved
            if deployed_marker("dev") not in (p.get("CustomerMetadataProperties") or {})
        ]
        if not fresh:
            raise PromotionError(
                "no Approved, undeployed model package in the group",
                "approve a package in the model registry first",
            )
        return max(fresh, key=lambda p: int(p["ModelPackageVersion"]))["ModelPackageArn"]
    same = [
        p
        for p in approved
        if (p.get("CustomerMetadataProperties") or {}).get("mlops:dev:pipeline-execution")
        == execution_id
    ]
    if len(same) != 1:
        raise PromotionError(
            f"expected one package deployed to dev by execution {execution_id}, found {len(same)}",
            "promote only through the deploy pipeline that deployed the package to dev",
        )
    return same[0]["ModelPackageArn"]


def plan(
    target: Target, package_arn: str, version: int, exists: bool
) -> list[tuple[str, str, dict]]:
    """(client, operation, request) calls that deploy `package_arn` to `target`."""
    suffix = f"v{version}"
    model = f"{target.endpoint_name}-{suffix}"
    config = f"{target.endpoint_name}-{suffix}"
    e = target.endpoint
    variant: dict[str, Any] = {"VariantName": VARIANT, "ModelName": model}
    if e["mode"] == "serverless":
        variant["ServerlessConfig"] = {
            "MemorySizeInMB": e["memory_mb"],
            "MaxConcurrency": e["max_concurrency"],
        }
    else:
        variant.update(InstanceType=e["instance_type"], InitialInstanceCount=e["min_instances"])
    calls: list[tuple[str, str, dict]] = [
        (
            "sagemaker",
            "create_model",
            {
                "ModelName": model,
                "ExecutionRoleArn": target.model_execution_role_arn,
                "Containers": [{"ModelPackageName": package_arn}],
                "VpcConfig": {
                    "Subnets": list(target.subnet_ids),
                    "SecurityGroupIds": list(target.security_group_ids),
                },
                "EnableNetworkIsolation": True,
            },
        ),
        (
            "sagemaker",
            "create_endpoint_config",
            {"EndpointConfigName": config, "ProductionVariants": [variant]},
        ),
        (
            "sagemaker",
            "update_endpoint" if exists else "create_endpoint",
            {"EndpointName": target.endpoint_name, "EndpointConfigName": config},
        ),
    ]
    if e["mode"] == "realtime":
        resource = f"endpoint/{target.endpoint_name}/variant/{VARIANT}"
        calls += [
            (
                "application-autoscaling",
                "register_scalable_target",
                {
                    "ServiceNamespace": "sagemaker",
                    "ResourceId": resource,
                    "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
                    "MinCapacity": e["min_instances"],
                    "MaxCapacity": e["max_instances"],
                },
            ),
            (
                "application-autoscaling",
                "put_scaling_policy",
                {
                    "PolicyName": f"{target.endpoint_name}-invocations",
                    "ServiceNamespace": "sagemaker",
                    "ResourceId": resource,
                    "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
                    "PolicyType": "TargetTrackingScaling",
                    "TargetTrackingScalingPolicyConfiguration": {
                        "TargetValue": 200.0,
                        "PredefinedMetricSpecification": {
                            "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
                        },
                        "ScaleInCooldown": 300,
                        "ScaleOutCooldown": 60,
                    },
                },
            ),
        ]
    return calls


def apply(calls: Sequence[tuple[str, str, dict]], clients: Mapping[str, Any]) -> None:
    for client, operation, request in calls:
        getattr(clients[client], operation)(**request)


def _endpoint_exists(sagemaker: Any, name: str) -> bool:
    try:
        sagemaker.describe_endpoint(EndpointName=name)
        return True
    except sagemaker.exceptions.ClientError as exc:
        if "Could not find" in str(exc) or "ValidationException" in str(exc):
            return False
        raise


def _packages(sagemaker: Any, group: str) -> list[dict[str, Any]]:
    summaries: list[dict[str, Any]] = []
    args: dict[str, Any] = {"ModelPackageGroupName": group, "MaxResults": 100}
    while True:
        page = sagemaker.list_model_packages(**args)
        summaries += page.get("ModelPackageSummaryList", [])
        if not page.get("NextToken"):
            break
        args["NextToken"] = page["NextToken"]
    return [
        sagemaker.describe_model_package(ModelPackageName=s["ModelPackageArn"]) for s in summaries
    ]


def deploy(
    stage: str,
    group: str,
    target: Target,
    execution_id: str,
    approver: str | None,
    sagemaker_registry: Any,
    target_clients: Mapping[str, Any],
) -> dict[str, str]:
    """Choose, deploy and record; returns the package's new customer metadata."""
    described = _packages(sagemaker_registry, group)
    arn = choose_package(described, stage, execution_id)
    version = int(arn.rsplit("/", 1)[-1])
    if approver is None:
        [chosen] = [p for p in described if p["ModelPackageArn"] == arn]
        approver = registry_approver(chosen)
    exists = _endpoint_exists(target_clients["sagemaker"], target.endpoint_name)
    apply(plan(target, arn, version, exists), target_clients)
    return record_promotion(sagemaker_registry, arn, stage, approver, execution_id=execution_id)


def main(argv: Sequence[str] | None = None) -> None:  # pragma: no cover - runs in CodeBuild
    import boto3

    p = argparse.ArgumentParser(prog="python -m mlops.delivery.deploy")
    p.add_argument("--stage", required=True, choices=["dev", "staging", "prod"])
    p.add_argument("--group")
    p.add_argument("--target-role-arn", required=True)
    p.add_argument("--target-parameter", required=True)
    p.add_argument("--pipeline")
    p.add_argument("--execution-id")
    p.add_argument("--approval-action", default="")
    p.add_argument("--smoke-test", action="store_true")
    p.add_argument("--request")
    a = p.parse_args(argv)
    creds = boto3.client("sts").assume_role(
        RoleArn=a.target_role_arn, RoleSessionName=f"deploy-{a.stage}"
    )["Credentials"]
    session = boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    parameter = session.client("ssm").get_parameter(Name=a.target_parameter, WithDecryption=True)
    target = Target.from_json(parameter["Parameter"]["Value"])
    if a.smoke_test:
        with open(a.request, "rb") as f:
            body = f.read()
        response = session.client("sagemaker-runtime").invoke_endpoint(
            EndpointName=target.endpoint_name, ContentType="application/json", Body=body
        )
        json.loads(response["Body"].read())  # a smoke test fails on a non-JSON answer
        return
    registry = boto3.client("sagemaker")
    approver = None  # dev: the person who approved the package in the registry
    if a.approval_action:
        approver = approver_from_pipeline(
            boto3.client("codepipeline"), a.pipeline, a.execution_id, a.approval_action
        )
    clients = {
        "sagemaker": session.client("sagemaker"),
        "application-autoscaling": session.client("application-autoscaling"),
    }
    deploy(a.stage, a.group, target, a.execution_id, approver, registry, clients)


if __name__ == "__main__":  # pragma: no cover
    main()
