"""The artifact contract: where a registered model's artifacts live, who reads them in each stage,
and both sides of every grant that lets them (docs/artifacts.md is its prose; this is the code
every side imports, so the writer, the readers and both halves of each grant cannot drift).

    registered model data  s3://mlops-dev-model-artifacts-<dev acct>-<region>/
                           <usecase>/models/<pipeline execution>/model.tar.gz   (+ checksum.json)
    encrypted with         dev's artifacts key (SSE-KMS, no bucket key: context = the object ARN)
    written by             the use case's SageMaker pipeline role (its Publish step), dev only
    read by                the stage's model role mlops-<env>-<usecase>-model (the endpoint's),
                           in dev, staging and prod; the dev deploy build (checksum check)
    recorded at            registration: CustomerMetadataProperties[CHECKSUM_PROPERTY] (SHA-256)
    checked by             the deploy, before `pulumi up`: the object's SHA-256 must equal it

Cross-account read needs both sides: the dev side (bucket policy, key policy) admits the staging
and prod accounts' model roles (`mlops-<env>-*-model`) to `*/models/*` only; each model role's
identity policy (written by the inference program) names its own use case's prefix only, so the
intersection is exactly one use case's registered models. The inference image follows the same
pattern (ECR repository policy in dev + the model role's pull statement).

Pure: plain names, ARNs and policy statements; no Pulumi, no boto3 at import.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from mlops import iam
from mlops.naming import (
    NameContext,
    bucket_name,
    for_environment,
    model_execution_role_name,
    usecase_name,
)

STAGES = ("dev", "staging", "prod")
CROSS_ACCOUNT_STAGES = ("staging", "prod")
BUCKET_PURPOSE = "model-artifacts"
MODELS = "models"
MODEL_FILE = "model.tar.gz"
CHECKSUM_FILE = "checksum.json"
"""Written next to the model by the pipeline's Publish step: {"sha256": ..., "bytes": ...}."""
CHECKSUM_PROPERTY = "mlops:model-data-sha256"
"""The model package's CustomerMetadataProperties key holding the model data's SHA-256."""
READ_ACTIONS = ("s3:GetObject", "s3:GetObjectVersion")


# --- where ---------------------------------------------------------------------------------------
def registry_context(ctx: NameContext, dev_account_id: str) -> NameContext:
    """The governance (dev) naming context, seen from any stage."""
    return for_environment(ctx, "dev", dev_account_id)


def registry_bucket(dev_ctx: NameContext) -> str:
    """The one bucket registered models live in: dev's model-artifacts bucket."""
    if dev_ctx.environment != "dev":
        raise ValueError("registered models live in the dev (governance) account's bucket")
    return bucket_name(dev_ctx, BUCKET_PURPOSE)


def models_prefix(usecase: str) -> str:
    """`<usecase>/models/`: a use case's registered models (its only writable and readable part)."""
    return f"{usecase}/{MODELS}/"


def model_data_key(usecase: str, execution_id: str) -> str:
    return f"{models_prefix(usecase)}{execution_id}/{MODEL_FILE}"


def models_arn(bucket: str, usecase: str) -> str:
    """Objects of one use case's registered models."""
    return f"arn:aws:s3:::{bucket}/{models_prefix(usecase)}*"


def all_models_arn(bucket: str) -> str:
    """Objects under any use case's `models/` (the resource side; identity policies narrow it)."""
    return f"arn:aws:s3:::{bucket}/*/{MODELS}/*"


# --- who -----------------------------------------------------------------------------------------
def model_role_name(ctx: NameContext, usecase: str) -> str:
    """The role a use case's SageMaker model (endpoint) runs as in one stage."""
    return usecase_name(ctx, usecase, "model", kind="role")


def model_role_arn(ctx: NameContext, usecase: str) -> str:
    return iam.role_arn(ctx.account_id, model_role_name(ctx, usecase))


def model_role_pattern(ctx: NameContext) -> str:
    """Every use case's model role of one stage (`mlops-<env>-*-model`)."""
    return iam.role_arn(ctx.account_id, f"{ctx.prefix}-{ctx.environment}-*-model")


@dataclass(frozen=True)
class Reader:
    stage: str
    account_id: str
    role_arn: str
    cross_account: bool


