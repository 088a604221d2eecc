"""The deploy pipeline's steps around the inference repo's own Pulumi program.

Each deploy stage (CodeBuild, dev account) runs, in the rendered inference repo:

1. ``select``: which package to deploy — dev: the newest Approved, never-deployed package of the
   group; staging/prod: exactly the package this pipeline execution deployed to dev (what was
   smoke-tested is what gets promoted); a rollback execution (pipeline variables ``PACKAGE_ARN``
   and ``ROLLBACK_STAGE``, started by ``mlops.delivery.rollback``; every other stage is skipped):
   the package its recorded rollback request names;
2. ``verify``: the package's model data is the artifact registered and approved — where the
   artifact contract puts it, with the SHA-256 recorded at registration (`mlops.delivery.
   artifacts`); anything else stops the stage before ``pulumi up``;
3. ``pulumi up`` of the inference repo's stack with ``modelPackageArn`` set and the AWS provider
   assuming the stage's per-use-case deployer role (the repo's program builds the platform's
   ``InferenceService``: endpoint, workflow, API);
4. ``record``: stage, package and approver onto the package (``mlops.delivery.promotion``);
5. ``smoke`` (after every stage): a SigV4-signed request to the deployed decision API, whose
   answer must be valid against the inference repo's response schema (`answer_problems`).

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
    list_packages,
    record_promotion,
    registry_approver,
)
from mlops.delivery.rollback import NONE, rollback_package


def choose_package(
    packages: Sequence[Mapping[str, Any]],
    stage: str,
    execution_id: str,
    package_arn: str = NONE,
    rollback_stage: str = NONE,
) -> str:
    """dev: the newest Approved package never deployed; staging/prod: exactly the package this
    pipeline execution deployed to dev; a rollback execution (`rollback_stage`, started by
    `mlops.delivery.rollback`): the package its recorded request names."""
    if (package_arn or NONE) != NONE or (rollback_stage or NONE) != NONE:
        return rollback_package(packages, stage, execution_id, package_arn, rollback_stage)
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


def select(
    sagemaker: Any,
    group: str,
    stage: str,
    execution_id: str,
    package_arn: str = NONE,
    rollback_stage: str = NONE,
) -> str:
    return choose_package(
        list_packages(sagemaker, group), stage, execution_id, package_arn, rollback_stage
    )


def verify_model_data(
    sagemaker: Any, s3: Any, package_arn: str, *, bucket: str, usecase: str
) -> dict[str, str]:
    """Refuse to deploy a package whose model data is not the artifact it registered: outside
    the registry bucket's `<usecase>/models/`, without a recorded SHA-256, or whose bytes hash to
    another SHA-256 (`PromotionError` naming the package, the object and both digests)."""
    from mlops.delivery import artifacts

    def open_object(b: str, key: str) -> tuple[Any, str]:
        got = s3.get_object(Bucket=b, Key=key)
        return got["Body"], got.get("VersionId") or ""

    package = sagemaker.describe_model_package(ModelPackageName=package_arn)
    try:
        return artifacts.verify(package, open_object, registry=bucket, usecase=usecase)
    except artifacts.ArtifactMismatch as exc:
        raise PromotionError(
            str(exc),
            "re-run the training pipeline and approve the new package; never edit a registered "
            "model's artifacts",
        ) from None


SNOWFLAKE_KEY_SECRET = "snowflake-private-key"  # noqa: S105 - a name, not a value
"""The use case's secret `mlops-dev-<usecase>-snowflake-private-key` (DeployPipeline creates it)."""


def snowflake_configured(stack_file_text: str) -> bool:
    """Does the inference stack's config (`Pulumi.<stage>.yaml`) turn Snowflake on (names
    `<project>:analytics.snowflake.account`, not `enabled: false`)? Only then the deploy build
    reads the key."""
    import yaml

    config = (yaml.safe_load(stack_file_text) or {}).get("config") or {}
    for key, value in config.items():
        if str(key).endswith(":analytics") and isinstance(value, Mapping):
            snowflake = value.get("snowflake") or {}
            # on when an account is named, unless `enabled: false` (SnowflakeSettings.on)
            if isinstance(snowflake, Mapping) and snowflake.get("account"):
                return snowflake.get("enabled") is not False
    return False


