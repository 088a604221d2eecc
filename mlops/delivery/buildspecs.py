"""CodeBuild buildspecs for the use-case pipelines (plain data → YAML text).

Contracts with the rendered repositories (templates/<name>):
- training repo: ``pytest`` and ``ruff`` run its tests; ``src/<pkg>_training/recipe.py`` has the
  ``RECIPE`` of the platform's governed pipeline (``mlops.delivery.run_pipeline`` uploads the code,
  upserts and starts it).
- inference repo: a Pulumi program (``Pulumi.<stage>.yaml``, config ``modelPackageArn``) exporting
  ``invoke_url``, and ``tests/smoke/request.json``; the deploy stages run it (``deploy()``).
  A repo whose program publishes its Lambda dependency layer provides a ``lambda-package OUT``
  command (console script): the deploy runs it before ``pulumi up`` (``LAMBDA_PACKAGE``).
Every value a build needs arrives as an environment variable set by the platform.
"""

from __future__ import annotations

from typing import Any

import yaml

from mlops.components.packages import login_commands
from mlops.delivery.locked_install import (
    ONLY_PROJECT,
    TEST_GROUPS,
    image_requirements,
    locked_install,
    uv_bootstrap,
)

PYTHON = "3.11"
DEPLOY_PYTHON = "3.12"
"""The deploy and smoke-test builds run the inference repo (its handlers and the dependency layer
it builds) on the functions' runtime (`InferenceServiceArgs.runtime`, python3.12)."""
# Every install goes to the platform's CodeArtifact repository (mlops.components.packages), never
# to the public index: the token and index URL come first in each install phase. The repo builds
# then install exactly the repo's uv.lock, every file hash-checked (mlops.delivery.locked_install).
PACKAGE_INDEX = login_commands()


def _spec(
    phases: dict[str, list[str]],
    *,
    env: dict[str, Any] | None = None,
    reports: dict[str, Any] | None = None,
    python: str = PYTHON,
) -> str:
    body: dict[str, Any] = {"version": 0.2}
    if env:
        body["env"] = env
    body["phases"] = {
        name: (
            {"runtime-versions": {"python": python}, "commands": cmds}
            if name == "install"
            else {"commands": cmds}
        )
        for name, cmds in phases.items()
    }
    if reports:
        body["reports"] = reports
    return yaml.safe_dump(body, sort_keys=False)


def training_tests() -> str:
    """Stage 'Test' of the build pipeline: the training repo's unit tests and lint."""
    return _spec(
        {
            "install": [*PACKAGE_INDEX, *locked_install(TEST_GROUPS)],
            "build": ["ruff check .", "pytest -q --junitxml=reports/junit.xml"],
        },
        reports={"unit-tests": {"files": ["reports/junit.xml"], "file-format": "JUNITXML"}},
    )


#: where each image's build context is: the training repo is the primary source, the inference
#: repo the secondary one (CodeBuild names its directory after the input artifact)
IMAGE_CONTEXTS = {
    "training": "$CODEBUILD_SRC_DIR",
    "inference": "$CODEBUILD_SRC_DIR_inference_source",
}


def push_image(kind: str, context: str) -> list[str]:
    """Build `<context>/Dockerfile`, push it under a tag that names this build, then take the
    digest the registry recorded for that tag (`aws ecr describe-images`) and export
    `<KIND>_IMAGE_URI=<repository>@sha256:<digest>`; a push without a digest fails the build."""
    from mlops.components.images import URI_VARIABLES

    var, out = f"{kind.upper()}_REPOSITORY_URI", URI_VARIABLES[kind]
    repo = f"${var}"
    return [
        "docker build --secret id=pip_index_url,src=/tmp/pip_index_url"
        f' -t "{repo}:$TAG" "{context}"',
        f'docker push "{repo}:$TAG"',
        f'DIGEST=$(aws ecr describe-images --repository-name "${{{var}#*/}}"'
        ' --image-ids imageTag="$TAG" --query "imageDetails[0].imageDigest" --output text)',
        f'case "$DIGEST" in sha256:*) ;; *) echo "no digest for {repo}:$TAG" >&2; exit 1;; esac',
        f'export {out}="{repo}@$DIGEST"',
        f'echo "{out}=${out}"',
    ]


