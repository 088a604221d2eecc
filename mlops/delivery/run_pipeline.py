"""Upsert and start a use case's SageMaker Pipeline from its training repo (the build pipeline's
`TrainingPipeline` stage runs ``python -m mlops.delivery.run_pipeline --upload-code --upsert
--start``: upload ``src/`` content-addressed, point the pipeline at that version, upsert, start).

Contract with the rendered training repos (templates/*/training): a package ``src/<pkg>/`` whose
``pipeline`` module has a ``PipelineSettings`` dataclass and ``build_pipeline(settings)`` returning
a SageMaker ``Pipeline``. Settings come from the environment the platform sets on the CodeBuild
project; the pipeline's name must be the one the platform's IAM allows (``SM_PIPELINE_NAME``).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mlops.errors import MlopsError

# PipelineSettings field -> environment variable set by the UseCase component
FIELDS = {
    "environment": "ENVIRONMENT",
    "account_id": "ACCOUNT_ID",
    "role_arn": "SM_PIPELINE_ROLE_ARN",
    "bucket": "ARTIFACT_BUCKET",
    "kms_key_id": "KMS_KEY_ARN",
    "subnet_ids": "SUBNET_IDS",
    "security_group_ids": "SECURITY_GROUP_IDS",
    "image_uri": "TRAINING_IMAGE_URI",
    "code_prefix": "CODE_PREFIX",
}
_LISTS = {"subnet_ids", "security_group_ids"}


def find_pipeline_module(root: Path) -> str:
    """`<pkg>.pipeline` for the one `src/*_training/pipeline.py` of a training repo."""
    found = sorted(root.glob("src/*_training/pipeline.py"))
    if len(found) != 1:
        raise MlopsError(
            f"expected one src/*_training/pipeline.py in {root}, found {len(found)}",
            "run from the root of a training repo rendered from a platform template",
        )
    return f"{found[0].parent.name}.pipeline"


def settings_from_env(settings_cls: type, env: Mapping[str, str]) -> Any:
    names = {f.name for f in dataclasses.fields(settings_cls)}
    values: dict[str, Any] = {}
    for field, variable in FIELDS.items():
        if field not in names or not env.get(variable):
            continue
        raw = env[variable]
        values[field] = tuple(v for v in raw.split(",") if v) if field in _LISTS else raw
    return settings_cls(**values)


def run(module: Any, env: Mapping[str, str], *, upsert: bool, start: bool) -> dict[str, str]:
    settings = settings_from_env(module.PipelineSettings, env)
    expected = env.get("SM_PIPELINE_NAME", "")
    actual = getattr(settings, "pipeline_name", "")
    if expected and actual != expected:
        raise MlopsError(
            f"the training repo builds pipeline {actual!r}, the platform allows {expected!r}",
            "name the pipeline with mlops.naming.usecase_name(ctx, <usecase>, 'training', "
            "kind='sagemaker') as the templates do",
        )
    pipeline = module.build_pipeline(settings)
    result = {"pipeline": actual}
    if upsert:
        pipeline.upsert(role_arn=env["SM_PIPELINE_ROLE_ARN"])
        result["upserted"] = "yes"
    if start:
        execution = pipeline.start()
        result["execution"] = str(getattr(execution, "arn", execution))
    return result


def upload_code(repo: Path, env: Mapping[str, str], s3: Any = None) -> Any:
    """Upload the repo's `src/` to `<bucket>/<usecase>/code/<sha256>/` (mlops.delivery.
    training_code) with the platform's key; the pipeline then reads exactly that version."""
    from mlops.delivery.training_code import upload

    missing = [v for v in ("ARTIFACT_BUCKET", "USECASE", "KMS_KEY_ARN") if not env.get(v)]
    if missing:
        raise MlopsError(
            f"cannot upload the training code: {', '.join(missing)} not set",
            "run in the use case's TrainingPipeline build (the platform sets them)",
        )
    if s3 is None:
        import boto3

        s3 = boto3.client("s3")
    return upload(
        s3,
        repo,
        bucket=env["ARTIFACT_BUCKET"],
        usecase=env["USECASE"],
        kms_key_arn=env["KMS_KEY_ARN"],
    )


def main(argv: Sequence[str] | None = None) -> dict[str, str]:
    import os

    p = argparse.ArgumentParser(prog="python -m mlops.delivery.run_pipeline")
    p.add_argument("--repo", type=Path, default=Path())
    p.add_argument("--upload-code", action="store_true", help="upload src/ content-addressed")
    p.add_argument("--upsert", action="store_true")
    p.add_argument("--start", action="store_true")
    a = p.parse_args(argv)
    sys.path.insert(0, str((a.repo / "src").resolve()))
    module = importlib.import_module(find_pipeline_module(a.repo))
    env = dict(os.environ)
    code = {}
    if a.upload_code:
        location = upload_code(a.repo, env)
        env["CODE_PREFIX"] = location.prefix
        code = {"code": f"s3://{env['ARTIFACT_BUCKET']}/{location.tarball_key}"}
    result = {**code, **run(module, env, upsert=a.upsert, start=a.start)}
    print(" ".join(f"{k}={v}" for k, v in result.items()))
    return result


if __name__ == "__main__":  # pragma: no cover
    main()