def snowflake_key(secrets: Any, stack_file: Path, secret_id: str) -> str:
    """Snowflake's private key for the stage's `pulumi up`, from Secrets Manager, when (and only
    when) the stage's config names a Snowflake account; "" otherwise."""
    if not stack_file.is_file() or not snowflake_configured(stack_file.read_text()):
        return ""
    from botocore.exceptions import ClientError

    try:
        value = secrets.get_secret_value(SecretId=secret_id).get("SecretString") or ""
    except ClientError as exc:  # not found, no value set yet, denied
        raise PromotionError(
            f"{stack_file.name} names a Snowflake account but the secret {secret_id} has no "
            f"readable value ({exc.response.get('Error', {}).get('Code', 'error')})",
            f"set it: aws secretsmanager put-secret-value --secret-id {secret_id} "
            "--secret-string file://<ingest user's private key>.p8",
        ) from None
    if "PRIVATE KEY" not in value:
        raise PromotionError(
            f"the secret {secret_id} does not hold a PEM private key",
            "store the ingest user's key-pair private key, PEM-encoded (a PRIVATE KEY block)",
        )
    return value


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


SMOKE_REQUIRED_FIELDS: tuple[str, ...] = ("recommendation", "reasons")
"""Fields the smoke test requires in the decision API's answer, beyond the schema's own `required`
(checked against the inference repo's response schema by `mlops rehearse`)."""
SMOKE_ENUM_FIELD = "recommendation"
"""The answer's field whose value must be one of the schema's enum (the three recommendations)."""
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}


def response_schema(repo: Path) -> dict[str, Any] | None:
    """The inference repo's `src/<pkg>_inference/infra.py: response_schema()` (None if absent).
    Imported from the repo's `src` (the deploy builds run in the rendered repo)."""
    import importlib
    import sys

    found = sorted((repo / "src").glob("*_inference/infra.py"))
    if len(found) != 1:
        return None
    src = str(repo / "src")
    added = src not in sys.path
    if added:
        sys.path.insert(0, src)
    try:
        infra = importlib.import_module(f"{found[0].parent.name}.infra")
        build = getattr(infra, "response_schema", None)
        return build() if build else None
    finally:
        if added:
            sys.path.remove(src)


def schema_problems(schema: Mapping[str, Any]) -> list[str]:
    """What the smoke test needs of the response schema: the required fields, and the enum of the
    recommendation (the rehearsal's contract check, and the smoke test's precondition)."""
    props = schema.get("properties") or {}
    problems = [f"the response schema has no field {f!r}" for f in SMOKE_REQUIRED_FIELDS
                if f not in props]  # fmt: skip
    if SMOKE_ENUM_FIELD in props and not props[SMOKE_ENUM_FIELD].get("enum"):
        problems.append(f"the response schema's {SMOKE_ENUM_FIELD!r} lists no allowed values")
    return problems


def answer_problems(answer: Any, schema: Mapping[str, Any]) -> list[str]:
    """Where `answer` breaks the decision response schema: a JSON object with every required
    field, top-level types as declared, the recommendation one of the schema's values, and at
    least one reason (a decision without reasons cannot be explained to the person acting on it)."""
    if not isinstance(answer, dict):
        return [f"the answer is not a JSON object: {str(answer)[:80]}"]
    props = schema.get("properties") or {}
    required = dict.fromkeys([*schema.get("required", []), *SMOKE_REQUIRED_FIELDS])
    problems = [f"missing field {f!r}" for f in required if f not in answer]
    for name, value in answer.items():
        declared = props.get(name, {}).get("type")
        types = [declared] if isinstance(declared, str) else list(declared or [])
        if types and not any(
            isinstance(value, _JSON_TYPES.get(t, object))
            and not (t in ("number", "integer") and isinstance(value, bool))
            for t in types
        ):
            problems.append(f"field {name!r} is not of type {'/'.join(types)}")
    allowed = props.get(SMOKE_ENUM_FIELD, {}).get("enum") or []
    if SMOKE_ENUM_FIELD in answer and answer[SMOKE_ENUM_FIELD] not in allowed:
        problems.append(
            f"{SMOKE_ENUM_FIELD} {answer[SMOKE_ENUM_FIELD]!r} is not one of {', '.join(allowed)}"
        )
    if "reasons" in answer and not (isinstance(answer["reasons"], list) and answer["reasons"]):
        problems.append("no reasons: every decision must say why")
    return problems