def build_and_push_images() -> str:
    """Stage 'Images' of the build pipeline: the training image from the training repo's
    Dockerfile, the inference image from the inference repo's, both pushed to the use case's ECR
    repositories (immutable tags: the commit and build number) and handed on by digest as the
    action's exported variables. The package index URL (with its token) reaches `pip` inside the
    build as a BuildKit secret only."""
    from mlops.components.images import KINDS, URI_VARIABLES

    return _spec(
        {
            "pre_build": [
                *PACKAGE_INDEX,
                "(umask 077; printf '%s' \"$PIP_INDEX_URL\" > /tmp/pip_index_url)",
                # each image installs its repo's locked `image` group, hash-checked
                *uv_bootstrap(),
                *(image_requirements(IMAGE_CONTEXTS[kind]) for kind in KINDS),
                'aws ecr get-login-password --region "$AWS_REGION"'
                ' | docker login --username AWS --password-stdin "${TRAINING_REPOSITORY_URI%%/*}"',
                'TAG="${CODEBUILD_RESOLVED_SOURCE_VERSION:-manual}-${CODEBUILD_BUILD_NUMBER}"',
            ],
            "build": [
                "export DOCKER_BUILDKIT=1",
                *(line for kind in KINDS for line in push_image(kind, IMAGE_CONTEXTS[kind])),
            ],
            "post_build": ["rm -f /tmp/pip_index_url"],
        },
        env={"exported-variables": [URI_VARIABLES[k] for k in KINDS]},
    )


def upsert_and_start_pipeline() -> str:
    """Stage 'TrainingPipeline': upsert the repo's SageMaker Pipeline definition and start a run
    (``mlops.delivery.run_pipeline`` reads the settings the platform put in the environment)."""
    return _spec(
        {
            "install": [*PACKAGE_INDEX, *locked_install()],
            # src/ goes to <bucket>/<usecase>/code/<sha256>/ first; the pipeline reads that version
            "build": ["python -m mlops.delivery.run_pipeline --upload-code --upsert --start"],
        }
    )


# The toolchain comes from the platform's CodeArtifact repository too (mlops.delivery.toolchain):
# uv by hash (locked_install), the Pulumi CLI ($PULUMI_VERSION) and the plugins of the providers
# just installed as verified generic packages; Pulumi never fetches a plugin itself.
PULUMI_INSTALL = [
    'python -m mlops.delivery.toolchain install --pulumi-version "$PULUMI_VERSION"',
    'export PATH="$HOME/.pulumi/bin:$PATH"',
    "export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true PULUMI_SKIP_UPDATE_CHECK=true",
    'pulumi login "$PULUMI_BACKEND_URL"',
]
_INSTALL = [*PACKAGE_INDEX, *locked_install()]


#: builds the function package and the manylinux dependency layer the inference program publishes
LAMBDA_PACKAGE = "python -m mlops.delivery.project_script lambda-package build/lambda"


