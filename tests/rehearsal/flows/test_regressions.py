"""Each known failure of the real path, reintroduced on purpose into a copy of the estate, turns
the rehearsal red with the right reason (so a fix can never silently regress)."""

from __future__ import annotations

import copy
import json

import pytest

from mlops.rehearsal import platform_up
from mlops.rehearsal.contracts import smoke_contract
from mlops.rehearsal.estate import build_estate, landing_zone_deployer
from mlops.rehearsal.model import PUBLIC, Call, Origin
from mlops.rehearsal.provider_calls import ProgramView
from mlops.rehearsal.runner import Runner
from rehearsal.conftest import mutated

pytestmark = pytest.mark.xdist_group("rehearsal")
REGION = "eu-west-2"


def _steps_of(estate, program: str, resource: str, principal: str | None = None, origin=PUBLIC):
    run = estate.program(program)
    target = next(r for r in run.resources if r.name == resource)
    deployer = principal or landing_zone_deployer(run, estate)
    view = ProgramView(account=run.account, region=run.region, resources=run.resources)
    account = deployer.split(":")[4]
    return platform_up.steps_for_resource(
        Runner(estate), run, target, view, deployer, origin, account, "regression"
    )


def _failing(steps):
    return [s for s in steps if not s.ok]


def _key_arn(estate, program: str, purpose: str) -> str:
    run = estate.program(program)
    key = next(r for r in run.resources if r.type == "aws:kms/key:Key" and r.name.endswith(purpose))
    return str(key.state["arn"])


def test_log_group_with_a_key_cloudwatch_logs_may_not_use(rehearsal_runs, estate):
    data_key = _key_arn(estate, "platform/dev", "data")

    def to_data_key(r):
        r.inputs["kmsKeyId"] = data_key

    changed, _ = mutated(rehearsal_runs, "platform/dev", "network-flow-logs", to_data_key)
    bad = _failing(_steps_of(changed, "platform/dev", "network-flow-logs"))
    logs = [s for s in bad if s.principal == f"service:logs.{REGION}.amazonaws.com"]
    assert logs, [(s.principal, s.action, s.verdict.reason) for s in bad]
    assert all(s.verdict.outcome == "denied" and "key policy" in s.verdict.reason for s in logs)


def test_trust_naming_a_role_created_by_a_later_stack(rehearsal_runs, estate):
    later = "arn:aws:iam::333333333333:role/mlops-prod-remedy-deployer"

    def trust_later_role(r):
        doc = json.loads(r.inputs["assumeRolePolicy"])
        doc["Statement"][0]["Principal"] = {"AWS": later}
        r.inputs["assumeRolePolicy"] = json.dumps(doc)

    changed, _ = mutated(
        rehearsal_runs, "platform/dev", "usecase-remedy-build-role", trust_later_role
    )
    bad = _failing(_steps_of(changed, "platform/dev", "usecase-remedy-build-role"))
    principal = [s for s in bad if s.action == "iam:ValidatePrincipal" and s.resource == later]
    assert principal, [(s.action, s.verdict.reason) for s in bad]
    assert "deploys after platform/dev" in principal[0].verdict.reason


def test_trust_naming_a_role_of_the_same_program_without_depending_on_it(rehearsal_runs, estate):
    same = "arn:aws:iam::111111111111:role/mlops-dev-remedy-sm-pipeline"

    def trust_sibling(r):
        doc = json.loads(r.inputs["assumeRolePolicy"])
        doc["Statement"][0]["Principal"] = {"AWS": same}
        r.inputs["assumeRolePolicy"] = json.dumps(doc)
        r.dependencies = []
        r.property_dependencies = {}

    changed, _ = mutated(rehearsal_runs, "platform/dev", "usecase-remedy-build-role", trust_sibling)
    bad = _failing(_steps_of(changed, "platform/dev", "usecase-remedy-build-role"))
    principal = [s for s in bad if s.action == "iam:ValidatePrincipal" and s.resource == same]
    assert principal, [(s.action, s.verdict.reason) for s in bad]
    assert "without depending on" in principal[0].verdict.reason


def test_stack_reference_into_another_backend(rehearsal_runs):
    runs = copy.copy(rehearsal_runs)
    runs.runs = dict(rehearsal_runs.runs)
    staging = copy.copy(runs.runs["platform/staging"])
    staging.backend_url = "s3://some-other-state-bucket?region=eu-west-2"
    runs.runs["platform/staging"] = staging
    estate = build_estate(runs)
    deployer = landing_zone_deployer(staging, estate)
    steps = platform_up.state_steps(Runner(estate), staging, deployer, PUBLIC, "222222222222", "r")
    refs = [s for s in steps if s.action == "pulumi:StackReference"]
    assert refs and all(not s.ok for s in refs), [(s.resource, s.verdict.reason) for s in refs]
    assert "cannot read another backend's stacks" in refs[0].verdict.reason


@pytest.mark.parametrize(
    "url", ["https://pypi.org/simple/", "https://get.pulumi.com/", "https://github.com/"]
)
def test_codebuild_in_a_vpc_without_a_route_to_the_internet(estate, url):
    exports = estate.program("platform/dev").exports
    origin = Origin(
        "vpc",
        subnet_ids=tuple(exports["private_subnet_ids"]),
        security_group_ids=(exports["sagemaker_security_group_id"],),
    )
    verdict, _ = Runner(estate).check_network(
        origin, "111111111111", Call("https", url, network_only=True)
    )
    assert verdict.outcome == "unreachable", verdict
    assert "NAT" in verdict.reason


def test_auto_named_sagemaker_model_outside_the_deployers_scope(rehearsal_runs, estate):
    run = estate.program("remedy-inference/staging")
    model = next(r for r in run.resources if r.type == "aws:sagemaker/model:Model")
    auto = f"{model.name}-3a5f1c2"

    def auto_name(r):
        r.inputs.pop("name", None)
        r.state["name"] = auto

    changed, _ = mutated(rehearsal_runs, "remedy-inference/staging", model.name, auto_name)
    deployer = "arn:aws:iam::222222222222:role/mlops-staging-remedy-deployer"
    steps = _steps_of(changed, "remedy-inference/staging", model.name, principal=deployer)
    create = [s for s in steps if s.action == "sagemaker:CreateModel"]
    assert create and create[0].resource.endswith(f"model/{auto}"), [s.resource for s in create]
    assert create[0].verdict.outcome == "denied", create[0].verdict
    assert "mlops-staging-remedy-deployer" in create[0].verdict.reason


def test_smoke_test_requiring_a_field_the_api_never_returns(estate, monkeypatch):
    monkeypatch.setattr("mlops.delivery.deploy.SMOKE_REQUIRED_FIELDS", ("decision",))
    verdict = smoke_contract(estate.program("remedy-inference/dev"))
    assert verdict.outcome == "denied", verdict
    assert "requires ['decision']" in verdict.reason