def smoke(
    url: str,
    body: bytes,
    credentials: Any,
    region: str,
    schema: Mapping[str, Any],
    opener: Any = None,
) -> dict:
    """POST the sample request; the answer must be 200 and valid against the response schema."""
    missing = schema_problems(schema)
    if missing:
        raise PromotionError(
            f"smoke test cannot check the answer: {'; '.join(missing)}",
            "the inference repo's response_schema() must describe the decision it returns",
        )
    request = signed_request(url, body, credentials, region)
    opener = opener or urllib.request.urlopen
    with opener(request, timeout=30) as response:
        status = getattr(response, "status", 200)
        raw = response.read()
    try:
        answer = json.loads(raw)
    except ValueError:
        answer = raw[:200]
    problems = [f"HTTP {status}"] if status != 200 else []
    problems += answer_problems(answer, schema)
    if problems:
        raise PromotionError(
            f"smoke test failed: {'; '.join(problems)}; answer {str(answer)[:200]}",
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
    s.add_argument("--package-arn", default=NONE, help="a rollback's package (PACKAGE_ARN)")
    s.add_argument("--rollback-stage", default=NONE, help="a rollback's stage (ROLLBACK_STAGE)")
    v = sub.add_parser("verify")
    v.add_argument("--package-arn", required=True)
    v.add_argument("--usecase", required=True)
    v.add_argument("--bucket", required=True, help="the registry's model-artifacts bucket")
    f = sub.add_parser("snowflake-key")
    f.add_argument("--stack-file", type=Path, required=True, help="Pulumi.<stage>.yaml")
    f.add_argument("--secret-id", required=True)
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
    k.add_argument("--repo", type=Path, default=Path("."), help="the inference repo (its schema)")
    a = p.parse_args(argv)
    if a.command == "select":
        chosen = select(
            boto3.client("sagemaker"), a.group, a.stage, a.execution_id, a.package_arn,
            a.rollback_stage,
        )  # fmt: skip
        sys.stdout.write(chosen + "\n")
    elif a.command == "verify":
        checked = verify_model_data(
            boto3.client("sagemaker"), boto3.client("s3"), a.package_arn,
            bucket=a.bucket, usecase=a.usecase,
        )  # fmt: skip
        sys.stdout.write(f"verified {checked['model_data']} sha256 {checked['sha256']}\n")
    elif a.command == "snowflake-key":
        sys.stdout.write(snowflake_key(boto3.client("secretsmanager"), a.stack_file, a.secret_id))
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
        schema = response_schema(a.repo.resolve())
        if schema is None:
            raise PromotionError(
                f"{a.repo} declares no response_schema() in src/*_inference/infra.py",
                "the smoke test validates the answer against the inference repo's schema",
            )
        smoke(a.url, a.request.read_bytes(), signing, session.region_name, schema)


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
    rollout = endpoint.get("rollout") or {}
    return {
        "endpointMode": "realtime",
        "instanceType": endpoint["instance_type"],
        "minInstances": str(endpoint["min_instances"]),
        "maxInstances": str(endpoint["max_instances"]),
        **{key: str(rollout[field]) for key, field in ROLLOUT_CONFIG.items() if field in rollout},
    }


ROLLOUT_CONFIG = {
    "rolloutTraffic": "traffic",
    "rolloutStepPercent": "step_percent",
    "rolloutWaitSeconds": "wait_seconds",
    "rolloutTerminationWaitSeconds": "termination_wait_seconds",
}
"""The inference repo's Pulumi config keys of a real-time endpoint's rollout (manifest field)."""


def config_args(values: Mapping[str, str]) -> str:
    """`key=value` pairs for the buildspec's `pulumi config set` loop (values have no spaces)."""
    for key, value in values.items():
        if " " in key + value or "=" in key:
            raise ValueError(f"config {key}={value!r} cannot be passed as a word")
    return " ".join(f"{k}={v}" for k, v in values.items())