def deploy() -> str:
    """Deploy stage $STAGE: select the package, `pulumi up` the inference repo's stack with it (the
    AWS provider assumes $TARGET_ROLE_ARN, the stage's per-use-case deployer), record the promotion.

    Before `pulumi up`, ``verify`` checks the package's model data against the SHA-256 recorded at
    registration (`mlops.delivery.artifacts`): a changed artifact stops the stage.
    dev deploys the newest Approved, never-deployed package and records the registry approver;
    staging and prod deploy exactly what this execution deployed to dev and record who passed
    $APPROVAL_ACTION; a rollback ($ROLLBACK_STAGE, $PACKAGE_ARN: pipeline variables) deploys the
    package its recorded request names. Build-phase commands share one shell (buildspec 0.2),
    so ARN carries over.
    """
    return _spec(
        {
            "install": [*_INSTALL, *PULUMI_INSTALL],
            "build": [
                'ARN=$(python -m mlops.delivery.deploy select --stage "$STAGE"'
                ' --group "$MODEL_PACKAGE_GROUP" --execution-id "$PIPELINE_EXECUTION_ID"'
                ' --package-arn "$PACKAGE_ARN" --rollback-stage "$ROLLBACK_STAGE")',
                # the model data must be the artifact registered (and approved): its SHA-256
                'python -m mlops.delivery.deploy verify --package-arn "$ARN"'
                ' --usecase "$USECASE" --bucket "$MODEL_ARTIFACT_BUCKET"',
                # a first deploy creates the stage's stack, its secrets under the backend
                # account's KMS key (awskms://, never a passphrase)
                'pulumi stack select --create "$STAGE"'
                ' --secrets-provider "$PULUMI_SECRETS_PROVIDER"',
                'pulumi config set modelPackageArn "$ARN"',
                'for kv in $ENDPOINT_CONFIG; do pulumi config set "${kv%%=*}" "${kv#*=}"; done',
                "pulumi config set --path 'aws:assumeRoles[0].roleArn' \"$TARGET_ROLE_ARN\"",
                # Snowflake's private key (the provider reads SNOWFLAKE_PRIVATE_KEY) only when the
                # stage's config names a Snowflake account, from Secrets Manager
                "KEY=$(python -m mlops.delivery.deploy snowflake-key"
                ' --stack-file "Pulumi.$STAGE.yaml" --secret-id "$SNOWFLAKE_KEY_SECRET_ID")',
                'if [ -n "$KEY" ]; then export SNOWFLAKE_PRIVATE_KEY="$KEY"; fi; unset KEY',
                LAMBDA_PACKAGE,
                # the platform's CrossGuard pack blocks unsafe inference infrastructure too
                "pulumi up --yes --non-interactive --skip-preview"
                ' --policy-pack "$(python -m mlops.policy.pack /tmp/mlops-policy-pack)"',
                'python -m mlops.delivery.deploy record --stage "$STAGE" --package-arn "$ARN"'
                ' --execution-id "$PIPELINE_EXECUTION_ID" --pipeline "$DEPLOY_PIPELINE_NAME"'
                ' --approval-action "$APPROVAL_ACTION"',
            ],
        },
        python=DEPLOY_PYTHON,
    )


def smoke_test() -> str:
    """A SigV4-signed sample request (the inference repo's tests/smoke/request.json) to the decision
    API the stage's stack exports as `invoke_url`, signed as the stage's deployer role; the answer
    must be valid against the repo's response schema (runs after every stage's deploy)."""
    return _spec(
        {
            "install": [*_INSTALL, *PULUMI_INSTALL],
            "build": [
                'URL=$(pulumi stack output invoke_url --stack "$STAGE")',
                'python -m mlops.delivery.deploy smoke --url "$URL"'
                ' --request tests/smoke/request.json --role-arn "$TARGET_ROLE_ARN" --repo .',
            ],
        },
        python=DEPLOY_PYTHON,
    )


def onboard() -> str:
    """The onboarding build started by a Service Catalog / SageMaker Projects launch: the same
    `mlops onboard` as the CLI, run from a clone of the platform repo (its templates, usecases/ and
    stack files), then both repos created in the Git provider with the rendered code, the manifest
    pull request opened and CloudFormation answered (`mlops.onboarding.studio`)."""
    return _spec(
        {
            # only the clone step runs the released library (an exact version from the platform's
            # repository); the onboarding itself runs the clone's code on its uv.lock, hash-checked
            "install": [*PACKAGE_INDEX, 'pip install "$MLOPS_PLATFORM_PIP_SPEC"'],
            "build": [
                "python -m mlops.onboarding.studio clone platform",
                "cd platform",
                *locked_install(ONLY_PROJECT, code="$PWD"),
                "python -m mlops.onboarding.studio onboard",
            ],
            "post_build": ["python -m mlops.onboarding.studio answer-if-failed"],
        }
    )
