"""The platform-up fixes, each undone on purpose in a copy of the estate: the rehearsal turns red
with the right reason (so they cannot silently regress), and is green on the real estate."""

from __future__ import annotations

import json

import pytest

from mlops.rehearsal import platform_up
from mlops.rehearsal.estate import landing_zone_deployer
from mlops.rehearsal.model import PUBLIC
from mlops.rehearsal.provider_calls import ProgramView
from mlops.rehearsal.runner import Runner
from rehearsal.conftest import mutated

pytestmark = pytest.mark.xdist_group("rehearsal")
REGION = "eu-west-2"


def _steps_of(estate, program: str, resource: str):
    run = estate.program(program)
    target = next(r for r in run.resources if r.name == resource)
    deployer = landing_zone_deployer(run, estate)
    view = ProgramView(account=run.account, region=run.region, resources=run.resources)
    return platform_up.steps_for_resource(
        Runner(estate), run, target, view, deployer, PUBLIC, deployer.split(":")[4], "regression"
    )


def _edit_policy(key: str, change):
    def edit(r):
        doc = json.loads(r.inputs[key])
        change(doc["Statement"])
        r.inputs[key] = json.dumps(doc)

    return edit


def _drop(sid: str):
    return lambda statements: statements.remove(next(s for s in statements if s["Sid"] == sid))


def test_state_writes_without_sse_headers(rehearsal_runs, estate):
    run = estate.program("platform/staging")
    deployer = landing_zone_deployer(run, estate)
    steps = platform_up.state_steps(Runner(estate), run, deployer, PUBLIC, run.account, "r")
    writes = [s for s in steps if s.action == "s3:PutObject"]
    assert writes and all(s.ok for s in writes), [s.verdict.reason for s in writes]

    def negated_ifexists(statements):
        st = next(s for s in statements if s["Sid"] == "DenyNonKmsUploads")
        st["Condition"] = {
            "StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}
        }

    bucket = run.backend_url.removeprefix("s3://").split("?", 1)[0]
    bootstrap = estate.buckets[bucket].program  # the program that creates the state bucket
    changed, _ = mutated(
        rehearsal_runs, bootstrap, "state-policy", _edit_policy("policy", negated_ifexists)
    )
    run = changed.program("platform/staging")
    steps = platform_up.state_steps(Runner(changed), run, deployer, PUBLIC, run.account, "r")
    bad = [s for s in steps if s.action == "s3:PutObject" and not s.ok]
    assert bad, [(s.action, s.verdict.reason) for s in steps]
    assert "DenyNonKmsUploads" in bad[0].verdict.reason


def test_need_to_know_bucket_read_back_by_its_deployer(rehearsal_runs, estate):
    ok = [s for s in _steps_of(estate, "platform/prod", "storage-data-bucket") if not s.ok]
    assert not ok, [(s.action, s.verdict.reason) for s in ok]

    def without_deployer(statements):
        st = next(s for s in statements if s["Sid"] == "DenyListingButNamedRoles")
        listers = st["Condition"]["ArnNotLike"]["aws:PrincipalArn"]
        st["Condition"]["ArnNotLike"]["aws:PrincipalArn"] = [
            a for a in listers if not a.endswith("mlops-pulumi-deployer")
        ]

    changed, _ = mutated(
        rehearsal_runs, "platform/prod", "storage-data-policy",
        _edit_policy("policy", without_deployer),
    )  # fmt: skip
    bad = [s for s in _steps_of(changed, "platform/prod", "storage-data-bucket") if not s.ok]
    assert [s.action for s in bad] == ["s3:ListBucket"], [(s.action, s.verdict.reason) for s in bad]
    assert "DenyListingButNamedRoles" in bad[0].verdict.reason


def test_product_template_written_with_a_key_the_deployer_may_not_use(rehearsal_runs, estate):
    assert all(s.ok for s in _steps_of(estate, "platform/dev", "catalog-remedy-template"))
    changed, _ = mutated(
        rehearsal_runs, "platform/dev", "keys-artifacts",
        _edit_policy("policy", _drop("KeyUseByDeployerViaServices")),
    )  # fmt: skip
    for resource, action in (
        ("catalog-remedy-template", "kms:GenerateDataKey"),
        ("catalog-onboard-trigger", "kms:Encrypt"),
    ):
        bad = [s for s in _steps_of(changed, "platform/dev", resource) if not s.ok]
        assert action in [s.action for s in bad], (
            resource,
            [(s.action, s.verdict.reason) for s in bad],
        )
        assert all("AWSReservedSSO_PlatformAdministrator" in s.verdict.reason for s in bad)


def test_build_logs_with_a_key_cloudwatch_logs_may_not_use(rehearsal_runs, estate):
    logs = f"service:logs.{REGION}.amazonaws.com"
    steps = _steps_of(estate, "platform/dev", "usecase-remedy-build-logs")
    assert [s for s in steps if s.principal == logs] and all(s.ok for s in steps)
    changed, _ = mutated(
        rehearsal_runs, "platform/dev", "keys-artifacts",
        _edit_policy("policy", _drop("CloudWatchLogsUse")),
    )  # fmt: skip
    bad = [s for s in _steps_of(changed, "platform/dev", "usecase-remedy-build-logs") if not s.ok]
    assert bad and all(s.principal == logs for s in bad), [(s.principal, s.action) for s in bad]
    assert "key policy of alias/mlops-dev-artifacts" in bad[0].verdict.reason


def test_stage_logging_relies_on_the_platform_stacks_account_setting(rehearsal_runs, estate):
    """Every stage's access logging is satisfied by the API Gateway account setting
    the platform stack of the same account deployed earlier; without it the stage fails."""
    from mlops.rehearsal import provider_calls as pc

    for env in ("dev", "staging", "prod"):
        run = estate.program(f"remedy-inference/{env}")
        (stage,) = [r for r in run.resources if r.type == "aws:apigateway/stage:Stage"]
        view = ProgramView(run.account, run.region, run.resources,
                           account_settings=platform_up.deployed_before(estate, run))  # fmt: skip
        (present,) = pc.prerequisites(stage, view)
        assert present.satisfied, present.detail
        assert present.detail == f"set by account-apigateway (platform/{env})"
        alone = ProgramView(run.account, run.region, run.resources)
        (missing,) = pc.prerequisites(stage, alone)
        assert not missing.satisfied

    changed, _ = mutated(rehearsal_runs, "platform/prod", "account-apigateway",
                         lambda r: r.inputs.pop("cloudwatchRoleArn"))  # fmt: skip
    steps = platform_up.deploy_steps(
        Runner(changed), "remedy-inference/prod",
        landing_zone_deployer(changed.program("remedy-inference/prod"), changed),
        PUBLIC, changed.program("remedy-inference/prod").account, "regression",
    )  # fmt: skip
    prereqs = [s for s in steps if s.action == "account:prerequisite"]
    assert prereqs and all(not s.ok for s in prereqs), [s.verdict.reason for s in prereqs]
    assert "the program sets none" in prereqs[0].verdict.reason
