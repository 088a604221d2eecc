"""Run the real Pulumi program (platform/__main__.py) offline under recording mocks."""

from __future__ import annotations

import runpy
from pathlib import Path

from mlops.config import REPO_ROOT, flatten_for_mocks, load_stack_config, read_stack_file
from mlops.testing.mocks import RecordingMocks, install, run

PROGRAM = REPO_ROOT / "platform" / "__main__.py"


def dev_outputs_for_mocks(account_id: str, region: str) -> dict[str, object]:
    """What a staging/prod StackReference to dev would return, shaped like dev's exports."""
    return {
        "artifacts_bucket": f"mlops-dev-model-artifacts-{account_id}-{region}",
        "artifacts_key_arn": f"arn:aws:kms:{region}:{account_id}:key/dev-artifacts",
        "deploy_pipeline_role_arn": f"arn:aws:iam::{account_id}:role/mlops-dev-deploy-pipeline",
        "account_id": account_id,
    }


def build_stack(stack: str, root: Path = REPO_ROOT) -> RecordingMocks:
    """Validate the stack file, then run the program for it; returns what it registered."""
    cfg = load_stack_config(stack, root)
    dev_ref = "organization/mlops-platform/dev"
    mocks = RecordingMocks(
        account_id=cfg.account_id,
        region=cfg.region,
        az_count=max(3, cfg.network.az_count),
        stack_outputs={dev_ref: dev_outputs_for_mocks(cfg.accounts.dev, cfg.region)},
    )
    install(mocks, stack, flatten_for_mocks(read_stack_file(stack, root)))
    program = root / "platform" / "__main__.py"
    run(lambda: runpy.run_path(str(program), run_name="__main__"))
    return mocks