def readers(dev_ctx: NameContext, usecase: str, accounts: Mapping[str, str]) -> list[Reader]:
    """Who reads a use case's registered models, per stage (the endpoint's model role)."""
    out = []
    for stage in STAGES:
        ctx = for_environment(dev_ctx, stage, accounts[stage])
        out.append(Reader(stage, accounts[stage], model_role_arn(ctx, usecase), stage != "dev"))
    return out


def image_pullers(ctx: NameContext, usecase: str, accounts: Mapping[str, str]) -> list[str]:
    """Who pulls the inference image from dev's ECR in staging and prod: the use case's model role
    (and the platform's model-execution role, which SageMaker models may also run as)."""
    out = []
    for stage in CROSS_ACCOUNT_STAGES:
        other = for_environment(ctx, stage, accounts[stage])
        out += [
            model_role_arn(other, usecase),
            iam.role_arn(other.account_id, model_execution_role_name(other)),
        ]
    return sorted(out)


# --- both sides of each grant --------------------------------------------------------------------
def _other_accounts(dev_ctx: NameContext, accounts: Mapping[str, str]) -> list[tuple[str, str]]:
    pairs = [(s, accounts[s]) for s in CROSS_ACCOUNT_STAGES if accounts[s] != dev_ctx.account_id]
    return sorted(pairs, key=lambda p: p[1])


def publisher_pattern(dev_ctx: NameContext) -> str:
    """The use cases' SageMaker pipeline roles (`mlops-dev-*-sm-pipeline`): the only writers."""
    return iam.role_arn(dev_ctx.account_id, f"{dev_ctx.prefix}-dev-*-sm-pipeline")


def bucket_grants(dev_ctx: NameContext, accounts: Mapping[str, str]) -> list[iam.Statement]:
    """Resource side, dev's model-artifacts bucket policy: only the pipeline roles write or delete
    registered models (`OnlyPipelinesPublishModels`, a Deny for everyone else); each other stage's
    model roles read objects under `*/models/*` (read only; nothing else of the bucket, no
    listing)."""
    bucket = registry_bucket(dev_ctx)
    out = [
        iam.statement(
            "OnlyPipelinesPublishModels",
            ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"],
            all_models_arn(bucket),
            effect="Deny",
            principal="*",
            condition={"ArnNotLike": {"aws:PrincipalArn": publisher_pattern(dev_ctx)}},
        )
    ]
    for stage, account in _other_accounts(dev_ctx, accounts):
        ctx = for_environment(dev_ctx, stage, account)
        out.append(
            iam.statement(
                f"ModelRead{stage.capitalize()}",
                list(READ_ACTIONS),
                all_models_arn(bucket),
                principal={"AWS": iam.account_root(account)},
                condition={"ArnLike": {"aws:PrincipalArn": model_role_pattern(ctx)}},
            )
        )
    return out


S3_CONTEXT = "kms:EncryptionContext:aws:s3:arn"


def _via_s3(dev_ctx: NameContext) -> dict[str, dict[str, str]]:
    """Through S3 of dev's region, for objects under any use case's `models/` (the bucket has no
    bucket key, so the context is the object's ARN; each model role's own policy names its use
    case's prefix)."""
    bucket = registry_bucket(dev_ctx)
    return {
        "StringEquals": {"kms:ViaService": f"s3.{dev_ctx.region}.amazonaws.com"},
        "StringLike": {S3_CONTEXT: all_models_arn(bucket)},
    }


def key_grants(dev_ctx: NameContext, accounts: Mapping[str, str]) -> list[iam.Statement]:
    """Resource side, dev's artifacts key policy: the same model roles decrypt, only through S3
    and only objects under `*/models/*` of the model-artifacts bucket (the object's encryption
    context: the bucket has no bucket key)."""
    out = []
    for stage, account in _other_accounts(dev_ctx, accounts):
        ctx = for_environment(dev_ctx, stage, account)
        condition = {
            "ArnLike": {"aws:PrincipalArn": model_role_pattern(ctx)},
            **_via_s3(dev_ctx),
        }
        out.append(
            iam.statement(
                f"ModelDecrypt{stage.capitalize()}",
                "kms:Decrypt",
                principal={"AWS": iam.account_root(account)},
                condition=condition,
            )
        )
    return out


