"""The promotion flow's hand-offs: deploy builds that reach what they call, a stack
created with a KMS secrets provider, a smoke test after every stage whose expectations match the
decision API's answer."""

from __future__ import annotations

import dataclasses

import pytest

from mlops.rehearsal.scenarios import declared_actors, run_declared

pytestmark = pytest.mark.xdist_group("rehearsal")
STAGES = ("dev", "staging", "prod")


@pytest.fixture(scope="module")
def promotion(estate):
    from mlops.rehearsal.runner import Runner

    return run_declared(Runner(estate), "promotion")


def _actor(estate, step: str):
    return next(a for a in declared_actors(estate, "promotion") if a.step == step)


def test_deploy_builds_reach_every_api_they_call_from_outside_the_vpc(estate, runner):
    for env in STAGES:
        for step in (f"Deploy{env.capitalize()} build", f"SmokeTest{env.capitalize()} build"):
            actor = _actor(estate, step)
            results = runner.run_actor("promotion", actor)
            unreachable = [(r.action, r.verdict.reason) for r in results if r.verdict.outcome
                           == "unreachable"]  # fmt: skip
            assert not unreachable, (step, unreachable)


def test_a_deploy_build_moved_back_into_the_vpc_cannot_reach_the_package_index(estate, runner):
    """Regression: in the no-NAT VPC, the deploy build reached neither the Pulumi CLI download nor
    CodePipeline. Its packages and its toolchain (the Pulumi CLI and plugins, CodeArtifact generic
    packages) now come through the codeartifact endpoints; CodePipeline still has none."""
    from mlops.rehearsal.model import Origin

    deploy = _actor(estate, "DeployDev build")
    exports = estate.program("platform/dev").exports  # no build runs in the VPC any more
    vpc = Origin(
        "vpc",
        exports["vpc_id"],
        tuple(exports["private_subnet_ids"]),
        (exports["sagemaker_security_group_id"],),
    )
    results = runner.run_actor("promotion", dataclasses.replace(deploy, origin=vpc))
    unreachable = {r.resource for r in results if r.verdict.outcome == "unreachable"}
    assert unreachable == {"arn:aws:codepipeline:eu-west-2:111111111111:mlops-dev-remedy-deploy"}
    toolchain = [r for r in results if r.action == "codeartifact:GetPackageVersionAsset"]
    assert len(toolchain) == 3, toolchain
    assert all(r.verdict.outcome == "allowed" for r in toolchain), toolchain


def test_every_stage_is_deployed_with_a_kms_secrets_provider_and_smoke_tested(promotion):
    for env in STAGES:
        secrets = [s for s in promotion.steps
                   if s.step == f"deploy {env}: the stack's secrets provider"]  # fmt: skip
        assert {s.action for s in secrets} == {"kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"}
        assert all(s.ok for s in secrets), [(s.action, s.verdict.reason) for s in secrets]
        smoke = [s for s in promotion.steps if s.step.startswith(f"smoke test {env}:")]
        assert {s.action for s in smoke} == {"execute-api:Invoke", "contract"}, env
        assert all(s.ok for s in smoke), [(s.step, s.verdict.reason) for s in smoke]


def test_the_secrets_key_refuses_a_build_without_the_grant(estate, runner):
    """Regression: with `kms:ResourceAliases` naming another alias, the build may not use it."""
    from mlops.rehearsal.model import Call

    build = _actor(estate, "DeployDev build")
    key = str(estate.program("bootstrap/dev").exports["secrets_key_arn"])
    call = Call("kms:Decrypt", key, {"kms:ResourceAliases": ["alias/mlops-dev-pulumi-state"]})
    verdict = runner.evaluate_call(build.principal, build.origin, build.account, call)
    assert verdict.outcome == "denied", verdict


def test_prod_data_capture_is_written_by_the_endpoints_own_role(estate, runner):
    """The data bucket's need-to-know admits the use case's model role (it was
    denied by DenyAllButNamedRoles, which named only the platform's model-execution role)."""
    endpoint = next(
        a for a in declared_actors(estate, "decision")
        if a.step == "the endpoint loads the model and serves" and a.program.endswith("/prod")
    )  # fmt: skip
    capture = [c for c in endpoint.calls if c.action == "s3:PutObject"]
    assert capture and "/data-capture/remedy/" in capture[0].resource
    results = runner.run_actor("decision", dataclasses.replace(endpoint, calls=tuple(capture)))
    assert all(r.ok for r in results), [r.verdict.reason for r in results]
