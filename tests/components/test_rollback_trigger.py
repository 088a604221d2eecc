"""The rollback trigger under mocks: a rejected, deployed package of this group (and nothing
else) invokes a function that runs `mlops.delivery.rollback`, with least privilege, its code
importable on its own as the Lambda runtime imports it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlops.components.rollback_trigger import CODE_FILES, HANDLER
from mlops.config import StackConfig
from mlops.delivery.events import matches, sample_event
from mlops.delivery.promotion import deployed_marker
from mlops.rehearsal.evaluator import identity_decision
from mlops.testing.mocks import RecordedResource, RecordingMocks, policy_documents, run

from .usecase_helpers import build, manifest

DEV = pytest.mark.parametrize("stack_config", ["dev"], indirect=True)
GROUP = "mlops-dev-remedy-models"
ROOT = Path(__file__).resolve().parents[2]


def _one(mocks: RecordingMocks, typ: str, name: str) -> RecordedResource:
    [r] = [r for r in mocks.of_type(typ) if r.name == name]
    return r


@DEV
def test_only_a_rejected_deployed_package_of_this_group_invokes_the_rollback(
    pulumi_mocks: RecordingMocks, stack_config: StackConfig
) -> None:
    run(lambda: build(stack_config, [manifest("remedy")]))
    prefix = "usecase-remedy-rollback"
    rule = _one(pulumi_mocks, "aws:cloudwatch/eventRule:EventRule", f"{prefix}-rule")
    target = _one(pulumi_mocks, "aws:cloudwatch/eventTarget:EventTarget", f"{prefix}-target")
    fn = _one(pulumi_mocks, "aws:lambda/function:Function", f"{prefix}-function")
    permission = _one(pulumi_mocks, "aws:lambda/permission:Permission", f"{prefix}-invoke")
    assert target.inputs["arn"].endswith(":function:mlops-dev-remedy-rollback"), target.inputs
    assert ":codepipeline:" not in target.inputs["arn"]
    assert permission.inputs["principal"] == "events.amazonaws.com"
    assert permission.inputs["sourceArn"].endswith(":rule/mlops-dev-remedy-rejected")
    pattern = json.loads(rule.inputs["eventPattern"])
    deployed = {deployed_marker("dev"): "2026-11-29T02:00:00Z"}
    cases = {
        "Rejected, deployed": (sample_event(GROUP, "Rejected", deployed), True),
        "Rejected, never deployed": (sample_event(GROUP, "Rejected", {"team": "x"}), False),
        "Approved, deployed": (sample_event(GROUP, "Approved", deployed), False),
        "Rejected, other group": (sample_event("mlops-dev-other", "Rejected", deployed), False),
    }
    from moto.events.models import EventPattern

    moto_pattern = EventPattern.load(json.dumps(pattern))
    for label, (event, expected) in cases.items():
        assert matches(pattern, event) is expected, label
        assert moto_pattern.matches_event(event) is expected, f"moto disagrees: {label}"
    inputs = fn.inputs
    assert inputs["handler"] == HANDLER
    assert inputs["reservedConcurrentExecutions"] == 1  # one rollback at a time
    assert inputs["deadLetterConfig"]["targetArn"]
    assert inputs["environment"]["variables"] == {
        "MODEL_PACKAGE_GROUP": GROUP,
        "DEPLOY_PIPELINE_NAME": "mlops-dev-remedy-deploy",
    }
    assert "vpcConfig" not in inputs or not inputs["vpcConfig"]  # public APIs only (docstring)


@DEV
def test_the_rollback_function_may_start_its_own_pipeline_and_nothing_else(
    pulumi_mocks: RecordingMocks, stack_config: StackConfig
) -> None:
    run(lambda: build(stack_config, [manifest("remedy"), manifest("fraud")]))
    [doc] = [
        d for n, d in policy_documents(pulumi_mocks.resources)
        if n.startswith("usecase-remedy-rollback-policy.")
    ]  # fmt: skip
    acct, region = stack_config.account_id, stack_config.region
    mine = f"arn:aws:codepipeline:{region}:{acct}:mlops-dev-remedy-deploy"
    package = f"arn:aws:sagemaker:{region}:{acct}:model-package/{GROUP}/3"
    assert identity_decision([doc], "codepipeline:StartPipelineExecution", mine) == "Allow"
    assert identity_decision([doc], "sagemaker:UpdateModelPackage", package) == "Allow"
    for action, resource in (
        ("codepipeline:StartPipelineExecution", mine.replace("remedy", "fraud")),
        ("sagemaker:UpdateModelPackage", package.replace("remedy", "fraud")),
        ("codepipeline:PutApprovalResult", f"{mine}/ApproveProd/LeadDataScientistApproval"),
        ("sagemaker:CreateModelPackage", package),
    ):
        assert identity_decision([doc], action, resource) == "ImplicitDeny", (action, resource)


def test_the_function_code_imports_on_its_own_as_the_lambda_runtime_does(tmp_path: Path) -> None:
    for f in CODE_FILES:
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / f, tmp_path / f)
    module, _, function = HANDLER.rpartition(".")
    probe = (
        "import importlib, sys; sys.path.insert(0, '.'); "
        f"m = importlib.import_module({module!r}); "
        f"assert callable(getattr(m, {function!r})); "
        "assert not [n for n in sys.modules if n.startswith(('pulumi', 'pydantic', 'yaml'))]; "
        "print(m.__file__)"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", probe], cwd=tmp_path, capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(tmp_path / "mlops/delivery/rollback.py")


@DEV
def test_a_rollback_run_deploys_and_smoke_tests_only_its_stage(
    pulumi_mocks: RecordingMocks, stack_config: StackConfig
) -> None:
    """The deploy pipeline's entry conditions, evaluated as CodePipeline does (a VariableCheck
    MATCHES rule; a failed entry check SKIPs the stage): an ordinary run (ROLLBACK_STAGE=none)
    runs every stage, a rollback only its stage's gate, deploy and smoke test."""
    import re

    run(lambda: build(stack_config, [manifest("remedy")]))
    [pipeline] = [p for p in pulumi_mocks.of_type("aws:codepipeline/pipeline:Pipeline")
                  if p.inputs["name"] == "mlops-dev-remedy-deploy"]  # fmt: skip
    variables = {v["name"]: v["defaultValue"] for v in pipeline.inputs["variables"]}
    assert variables == {"PACKAGE_ARN": "none", "ROLLBACK_STAGE": "none"}

    def stages_run(rollback_stage: str) -> list[str]:
        ran = []
        for stage in pipeline.inputs["stages"]:
            entry = stage.get("beforeEntry")
            if entry:
                [rule] = entry["condition"]["rules"]
                cfg = rule["configuration"]
                assert rule["ruleTypeId"]["provider"] == "VariableCheck"
                assert (cfg["Variable"], cfg["Operator"]) == ("#{variables.ROLLBACK_STAGE}",
                                                              "MATCHES")  # fmt: skip
                assert entry["condition"]["result"] == "SKIP"
                if not re.fullmatch(cfg["Value"], rollback_stage):
                    continue
            ran.append(stage["name"])
        return ran

    every = [s["name"] for s in pipeline.inputs["stages"]]
    assert stages_run("none") == every and len(every) == 9
    assert stages_run("dev") == ["Source", "DeployDev", "SmokeTestDev"]
    assert stages_run("staging") == ["Source", "ApproveStaging", "DeployStaging",
                                     "SmokeTestStaging"]  # fmt: skip
    assert stages_run("prod") == ["Source", "ApproveProd", "DeployProd", "SmokeTestProd"]
    deploy = next(s for s in pipeline.inputs["stages"] if s["name"] == "DeployProd")
    env = json.loads(deploy["actions"][0]["configuration"]["EnvironmentVariables"])
    assert {e["name"]: e["value"] for e in env if e["name"] in variables} == {
        "PACKAGE_ARN": "#{variables.PACKAGE_ARN}",
        "ROLLBACK_STAGE": "#{variables.ROLLBACK_STAGE}",
    }


def test_the_deploy_build_passes_the_rollback_variables_to_select() -> None:
    from mlops.delivery.buildspecs import deploy

    [select] = [c for c in yaml.safe_load(deploy())["phases"]["build"]["commands"]
                if "mlops.delivery.deploy select" in c]  # fmt: skip
    assert '--package-arn "$PACKAGE_ARN" --rollback-stage "$ROLLBACK_STAGE"' in select