def reader_statements(bucket: str, key_arn: str, usecase: str, region: str) -> list[iam.Statement]:
    """Identity side, each stage's model role: its own use case's models and the key, via S3, for
    its own use case's model objects only (their encryption context)."""
    return [
        iam.statement("ReadRegisteredModels", list(READ_ACTIONS), models_arn(bucket, usecase)),
        iam.statement(
            "DecryptRegisteredModels",
            "kms:Decrypt",
            key_arn,
            condition={
                "StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"},
                "StringLike": {S3_CONTEXT: models_arn(bucket, usecase)},
            },
        ),
    ]


def writer_statement(bucket: str, usecase: str) -> iam.Statement:
    """Identity side, the use case's SageMaker pipeline role (dev): publish its models."""
    return iam.statement("WriteOwnModels", ["s3:GetObject", "s3:PutObject"],
                         models_arn(bucket, usecase))  # fmt: skip


def verifier_statement(bucket: str, usecase: str) -> iam.Statement:
    """Identity side, the use case's deploy build (dev): read the model data it checks."""
    return iam.statement("VerifyOwnModels", list(READ_ACTIONS), models_arn(bucket, usecase))


# --- the checksum ------------------------------------------------------------------------------
class ArtifactMismatch(ValueError):
    """The model data is not the artifact that was registered and approved."""


def sha256_of(stream: BinaryIO, chunk: int = 1 << 20) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    for block in iter(lambda: stream.read(chunk), b""):
        digest.update(block)
        size += len(block)
    return digest.hexdigest(), size


def split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or "/" not in uri.removeprefix("s3://"):
        raise ArtifactMismatch(f"model data {uri!r} is not an s3://bucket/key URI")
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def model_data_of(package: Mapping[str, Any]) -> tuple[str, str]:
    """(ModelDataUrl, recorded SHA-256) of a described model package; refuses a package that
    records no checksum or has more than one container."""
    arn = package.get("ModelPackageArn", "the model package")
    containers = (package.get("InferenceSpecification") or {}).get("Containers") or []
    if len(containers) != 1 or not containers[0].get("ModelDataUrl"):
        raise ArtifactMismatch(f"{arn} must have exactly one container with ModelDataUrl")
    recorded = (package.get("CustomerMetadataProperties") or {}).get(CHECKSUM_PROPERTY, "")
    if len(recorded) != 64 or any(c not in "0123456789abcdef" for c in recorded):
        raise ArtifactMismatch(
            f"{arn} records no SHA-256 of its model data (CustomerMetadataProperties"
            f"[{CHECKSUM_PROPERTY!r}] = {recorded!r}): register it with the platform's pipeline"
        )
    return containers[0]["ModelDataUrl"], recorded


def check_location(uri: str, registry: str, usecase: str) -> None:
    bucket, key = split_s3_uri(uri)
    if bucket != registry or not key.startswith(models_prefix(usecase)):
        raise ArtifactMismatch(
            f"model data {uri} is outside s3://{registry}/{models_prefix(usecase)} (where "
            "registered models live and the model roles may read)"
        )


def verify(
    package: Mapping[str, Any],
    open_object: Callable[[str, str], tuple[BinaryIO, str]],
    *,
    registry: str,
    usecase: str,
) -> dict[str, str]:
    """The artifact the deploy is about to serve is the one registered (and approved): it lives
    where the contract says, and its bytes hash to the recorded SHA-256.

    `open_object(bucket, key)` returns (stream, version id). Returns what was checked."""
    uri, recorded = model_data_of(package)
    check_location(uri, registry, usecase)
    bucket, key = split_s3_uri(uri)
    stream, version = open_object(bucket, key)
    actual, size = sha256_of(stream)
    if actual != recorded:
        raise ArtifactMismatch(
            f"model data {uri} (version {version or 'unknown'}, {size} bytes) has SHA-256 "
            f"{actual}, but {package.get('ModelPackageArn', 'the package')} recorded {recorded} "
            "at registration: the artifact changed after approval; do not deploy it"
        )
    return {"model_data": uri, "sha256": actual, "version_id": version or "", "bytes": str(size)}
