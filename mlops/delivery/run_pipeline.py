"""Upsert and start a use case's SageMaker Pipeline from its training repo (the build pipeline's
`TrainingPipeline` stage runs ``python -m mlops.delivery.run_pipeline --upload-code --upsert
--start``: upload ``src/`` content-addressed, point the pipeline at that version, upsert, start).

Contract with the rendered training repos (templates/*/training): a package ``src/<pkg>_training/``
whose ``recipe`` module has ``RECIPE``, a ``mlops.sagemaker_pipelines.TrainingRecipe`` (scripts,
search space, objective); the pipeline itself is the platform's governed one. Settings come from
the environment the platform sets on the CodeBuild project (the manifest's instance types, tuning
budget and gate included); the pipeline's name must be the one the platform's IAM allows
(``SM_PIPELINE_NAME``).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mlops.errors import MlopsError


def find_pipeline_module(root: Path) -> str:
    """`<pkg>.recipe` for the one `src/*_training/recipe.py` of a training repo."""
    found = sorted(root.glob("src/*_training/recipe.py"))
    if len(found) != 1:
        raise MlopsError(
            f"expected one src/*_training/recipe.py in {root}, found {len(found)}",
            "run from the root of a training repo rendered from a platform template",
        )
    return f"{found[0].parent.name}.recipe"


def settings_from_env(env: Mapping[str, str]) -> Any:
    """The governed pipeline's `PipelineSettings` from the build's environment."""
    from mlops.sagemaker_pipelines import PipelineSettings

    try:
        return PipelineSettings.from_env(env)
    except ValueError as exc:
        raise MlopsError(
            f"invalid training pipeline settings: {exc}",
            "run in the use case's TrainingPipeline build (the platform sets them)",
        ) from None


def run(
    module: Any,
    env: Mapping[str, str],
    *,
    upsert: bool,
    start: bool,
    build: Callable[[Any, Any], Any] | None = None,
    registry: Any = None,
) -> dict[str, str]:
    """Build the governed pipeline from the platform's settings and the repo's `RECIPE`
    (`build`: `mlops.sagemaker_pipelines.governed_pipeline`), then upsert and start it."""
    settings = settings_from_env(env)
    expected = env.get("SM_PIPELINE_NAME", "")
    actual = settings.pipeline_name
    if expected and actual != expected:
        raise MlopsError(
            f"the training repo builds pipeline {actual!r}, the platform allows {expected!r}",
            "keep USECASE, ENVIRONMENT and ACCOUNT_ID as the platform sets them on the build",
        )
    try:  # only digest-pinned images (the Images stage hands them on)
        images = {"training_image": settings.image, "inference_image": settings.inference_image}
    except ValueError as exc:
        raise MlopsError(
            str(exc), "run after the build pipeline's Images stage, which sets the digests"
        ) from None
    if build is None:
        from mlops.sagemaker_pipelines import governed_pipeline as build
    pipeline = build(settings, module.RECIPE)
    # the build log's record of what the definition runs (as `mlops pipeline show` prints it)
    result = {"pipeline": actual, **images}
    if upsert:
        pipeline.upsert(role_arn=env["SM_PIPELINE_ROLE_ARN"])
        result["upserted"] = "yes"
    if start:
        parameters = {}
        if getattr(module.RECIPE, "backtest_script", None):
            from mlops.sagemaker_pipelines import CURRENT_MODEL_PARAMETER

            current = current_model_uri(registry, settings.model_package_group)
            if current:
                parameters[CURRENT_MODEL_PARAMETER] = current
            result["current_model"] = current or "none (no Approved package yet)"
        execution = pipeline.start(parameters=parameters) if parameters else pipeline.start()
        result["execution"] = str(getattr(execution, "arn", execution))
    return result


def current_model_uri(registry: Any, group: str) -> str | None:
    """The model data of the group's newest Approved package: what the Backtest step compares the
    candidate with; None before the first approval (the step then reports the candidate alone)."""
    if registry is None:
        import boto3

        registry = boto3.client("sagemaker")
    listed = registry.list_model_packages(
        ModelPackageGroupName=group, ModelApprovalStatus="Approved",
        SortBy="CreationTime", SortOrder="Descending", MaxResults=1,
    )["ModelPackageSummaryList"]  # fmt: skip
    if not listed:
        return None
    package = registry.describe_model_package(ModelPackageName=listed[0]["ModelPackageArn"])
    containers = package.get("InferenceSpecification", {}).get("Containers", [])
    return containers[0].get("ModelDataUrl") if containers else None


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
