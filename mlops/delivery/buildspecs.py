"""CodeBuild buildspecs for the use-case pipelines (plain data → YAML text).

Contracts with the rendered repositories (templates/<name>):
- training repo: ``pytest`` and ``ruff`` run its tests; ``src/<pkg>/pipeline.py`` has
  ``PipelineSettings`` + ``build_pipeline`` (``mlops.delivery.run_pipeline`` upserts and starts it).
- inference repo: deployment is done from the model registry (``mlops.delivery.deploy``), so every
  use case is deployed the same way; the repo provides ``tests/smoke/request.json``.
Every value a build needs arrives as an environment variable set by the platform.
"""

from __future__ import annotations

from typing import Any

import yaml

PYTHON = "3.11"


def _spec(
    phases: dict[str, list[str]],
    *,
    env: dict[str, Any] | None = None,
    reports: dict[str, Any] | None = None,
) -> str:
    body: dict[str, Any] = {"version": 0.2}
    if env:
        body["env"] = env
    body["phases"] = {
        name: (
            {"runtime-versions": {"python": PYTHON}, "commands": cmds}
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
            "install": ["pip install --upgrade pip", "pip install -e . --group dev"],
            "build": ["ruff check .", "pytest -q --junitxml=reports/junit.xml"],
        },
        reports={"unit-tests": {"files": ["reports/junit.xml"], "file-format": "JUNITXML"}},
    )


def upsert_and_start_pipeline() -> str:
    """Stage 'TrainingPipeline': upsert the repo's SageMaker Pipeline definition and start a run
    (``mlops.delivery.run_pipeline`` reads the settings the platform put in the environment)."""
    return _spec(
        {
            "install": [
                "pip install --upgrade pip",
                "pip install -e .",
                'pip install "$MLOPS_PLATFORM_PIP_SPEC"',
            ],
            "build": ["python -m mlops.delivery.run_pipeline --upsert --start"],
        }
    )


def deploy() -> str:
    """Deploy to $STAGE and record the promotion on the model package.

    dev deploys the newest Approved, never-deployed package of the group and records the registry
    approver (the package's LastModifiedBy); staging and prod deploy exactly the package this
    pipeline execution deployed to dev, and record who approved $APPROVAL_ACTION (CodePipeline
    keeps the approver's identity on the action execution).
    """
    return _spec(
        {
            "install": ["pip install --upgrade pip", 'pip install "$MLOPS_PLATFORM_PIP_SPEC"'],
            "build": [
                'python -m mlops.delivery.deploy --stage "$STAGE"'
                ' --group "$MODEL_PACKAGE_GROUP" --target-role-arn "$TARGET_ROLE_ARN"'
                ' --target-parameter "$TARGET_PARAMETER" --pipeline "$DEPLOY_PIPELINE_NAME"'
                ' --execution-id "$PIPELINE_EXECUTION_ID"'
                ' --approval-action "$APPROVAL_ACTION"',
            ],
        }
    )


def smoke_test() -> str:
    """Invoke the endpoint just deployed to $STAGE with the inference repo's sample request."""
    return _spec(
        {
            "install": ["pip install --upgrade pip", 'pip install "$MLOPS_PLATFORM_PIP_SPEC"'],
            "build": [
                'python -m mlops.delivery.deploy --stage "$STAGE" --smoke-test'
                ' --target-role-arn "$TARGET_ROLE_ARN" --target-parameter "$TARGET_PARAMETER"'
                " --request tests/smoke/request.json",
            ],
        }
    )


def onboard() -> str:
    """The onboarding build started by a Service Catalog / SageMaker Projects launch: the same
    `mlops onboard` as the CLI (render both repos, write usecases/<name>.yaml), then a branch with
    the manifest is pushed and a change (pull request) opened for review."""
    answers = (
        'python -c \'import os, yaml; a = {"owner_email": os.environ["OWNER_EMAIL"], '
        '"description": os.environ.get("DESCRIPTION", "")}; '
        "print(yaml.safe_dump({k: v for k, v in a.items() if v}))' > /tmp/answers.yml"
    )
    return _spec(
        {
            "install": ["pip install --upgrade pip", 'pip install "$MLOPS_PLATFORM_PIP_SPEC"'],
            "build": [
                'git clone --depth 1 "$PLATFORM_REPO_URL" platform',
                "cd platform",
                answers,
                'mlops onboard "$USECASE_NAME" --template "$TEMPLATE"'
                " --answers /tmp/answers.yml --out /tmp/repos",
                'git checkout -b "onboard/$USECASE_NAME"',
                'git add "usecases/$USECASE_NAME.yaml"',
                'git commit -m "onboard $USECASE_NAME from $TEMPLATE $TEMPLATE_VERSION"',
                'git push origin "onboard/$USECASE_NAME"',
                'gh pr create --fill --head "onboard/$USECASE_NAME"',
            ],
        }
    )
