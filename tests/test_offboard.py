"""`mlops offboard` on embedded AWS (moto): refused while inference stacks hold resources (prod
first, with the commands), then the platform diff (deleted vs kept) and the manifest removed;
`--check-orphans` finds stacks whose manifest went too early."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from mlops import offboard
from mlops.backends import inference_backend_url, state_object_key
from mlops.config import load_stack_config
from mlops.usecases import USECASES_DIR, USECASES_DIR_ENV


def _checkpoint(types: list[str]) -> bytes:
    resources = [{"urn": f"urn:{i}", "type": t} for i, t in enumerate(types)]
    return json.dumps({"version": 3, "checkpoint": {"latest": {"resources": resources}}}).encode()


@pytest.fixture
def estate(tmp_path, monkeypatch):
    """The dev account's state bucket on moto, and a copy of usecases/ the test may change."""
    usecases = tmp_path / "usecases"
    shutil.copytree(USECASES_DIR, usecases)
    monkeypatch.setenv(USECASES_DIR_ENV, str(usecases))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-2")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-2")
        bucket = inference_backend_url(load_stack_config("dev")).split("://")[1].split("?")[0]
        s3.create_bucket(Bucket=bucket,
                         CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})  # fmt: skip

        def put(stack: str, types: list[str], project: str = "remedy-inference") -> None:
            s3.put_object(Bucket=bucket, Key=state_object_key(project, stack),
                          Body=_checkpoint(types))  # fmt: skip

        yield s3, put, usecases


LIVE = ["pulumi:pulumi:Stack", "pulumi:providers:aws", "aws:sagemaker/endpoint:Endpoint",
        "aws:apigateway/restApi:RestApi"]  # fmt: skip
DESTROYED = ["pulumi:pulumi:Stack"]


def test_refused_while_stacks_exist_prod_first_with_the_commands(estate) -> None:
    s3, put, usecases = estate
    put("staging", LIVE)
    put("prod", LIVE)
    put("dev", DESTROYED)
    plan = offboard.plan("remedy", s3)
    assert [(s.environment, s.resources) for s in plan.remaining] == [("prod", 2), ("staging", 2)]
    assert plan.removed == [] and plan.kept == []  # nothing is diffed while refused
    with pytest.raises(offboard.OffboardRefused) as refused:
        offboard.apply(plan)
    message, fix = refused.value.message, refused.value.fix
    assert "prod (2 resources); staging (2 resources)" in message
    assert fix.index("destroy --stack prod") < fix.index("destroy --stack staging")
    assert (usecases / "remedy.yaml").is_file()  # nothing removed


def test_after_destroy_the_plan_deletes_its_platform_resources_and_keeps_the_registry(
    estate,
) -> None:
    s3, put, usecases = estate
    for stack in ("dev", "staging", "prod"):
        put(stack, DESTROYED)
    plan = offboard.plan("remedy", s3)
    assert plan.remaining == []
    kinds = {t for t, _ in plan.removed}
    assert {"aws:codepipeline/pipeline:Pipeline", "aws:codebuild/project:Project",
            "aws:iam/role:Role"} <= kinds  # fmt: skip
    assert all("remedy" in name for _, name in plan.removed), plan.removed
    assert [t for t, _, _ in plan.kept] == ["aws:sagemaker/modelPackageGroup:ModelPackageGroup"]
    # shared stores are not the use case's: they stay
    assert not any(t == "aws:s3/bucket:Bucket" for t, _ in plan.removed)
    removed = offboard.apply(plan)
    assert removed == usecases / "remedy.yaml" and not removed.exists()


def test_unknown_use_case_names_the_onboarded_ones(estate) -> None:
    s3, _, _ = estate
    with pytest.raises(offboard.OffboardRefused, match="'nope' has no manifest"):
        offboard.plan("nope", s3)


def test_check_orphans_finds_stacks_whose_manifest_went_too_early(estate) -> None:
    s3, put, usecases = estate
    put("prod", LIVE, project="retired-inference")
    put("dev", DESTROYED, project="gone-inference")
    put("prod", LIVE)  # remedy still has its manifest: not an orphan
    assert offboard.orphaned_stacks(s3) == [("retired-inference", "prod", 2)]
    (usecases / "remedy.yaml").unlink()
    assert sorted(offboard.orphaned_stacks(s3)) == [
        ("remedy-inference", "prod", 2),
        ("retired-inference", "prod", 2),
    ]


def test_cli_refuses_with_exit_1_and_the_fix(estate, monkeypatch, capsys) -> None:
    from mlops.cli import main

    _, put, _ = estate
    put("prod", LIVE)
    monkeypatch.setattr("sys.argv", ["mlops", "offboard", "remedy", "--apply"])
    with pytest.raises(SystemExit) as stop:
        main()
    err = " ".join(capsys.readouterr().err.split())
    assert stop.value.code == 1 and "remedy's inference stacks still exist: prod" in err
    monkeypatch.setattr("sys.argv", ["mlops", "offboard", "--check-orphans"])
    with pytest.raises(SystemExit):
        main()
    assert Path(USECASES_DIR / "remedy.yaml").is_file()
