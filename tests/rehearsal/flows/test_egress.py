"""The egress design as AWS would evaluate it: builds that touch nothing VPC-private run outside
the VPC and install from the platform's CodeArtifact repository; its resource policies hold even
against a role whose identity policy allows every CodeArtifact action."""

from __future__ import annotations

import json

import pytest

from mlops.rehearsal.model import PUBLIC, Call
from mlops.rehearsal.runner import Runner
from rehearsal.conftest import mutated

pytestmark = pytest.mark.xdist_group("rehearsal")
ACCT = "111111111111"
DOMAIN = f"arn:aws:codeartifact:eu-west-2:{ACCT}:domain/mlops-dev-packages"
REPO = f"arn:aws:codeartifact:eu-west-2:{ACCT}:repository/mlops-dev-packages/mlops-dev-pypi"
PACKAGE = f"arn:aws:codeartifact:eu-west-2:{ACCT}:package/mlops-dev-packages/mlops-dev-pypi/pypi//mlops-platform"  # noqa: E501
BUILD_ROLE = f"arn:aws:iam::{ACCT}:role/mlops-dev-remedy-build"


def _actors(estate, flow: str):
    return [a for a in estate.program("platform/dev").actors if a.flow == flow]


@pytest.mark.parametrize(
    ("flow", "step"),
    [
        ("training", "Test build: unit tests and lint"),
        ("training", "TrainingPipeline build: upsert and start the SageMaker pipeline"),
        ("onboarding", "the onboarding build renders, creates both repos, pushes and opens the PR"),
    ],
)
def test_builds_that_touch_nothing_private_run_outside_the_vpc(estate, flow, step):
    # the estate also holds a generated peer use case: take remedy's build (or the one onboarding)
    [actor] = [a for a in _actors(estate, flow) if a.step == step
               and (flow == "onboarding" or a.principal == BUILD_ROLE)]  # fmt: skip
    assert actor.origin.kind == "public", actor.origin
    actions = [c.action for c in actor.calls]
    assert "codeartifact:ReadFromRepository" in actions, actions
    assert not [c for c in actor.calls if "pypi.org" in str(c.resource)], "never the public index"
    attach = [a for a in _actors(estate, flow) if a.step.startswith(step.split(":")[0])
              and "attaches the build to the VPC" in a.step]  # fmt: skip
    assert not attach, [a.step for a in attach]


def test_a_build_reads_the_index_from_outside_the_vpc(runner: Runner):
    for action, resource in [
        ("codeartifact:GetAuthorizationToken", DOMAIN),
        ("codeartifact:ReadFromRepository", REPO),
    ]:
        verdict = runner.evaluate_call(BUILD_ROLE, PUBLIC, ACCT, Call(action, resource))
        assert verdict.outcome == "allowed", (action, verdict)


def _grant_everything(r) -> None:
    doc = json.loads(r.inputs["policy"])
    doc["Statement"].append(
        {"Sid": "TooBroad", "Effect": "Allow", "Action": "codeartifact:*", "Resource": "*"}
    )
    r.inputs["policy"] = json.dumps(doc)


def test_only_publishers_write_even_with_a_too_broad_identity_policy(rehearsal_runs):
    estate, _ = mutated(rehearsal_runs, "platform/dev", "usecase-remedy-build-policy",
                        _grant_everything)  # fmt: skip
    runner = Runner(estate)
    publish = Call("codeartifact:PublishPackageVersion", PACKAGE)
    verdict = runner.evaluate_call(BUILD_ROLE, PUBLIC, ACCT, publish)
    assert verdict.outcome == "denied", verdict
    assert "OnlyPublishersWrite" in verdict.reason, verdict.reason
    # reads stay allowed: the guardrail is on writes only
    read = runner.evaluate_call(
        BUILD_ROLE, PUBLIC, ACCT, Call("codeartifact:ReadFromRepository", REPO)
    )
    assert read.outcome == "allowed", read


DEPLOY_ROLE = f"arn:aws:iam::{ACCT}:role/mlops-dev-remedy-deploy-build"
GENERIC = f"arn:aws:codeartifact:eu-west-2:{ACCT}:package/mlops-dev-packages/mlops-dev-pypi/generic"


@pytest.mark.parametrize(
    ("resource", "outcome"),
    [
        (f"{GENERIC}/pulumi/pulumi", "allowed"),
        (f"{GENERIC}/pulumi/pulumi-resource-aws", "allowed"),
        (f"{GENERIC}/other/pulumi", "denied"),  # only the toolchain's namespace
    ],
)
def test_the_deploy_build_fetches_its_toolchain_from_the_index_only(runner, resource, outcome):
    """The Pulumi CLI and plugins are generic packages in the platform repository; the deploy
    build reads them there (no download from the internet), and nothing else of that format."""
    call = Call("codeartifact:GetPackageVersionAsset", resource)
    verdict = runner.evaluate_call(DEPLOY_ROLE, PUBLIC, ACCT, call)
    assert verdict.outcome.startswith(outcome), verdict
