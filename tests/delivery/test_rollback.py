"""Rollback end to end on moto: the registry records who, when and why, the deploy pipeline is
started with the right package for the one stage, the deploy build picks exactly that package,
and a rejected live package rolls its stages back through the same code path."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mlops.delivery.commands import deploy_pipeline_for, promotion_lines
from mlops.delivery.deploy import record, select
from mlops.delivery.promotion import PromotionError, list_packages, record_promotion
from mlops.delivery.rollback import (
    LocalDeployer,
    PipelineDeployer,
    RollbackError,
    check_reason,
    live_in,
    rollback,
    rollback_rejected,
    rollbacks,
)
from mlops.errors import UsageError

GROUP = "mlops-dev-remedy-models"
LEAD = "arn:aws:sts::111111111111:assumed-role/mlops-dev-remedy-approver/ellen-ward"
PIPELINE = "mlops-dev-remedy-deploy"
T = {i: datetime(2026, 11, i, 9, 0, tzinfo=UTC) for i in range(1, 30)}


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    keys = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-2",
    }
    old = {k: os.environ.get(k) for k in keys}
    os.environ.update(keys)
    with mock_aws():
        sm, cp, iam = (boto3.client(s) for s in ("sagemaker", "codepipeline", "iam"))
        sm.create_model_package_group(ModelPackageGroupName=GROUP)
        yield {"sagemaker": sm, "codepipeline": cp, "iam": iam}
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


STAGES = (("Source", "Source", "S3"), ("DeployProd", "Build", "CodeBuild"))


def _stage(name: str, category: str, provider: str) -> dict[str, Any]:
    kind = {"category": category, "owner": "AWS", "provider": provider, "version": "1"}
    return {"name": name, "actions": [{"name": name, "actionTypeId": kind}]}


def _pipeline(aws: dict[str, Any], name: str = PIPELINE) -> None:
    role = aws["iam"].create_role(
        RoleName=f"{name}-role",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "codepipeline.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    aws["codepipeline"].create_pipeline(
        pipeline={
            "name": name,
            "roleArn": role,
            "artifactStore": {"type": "S3", "location": "artifacts"},
            "stages": [_stage(n, c, p) for n, c, p in STAGES],
            "variables": [
                {"name": "PACKAGE_ARN", "defaultValue": "none"},
                {"name": "ROLLBACK_STAGE", "defaultValue": "none"},
            ],
        }
    )


def _package(sm: Any, status: str = "Approved") -> str:
    arn = sm.create_model_package(
        ModelPackageGroupName=GROUP,
        InferenceSpecification={
            "Containers": [{"Image": "111111111111.dkr.ecr.eu-west-2.amazonaws.com/remedy:1"}],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
        ModelApprovalStatus="PendingManualApproval",
    )["ModelPackageArn"]
    if status != "PendingManualApproval":
        sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus=status)
    return arn


def _deploy(sm: Any, arn: str, stages: tuple[str, ...], day: int) -> None:
    for stage in stages:
        record_promotion(sm, arn, stage, LEAD, execution_id=f"exec-{day}", now=T[day])


def _through_prod(sm: Any) -> tuple[str, str]:
    """v1 then v2 through dev, staging and prod: prod runs v2."""
    v1, v2 = _package(sm), _package(sm)
    _deploy(sm, v1, ("dev", "staging", "prod"), 1)
    _deploy(sm, v2, ("dev", "staging", "prod"), 2)
    return v1, v2


class _Gates:
    def list_action_executions(self, **kwargs: Any) -> dict[str, Any]:
        return {
            "actionExecutionDetails": [
                {"stageName": "ApproveProd", "actionName": "LeadDataScientistApproval",
                 "status": "Succeeded", "updatedBy": LEAD}
            ]
        }  # fmt: skip


def test_rollback_starts_the_pipeline_with_the_previous_package_and_records_it(aws) -> None:
    sm, cp = aws["sagemaker"], aws["codepipeline"]
    _pipeline(aws)
    v1, v2 = _through_prod(sm)

    result = rollback(
        sm, PipelineDeployer(cp, PIPELINE), GROUP, "prod",
        reason="p99 latency doubled after version 2", requested_by=LEAD, now=T[3],
        restate_status=True,
    )  # fmt: skip

    assert (result.target_arn, result.live.package_arn) == (v1, v2)
    execution = cp.get_pipeline_execution(
        pipelineName=PIPELINE, pipelineExecutionId=result.execution_id
    )["pipelineExecution"]
    assert {v["name"]: v["resolvedValue"] for v in execution["variables"]} == {
        "PACKAGE_ARN": v1,
        "ROLLBACK_STAGE": "prod",
    }
    to = sm.describe_model_package(ModelPackageName=v1)["CustomerMetadataProperties"]
    assert {k: v for k, v in to.items() if "rollback" in k} == {
        "mlops:prod:rollback-at": "2026-11-03T09:00:00Z",
        "mlops:prod:rollback-by": LEAD,
        "mlops:prod:rollback-reason": "p99 latency doubled after version 2",
        "mlops:prod:rollback-from": "2",
        "mlops:prod:rollback-execution": result.execution_id,
    }
    frm = sm.describe_model_package(ModelPackageName=v2)["CustomerMetadataProperties"]
    assert frm["mlops:prod:rolled-back-to"] == "1"
    assert sm.describe_model_package(ModelPackageName=v1)["ModelApprovalStatus"] == "Approved"

    # the pipeline's DeployProd build: select picks exactly the recorded package, record makes
    # it the live one, and `mlops promotions` shows the rollback as done
    chosen = select(sm, GROUP, "prod", result.execution_id, v1, "prod")
    assert chosen == v1
    record(sm, _Gates(), "prod", chosen, result.execution_id, PIPELINE,
           "ApproveProd/LeadDataScientistApproval")  # fmt: skip
    packages = list_packages(sm, GROUP)
    assert live_in(packages, "prod").package_arn == v1
    assert live_in(packages, "staging").package_arn == v2  # other stages untouched
    [done] = rollbacks(packages, "prod")
    assert (done.from_version, done.to_version, done.completed) == (2, 1, True)
    lines = promotion_lines(
        {s: live_in(packages, s) for s in ("dev", "staging", "prod")},
        {"prod": rollbacks(packages, "prod")},
    )
    assert lines[-1] == (
        f"  rollback prod: version 2 -> version 1 by {LEAD} at 2026-11-03T09:00:00Z (done): "
        "p99 latency doubled after version 2"
    )


def test_the_deploy_build_refuses_a_rollback_nobody_recorded(aws) -> None:
    """A pipeline started by hand with made-up variables deploys nothing."""
    sm = aws["sagemaker"]
    v1, _ = _through_prod(sm)
    with pytest.raises(RollbackError, match=r"no rollback of prod to .* is recorded"):
        select(sm, GROUP, "prod", "exec-by-hand", v1, "prod")
    with pytest.raises(RollbackError, match="rolls back prod, not staging"):
        select(sm, GROUP, "staging", "exec-by-hand", v1, "prod")
    # an ordinary run still selects as before
    with pytest.raises(PromotionError, match="no Approved, undeployed"):
        select(sm, GROUP, "dev", "exec-9")


def test_a_named_package_must_be_approved_and_have_passed_the_earlier_stages(aws) -> None:
    sm, cp = aws["sagemaker"], aws["codepipeline"]
    _pipeline(aws)
    v1, v2 = _through_prod(sm)
    dev_only = _package(sm)
    _deploy(sm, dev_only, ("dev",), 3)
    pending = _package(sm, "PendingManualApproval")
    deployer = PipelineDeployer(cp, PIPELINE)

    def go(to: str) -> Any:
        return rollback(
            sm, deployer, GROUP, "prod", reason="test", requested_by=LEAD, to=to,
            restate_status=True,
        )  # fmt: skip

    with pytest.raises(RollbackError, match="never deployed to staging"):
        go(dev_only)
    with pytest.raises(RollbackError, match="PendingManualApproval, not Approved"):
        go(pending)
    with pytest.raises(RollbackError, match="is what prod runs already"):
        go(v2)
    with pytest.raises(RollbackError, match="not a model package ARN"):
        go("v1")
    assert cp.list_pipeline_executions(pipelineName=PIPELINE)["pipelineExecutionSummaries"] == []
    assert go(v1).target_arn == v1


def test_nothing_to_roll_back_to_and_a_second_request_are_refused(aws) -> None:
    sm, cp = aws["sagemaker"], aws["codepipeline"]
    _pipeline(aws)
    deployer = PipelineDeployer(cp, PIPELINE)
    with pytest.raises(RollbackError, match="nothing is deployed to prod"):
        rollback(sm, deployer, GROUP, "prod", reason="x", requested_by=LEAD)
    only = _package(sm)
    _deploy(sm, only, ("dev",), 1)
    with pytest.raises(RollbackError, match="no earlier Approved package was deployed to dev"):
        rollback(sm, deployer, GROUP, "dev", reason="x", requested_by=LEAD)
    _through_prod(sm)
    rollback(sm, deployer, GROUP, "prod", reason="first", requested_by=LEAD, now=T[5],
             restate_status=True)  # fmt: skip
    with pytest.raises(RollbackError, match="already being rolled back"):
        rollback(sm, deployer, GROUP, "prod", reason="again", requested_by=LEAD, now=T[6])
    started = cp.list_pipeline_executions(pipelineName=PIPELINE)["pipelineExecutionSummaries"]
    assert len(started) == 1


def test_the_cloud_path_writes_metadata_only_never_an_approval_status(aws) -> None:
    """The group's resource policy refuses a status from anyone but the leads: the rollback
    (function or CLI) never sends one, so it records without touching approvals."""
    sm, cp = aws["sagemaker"], aws["codepipeline"]
    _pipeline(aws)
    _through_prod(sm)
    updates: list[dict[str, Any]] = []

    class Recording:
        def __getattr__(self, name: str) -> Any:
            return getattr(sm, name)

        def update_model_package(self, **kwargs: Any) -> Any:
            updates.append(kwargs)
            return sm.update_model_package(**kwargs)

    rollback(Recording(), PipelineDeployer(cp, PIPELINE), GROUP, "prod", reason="r",
             requested_by=LEAD)  # fmt: skip
    assert len(updates) == 2
    assert all(set(u) == {"ModelPackageArn", "CustomerMetadataProperties"} for u in updates)


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("", "--reason is required"),
        ("   ", "--reason is required"),
        ("x" * 257, "257 characters"),
        ("latency spike, see INC-42!", "'!' ','"),
    ],
)
def test_a_bad_reason_names_the_field_and_the_fix(reason: str, message: str) -> None:
    with pytest.raises(RollbackError, match=message) as err:
        check_reason(reason)
    assert err.value.fix


def test_rejecting_the_live_package_rolls_back_every_stage_it_is_live_in(aws) -> None:
    sm, cp = aws["sagemaker"], aws["codepipeline"]
    _pipeline(aws)
    v1, v2 = _through_prod(sm)
    v3 = _package(sm)
    _deploy(sm, v3, ("dev", "staging"), 4)  # prod still runs v2
    kept = sm.describe_model_package(ModelPackageName=v3)["CustomerMetadataProperties"]
    # the lead rejects it (moto drops metadata left out of an update; AWS keeps it)
    sm.update_model_package(
        ModelPackageArn=v3, ModelApprovalStatus="Rejected", CustomerMetadataProperties=kept
    )
    deployer = PipelineDeployer(cp, PIPELINE)

    results = rollback_rejected(sm, deployer, GROUP, v3, now=T[5], restate_status=True)

    assert [(r.stage, r.target_arn) for r in results] == [("staging", v2), ("dev", v2)]
    for r in results:
        variables = cp.get_pipeline_execution(
            pipelineName=PIPELINE, pipelineExecutionId=r.execution_id
        )["pipelineExecution"]["variables"]
        assert {v["name"]: v["resolvedValue"] for v in variables} == {
            "PACKAGE_ARN": v2,
            "ROLLBACK_STAGE": r.stage,
        }
        assert r.reason == "version 3 rejected in the model registry"
        assert r.requested_by.startswith("registry rejection by ")
    # the registry emits another state-change event for the metadata update: nothing new starts
    assert rollback_rejected(sm, deployer, GROUP, v3, now=T[6], restate_status=True) == []
    # neither does rejecting a package that is live nowhere, nor an approved one
    assert rollback_rejected(sm, deployer, GROUP, v1, now=T[6], restate_status=True) == []
    started = cp.list_pipeline_executions(pipelineName=PIPELINE)["pipelineExecutionSummaries"]
    assert len(started) == 2


def test_local_rollback_records_the_redeploy_at_once_and_serves_the_package(aws) -> None:
    sm = aws["sagemaker"]
    v1, v2 = _package(sm), _package(sm)
    _deploy(sm, v1, ("dev",), 1)
    _deploy(sm, v2, ("dev",), 2)
    served: list[tuple[str, str]] = []
    deployer = LocalDeployer(sm, LEAD, serve=lambda arn, stage: served.append((arn, stage)))

    result = rollback(
        sm, deployer, GROUP, "dev", reason="worse PAV error", requested_by=LEAD, now=T[3]
    )

    assert served == [(v1, "dev")] and result.execution_id == "local-1"
    packages = list_packages(sm, GROUP)
    assert live_in(packages, "dev").package_arn == v1
    [done] = rollbacks(packages, "dev")
    assert (done.to_version, done.from_version, done.completed, done.reason) == (
        1, 2, True, "worse PAV error",
    )  # fmt: skip
    # the rolled-back package is never "the previous one": no further rollback target exists
    with pytest.raises(RollbackError, match="no earlier Approved package"):
        rollback(sm, deployer, GROUP, "dev", reason="again", requested_by=LEAD, now=T[4])


# --- CLI ------------------------------------------------------------------------------------
def test_rollback_and_promotions_cli(aws) -> None:
    from typer.testing import CliRunner

    from mlops.cli import app

    sm = aws["sagemaker"]
    pipeline = deploy_pipeline_for("remedy")
    _pipeline(aws, pipeline)
    v1, v2 = _through_prod(sm)
    runner = CliRunner()

    result = runner.invoke(
        app, ["rollback", "remedy", "--stage", "prod", "--reason", "wrong write-offs up"]
    )

    assert result.exit_code == 0, result.output
    first, second = result.output.splitlines()
    assert first == f"prod: rolling back version 2 -> version 1 ({v1})"
    assert second.startswith("  deploy pipeline execution ")
    assert second.endswith(": wrong write-offs up")
    shown = runner.invoke(app, ["promotions", "remedy"]).output.splitlines()
    assert shown[-1] == "awaiting approval: none"
    stages = shown[:-1]
    assert stages[-2].startswith(f"prod: version 2 ({v2})")  # live until the pipeline redeploys
    assert stages[-1].startswith("  rollback prod: version 2 -> version 1 by arn:aws:")
    assert "(pending: deploy pipeline execution " in stages[-1]


def test_promotions_show_the_packages_awaiting_approval_with_their_backtest_report(aws) -> None:
    """What the lead reads before approving: the backtest report the training pipeline's
    Register step attached (sagemaker_pipelines.BACKTEST_PROPERTIES), newest first."""
    from mlops.delivery.commands import REPORT_KEYS, promotions_command
    from mlops.sagemaker_pipelines import BACKTEST_PROPERTIES

    assert tuple(BACKTEST_PROPERTIES) == REPORT_KEYS
    sm = aws["sagemaker"]
    _package(sm)  # approved: not awaiting
    older, newer = _package(sm, "PendingManualApproval"), _package(sm, "PendingManualApproval")
    report = "s3://b/remedy/pipeline/e/backtest/backtest.html"
    sm.update_model_package(  # moto resets a status left out: restated
        ModelPackageArn=newer,
        ModelApprovalStatus="PendingManualApproval",
        CustomerMetadataProperties={
            "backtest_report": report,
            "backtest_json": report[:-4] + "json",
        },
    )
    shown = promotions_command("remedy", None, client=sm)
    waiting = shown[shown.index("awaiting approval:") :]
    assert waiting == [
        "awaiting approval:",
        f"  version 3 ({newer})",
        f"    backtest_report {report}; backtest_json {report[:-4]}json",
        f"  version 2 ({older})",
        "    no backtest report attached",
    ]


def test_rollback_cli_refuses_a_bad_stage_and_a_bad_reason(aws) -> None:
    from typer.testing import CliRunner

    from mlops.cli import app

    bad_stage = CliRunner().invoke(app, ["rollback", "remedy", "--stage", "qa", "--reason", "x"])
    assert isinstance(bad_stage.exception, RollbackError)
    assert bad_stage.exception.message == "--stage 'qa' is not a stage"
    bad_reason = CliRunner().invoke(
        app, ["rollback", "remedy", "--stage", "prod", "--reason", "why?"]
    )
    assert isinstance(bad_reason.exception, RollbackError)
    assert "'?'" in bad_reason.exception.message


def test_local_mode_cli_rolls_back_over_the_embedded_registry(monkeypatch) -> None:
    """`mlops rollback --local` and `mlops promotions --local` on `mlops demo`'s embedded AWS."""
    from typer.testing import CliRunner

    from mlops.cli import app
    from mlops.delivery.commands import local_group_for
    from mlops.local.embedded_aws import FAKE_CREDENTIALS, EmbeddedAWS

    for key, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    group, _ = local_group_for("remedy")
    with EmbeddedAWS() as local:
        sm = local.client("sagemaker")
        sm.create_model_package_group(ModelPackageGroupName=group)
        arns = []
        for day in (1, 2):
            arn = sm.create_model_package(
                ModelPackageGroupName=group, ModelApprovalStatus="Approved",
                InferenceSpecification={
                    "Containers": [{"Image": "1.dkr.ecr.eu-west-2.amazonaws.com/r:1"}],
                    "SupportedContentTypes": ["application/json"],
                    "SupportedResponseMIMETypes": ["application/json"],
                },
            )["ModelPackageArn"]  # fmt: skip
            record_promotion(sm, arn, "dev", "ellen-ward", execution_id="demo", now=T[day])
            arns.append(arn)
        url = local.endpoint_url
        runner = CliRunner()
        args = ["--local", "--endpoint-url", url]
        result = runner.invoke(
            app, ["rollback", "remedy", "--stage", "dev", *args, "--reason", "worse PAV error"]
        )
        assert result.exit_code == 0, result.output
        assert (
            result.output.splitlines()[0] == f"dev: rolling back version 2 -> version 1 ({arns[0]})"
        )
        shown = runner.invoke(app, ["promotions", "remedy", "--local", "--endpoint-url", url])
        lines = shown.output.splitlines()
        assert lines[0].startswith(f"dev: version 1 ({arns[0]})")
        assert lines[1].startswith("  rollback dev: version 2 -> version 1 by arn:aws:")
        assert lines[1].endswith("(done): worse PAV error")
        status = sm.describe_model_package(ModelPackageName=arns[0])["ModelApprovalStatus"]
        assert status == "Approved"  # moto keeps the status (restated in local mode)
    no_url = CliRunner().invoke(app, ["rollback", "remedy", "--stage", "dev", "--local",
                                      "--reason", "x"])  # fmt: skip
    assert isinstance(no_url.exception, UsageError)
