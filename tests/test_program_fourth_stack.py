"""A stack beyond dev, staging and prod: the example `Pulumi.prod-eu-west-1.yaml`
(kind prod, its own account and region, governed by dev) previews, passes `mlops check`, and its
cross-stack names point at the governance stack's region and accounts."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from mlops.cli import app
from mlops.config import load_stack_config
from mlops.program import build_stack, referenced_stacks
from mlops.testing.mocks import RecordingMocks

STACK = "prod-eu-west-1"
OWN, DEV = "444444444444", "111111111111"


@pytest.fixture(scope="module")
def fourth() -> RecordingMocks:
    return build_stack(STACK)


def test_it_reads_its_governance_stack_only() -> None:
    assert referenced_stacks(STACK) == ["dev"]
    assert referenced_stacks("dev") == []


def test_it_builds_in_its_own_account_and_region(fourth: RecordingMocks) -> None:
    assert (fourth.account_id, fourth.region) == (OWN, "eu-west-1")
    (ref,) = fourth.of_type("pulumi:pulumi:StackReference")
    assert ref.inputs["name"] == "organization/mlops-platform/dev"
    buckets = {r.inputs["bucket"] for r in fourth.of_type("aws:s3/bucket:Bucket")}
    assert buckets and all(b.endswith(f"-{OWN}-eu-west-1") for b in buckets), buckets
    assert all(b.startswith("mlops-prod-") for b in buckets)
    (provider,) = [r for r in fourth.of_type("pulumi:providers:aws") if r.name == "aws"]
    assert provider.inputs["region"] == "eu-west-1"
    assert json.loads(provider.inputs["allowedAccountIds"]) == [OWN]
    assert fourth.of_type("aws:apigateway/account:Account")


def test_names_of_the_governance_stack_use_its_region(fourth: RecordingMocks) -> None:
    """The deployer reads dev's registry, which is in eu-west-2, and trusts dev's deploy build."""
    docs = [r.inputs.get("policy", "") for r in fourth.of_type("aws:iam/rolePolicy:RolePolicy")]
    docs += [r.inputs.get("policy", "") for r in fourth.of_type("aws:iam/policy:Policy")]
    text = " ".join(d for d in docs if isinstance(d, str))
    assert f"arn:aws:sagemaker:eu-west-2:{DEV}:model-package/" in text  # dev registry packages
    assert f"arn:aws:sagemaker:eu-west-1:{DEV}:" not in text
    trusts = " ".join(r.inputs["assumeRolePolicy"] for r in fourth.of_type("aws:iam/role:Role"))
    assert f"arn:aws:iam::{DEV}:role/mlops-dev-remedy-deploy-build" in trusts


def test_mlops_check_passes_for_it() -> None:
    result = CliRunner().invoke(app, ["check", "--stack", STACK, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    (stack,) = report if isinstance(report, list) else [report]
    assert stack["stack"] == STACK
    assert stack["resources"] > 100


def test_mlops_preview_accepts_it_by_name() -> None:
    result = CliRunner().invoke(app, ["preview", "--stack", STACK, "--json"])
    assert result.exit_code == 0, result.output
    assert load_stack_config(STACK).environment == "prod"
