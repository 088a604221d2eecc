"""The deploy pipeline's steps around the inference repo's own Pulumi program.

Each deploy stage (CodeBuild, dev account) runs, in the rendered inference repo:

1. ``select``: which package to deploy — dev: the newest Approved, never-deployed package of the
   group; staging/prod: exactly the package this pipeline execution deployed to dev (what was
   smoke-tested is what gets promoted);
2. ``pulumi up`` of the inference repo's stack with ``modelPackageArn`` set and the AWS provider
   assuming the stage's per-use-case deployer role (the repo's program builds the platform's
   ``InferenceService``: endpoint, workflow, API);
3. ``record``: stage, package and approver onto the package (``mlops.delivery.promotion``);
4. ``smoke`` (after dev): a SigV4-signed request to the deployed decision API.

``choose_package`` is pure; the rest are thin boto3 adapters.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mlops.delivery.promotion import (
    PromotionError,
    approver_from_pipeline,
    deployed_marker,
    record_promotion,
    registry_approver,
)


def choose_package(packages: Sequence[Mapping[str, Any]], stage: str, execution_id: str) -> str:
    """dev: the newest Approved package never deployed; staging/prod: exactly the package this
    pipeline execution deployed to dev."""
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


def packages(sagemaker: Any, group: str) -> list[dict[str, Any]]:
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


def select(sagemaker: Any, group: str, stage: str, execution_id: str) -> str:
    return choose_package(packages(sagemaker, group), stage, execution_id)


def record(
    sagemaker: Any,
    codepipeline: Any,
    stage: str,
    package_arn: str,
    execution_id: str,
    pipeline: str,
    approval_action: str,
) -> dict[str, str]:
    """dev records who approved the package in the registry; staging/prod who passed the gate."""
    if approval_action:
        approver = approver_from_pipeline(codepipeline, pipeline, execution_id, approval_action)
    else:
        approver = registry_approver(sagemaker.describe_model_package(ModelPackageName=package_arn))
    return record_promotion(sagemaker, package_arn, stage, approver, execution_id=execution_id)


def signed_request(url: str, body: bytes, credentials: Any, region: str) -> urllib.request.Request:
    """A SigV4-signed POST to an IAM-authorised API Gateway endpoint."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    if not url.startswith("https://"):
        raise ValueError(f"the decision API URL must be https, got {url!r}")
    aws_request = AWSRequest(
        method="POST", url=url, data=body, headers={"Content-Type": "application/json"}
    )
    SigV4Auth(credentials, "execute-api", region).add_auth(aws_request)
    return urllib.request.Request(  # noqa: S310 - https checked above
        url, data=body, method="POST", headers=dict(aws_request.headers.items())
    )


SMOKE_REQUIRED_FIELDS: tuple[str, ...] = ("decision",)
"""Fields the smoke test requires in the decision API's answer (checked against the inference
repo's response schema by `mlops rehearse`)."""


def smoke(url: str, body: bytes, credentials: Any, region: str, opener: Any = None) -> dict:
    """POST the sample request; the answer must be 200 and JSON with a decision."""
    request = signed_request(url, body, credentials, region)
    opener = opener or urllib.request.urlopen
    with opener(request, timeout=30) as response:
        status = getattr(response, "status", 200)
        answer = json.loads(response.read())
    if status != 200 or any(f not in answer for f in SMOKE_REQUIRED_FIELDS):
        raise PromotionError(
            f"smoke test failed: HTTP {status}, answer {str(answer)[:200]}",
            "look at the decision workflow's logs; the deploy pipeline stops here",
        )
    return answer


def main(argv: Sequence[str] | None = None) -> None:  # pragma: no cover - runs in CodeBuild
    import boto3

    p = argparse.ArgumentParser(prog="python -m mlops.delivery.deploy")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("select")
    s.add_argument("--stage", required=True, choices=["dev", "staging", "prod"])
    s.add_argument("--group", required=True)
    s.add_argument("--execution-id", required=True)
    r = sub.add_parser("record")
    r.add_argument("--stage", required=True, choices=["dev", "staging", "prod"])
    r.add_argument("--package-arn", required=True)
    r.add_argument("--execution-id", required=True)
    r.add_argument("--pipeline", required=True)
    r.add_argument("--approval-action", default="")
    k = sub.add_parser("smoke")
    k.add_argument("--url", required=True)
    k.add_argument("--request", type=Path, required=True)
    k.add_argument("--role-arn", required=True)
    a = p.parse_args(argv)
    if a.command == "select":
        sys.stdout.write(select(boto3.client("sagemaker"), a.group, a.stage, a.execution_id) + "\n")
    elif a.command == "record":
        record(
            boto3.client("sagemaker"),
            boto3.client("codepipeline"),
            a.stage,
            a.package_arn,
            a.execution_id,
            a.pipeline,
            a.approval_action,
        )
    else:
        session = boto3.Session()
        creds = session.client("sts").assume_role(RoleArn=a.role_arn, RoleSessionName="smoke-test")[
            "Credentials"
        ]
        from botocore.credentials import Credentials

        signing = Credentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
        smoke(a.url, a.request.read_bytes(), signing, session.region_name)


if __name__ == "__main__":  # pragma: no cover
    main()


def endpoint_config(endpoint: Mapping[str, Any]) -> dict[str, str]:
    """The inference repo's Pulumi config keys for one stage's endpoint (from the manifest), so the
    manifest is the single source of each stage's serving settings."""
    if endpoint["mode"] == "serverless":
        return {
            "endpointMode": "serverless",
            "serverlessMemoryMb": str(endpoint["memory_mb"]),
            "maxConcurrency": str(endpoint["max_concurrency"]),
        }
    return {
        "endpointMode": "realtime",
        "instanceType": endpoint["instance_type"],
        "minInstances": str(endpoint["min_instances"]),
        "maxInstances": str(endpoint["max_instances"]),
    }


def config_args(values: Mapping[str, str]) -> str:
    """`key=value` pairs for the buildspec's `pulumi config set` loop (values have no spaces)."""
    for key, value in values.items():
        if " " in key + value or "=" in key:
            raise ValueError(f"config {key}={value!r} cannot be passed as a word")
    return " ".join(f"{k}={v}" for k, v in values.items())
