"""Model registry through boto3: one module for moto server (endpoint_url) and real SageMaker.

Registers a bundle as a model package version in the use case's model package group with
status PendingManualApproval, its evaluation as model-quality statistics, and the model card
next to it in S3 (SSE-KMS).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import boto3

PENDING = "PendingManualApproval"


def clients(region: str, endpoint_url: str | None = None):
    """(sagemaker, s3, kms) clients; with `endpoint_url` they talk to a moto server."""
    kwargs: dict = {"region_name": region}
    if endpoint_url:
        kwargs |= {
            "endpoint_url": endpoint_url,
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
        }
    return tuple(boto3.client(s, **kwargs) for s in ("sagemaker", "s3", "kms"))


@dataclass(frozen=True)
class Registration:
    model_package_arn: str
    version: int
    model_data_url: str
    evaluation_url: str
    model_card_url: str | None
    status: str


class ModelRegistry:
    def __init__(self, sagemaker, s3, kms_key_id: str | None = None) -> None:
        self.sm, self.s3, self.kms_key_id = sagemaker, s3, kms_key_id

    def ensure_group(self, group: str, description: str, tags: dict[str, str]) -> str:
        try:
            return self.sm.describe_model_package_group(ModelPackageGroupName=group)[
                "ModelPackageGroupArn"
            ]
        except self.sm.exceptions.ClientError as exc:
            if "does not exist" not in str(exc) and "ValidationException" not in str(exc):
                raise
        resp = self.sm.create_model_package_group(
            ModelPackageGroupName=group,
            ModelPackageGroupDescription=description[:1024],
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
        )
        return resp["ModelPackageGroupArn"]

    def upload(self, bucket: str, key: str, body: bytes, content_type: str) -> str:
        extra = {"ServerSideEncryption": "aws:kms"}
        if self.kms_key_id:
            extra["SSEKMSKeyId"] = self.kms_key_id
        self.s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, **extra)
        return f"s3://{bucket}/{key}"

    def register(
        self,
        *,
        group: str,
        bucket: str,
        prefix: str,
        model_tar: Path,
        evaluation: dict,
        image_uri: str,
        metadata: dict[str, str],
        description: str,
    ) -> Registration:
        model_url = self.upload(
            bucket, f"{prefix}/model.tar.gz", model_tar.read_bytes(), "application/gzip"
        )
        eval_url = self.upload(
            bucket,
            f"{prefix}/evaluation.json",
            json.dumps(evaluation, default=float).encode(),
            "application/json",
        )
        resp = self.sm.create_model_package(
            ModelPackageGroupName=group,
            ModelPackageDescription=description[:1024],
            ModelApprovalStatus=PENDING,
            InferenceSpecification={
                "Containers": [{"Image": image_uri, "ModelDataUrl": model_url}],
                "SupportedContentTypes": ["application/json"],
                "SupportedResponseMIMETypes": ["application/json"],
            },
            ModelMetrics={
                "ModelQuality": {
                    "Statistics": {"ContentType": "application/json", "S3Uri": eval_url}
                }
            },
            CustomerMetadataProperties={k: str(v)[:256] for k, v in metadata.items()},
        )
        arn = resp["ModelPackageArn"]
        desc = self.sm.describe_model_package(ModelPackageName=arn)
        return Registration(
            model_package_arn=arn,
            version=int(desc.get("ModelPackageVersion", 0) or 0),
            model_data_url=model_url,
            evaluation_url=eval_url,
            model_card_url=None,
            status=desc["ModelApprovalStatus"],
        )

    def versions(self, group: str, status: str | None = None) -> list[dict]:
        kwargs = {"ModelPackageGroupName": group}
        if status:
            kwargs["ModelApprovalStatus"] = status
        return self.sm.list_model_packages(**kwargs)["ModelPackageSummaryList"]
