"""One shared state backend, proved by the rehearsal's state and StackReference steps.

Every stack's state is in the governance account's bucket: the staging/prod deployers read and
write their own state across accounts (bucket policy + the state key through S3), every
StackReference reads the referenced checkpoint and opens the referenced stack's secrets manager
(the shared secrets key), and no deployer may overwrite another stack's state. Each grant is then
removed from a copy of the estate: the steps turn red with the right reason.
"""

from __future__ import annotations

import json

import pytest

from mlops import backends
from mlops.rehearsal import platform_up
from mlops.rehearsal.estate import landing_zone_deployer
from mlops.rehearsal.model import PUBLIC
from mlops.rehearsal.runner import Runner
from rehearsal.conftest import mutated

pytestmark = pytest.mark.xdist_group("rehearsal")
DEV = "111111111111"
DEPLOY_BUILDS = {  # one deploy-build role per stage, all in dev
    stage: f"arn:aws:iam::{DEV}:role/mlops-dev-remedy-deploy-build{suffix}"
    for stage, suffix in (("dev", ""), ("staging", "-staging"), ("prod", "-prod"))
}


def _platform_state_steps(estate, program: str):
    run = estate.program(program)
    deployer = landing_zone_deployer(run, estate)
    return platform_up.state_steps(
        Runner(estate), run, deployer, PUBLIC, deployer.split(":")[4], "r"
    )


def _inference_state_steps(estate, program: str):
    run = estate.program(program)
    role = DEPLOY_BUILDS[program.rsplit("/", 1)[1]]
    return platform_up.state_steps(Runner(estate), run, role, PUBLIC, DEV, "r")


def _edit(key: str, change):
    def edit(r):
        doc = json.loads(r.inputs[key])
        doc["Statement"] = change(doc["Statement"])
        r.inputs[key] = json.dumps(doc)

    return edit


def _bad(steps):
    return [(s.step, s.action, s.resource, s.verdict.reason) for s in steps if not s.ok]


@pytest.mark.parametrize("program", ["platform/staging", "platform/prod"])
def test_other_accounts_platform_stacks_use_the_shared_backend(estate, program):
    run = estate.program(program)
    bucket = run.backend_url.removeprefix("s3://").split("?", 1)[0]
    assert estate.buckets[bucket].account == DEV != run.account  # cross-account
    assert run.backend_url == estate.program("platform/dev").backend_url
    steps = _platform_state_steps(estate, program)
    assert not _bad(steps), _bad(steps)
    refs = [s for s in steps if "StackReference" in s.step]
    assert {s.action for s in refs} == {"s3:GetObject", "kms:Decrypt"}, refs
    attacks = [s for s in steps if s.expect == "deny"]
    assert any(s.resource.endswith("/mlops-platform/dev.json") for s in attacks), attacks
    assert all(s.verdict.outcome == "denied" for s in attacks)


@pytest.mark.parametrize("stage", ["dev", "staging", "prod"])
def test_inference_stacks_read_their_platform_stack_in_the_same_backend(estate, stage):
    steps = _inference_state_steps(estate, f"remedy-inference/{stage}")
    assert not _bad(steps), _bad(steps)
    refs = [s for s in steps if "StackReference" in s.step]
    assert any(s.resource.endswith(f"/mlops-platform/{stage}.json") for s in refs), refs
    # the stage's deploy build cannot overwrite the use case's other stages' stacks
    others = {f"/remedy-inference/{o}.json" for o in DEPLOY_BUILDS if o != stage}
    attacks = [s for s in steps if s.expect == "deny" and s.resource.endswith(tuple(others))]
    assert len(attacks) == 2 and all(s.verdict.outcome == "denied" for s in attacks), attacks
    attacks = [s for s in steps if s.expect == "deny" and not s.resource.endswith(tuple(others))]
    # every platform stack of the shared backend (the canonical three and any other stack file)
    assert {"dev.json", "staging.json", "prod.json"} <= {
        s.resource.rsplit("/", 1)[-1] for s in attacks
    }
    assert all("/mlops-platform/" in s.resource for s in attacks), attacks


def test_without_the_bucket_grant_staging_cannot_reach_its_state(rehearsal_runs, estate):
    staging = landing_zone_deployer(estate.program("platform/staging"), estate)

    def drop_staging(statements):
        return [s for s in statements if s.get("Principal") != {"AWS": staging}]

    bucket = backends.state_bucket(rehearsal_runs.configs["staging"])
    bootstrap = estate.buckets[bucket].program
    changed, _ = mutated(rehearsal_runs, bootstrap, "state-policy", _edit("policy", drop_staging))
    bad = _bad(_platform_state_steps(changed, "platform/staging"))
    actions = {a for _, a, _, _ in bad}
    assert {"s3:ListBucket", "s3:PutObject", "s3:GetObject"} <= actions, bad
    assert any("StackReference" in step for step, *_ in bad), bad


def test_without_the_state_key_grant_staging_cannot_write_its_state(rehearsal_runs, estate):
    def drop(statements):
        return [s for s in statements if s["Sid"] != "StateKeyUseByOtherAccountsDeployers"]

    bootstrap = f"bootstrap/{backends.STATE_ENVIRONMENT}"
    changed, _ = mutated(rehearsal_runs, bootstrap, "pulumi-state-key", _edit("policy", drop))
    bad = _bad(_platform_state_steps(changed, "platform/staging"))
    writes = [b for b in bad if b[1] == "s3:PutObject"]
    assert writes and "kms:GenerateDataKey" in writes[0][3], bad


def test_without_the_secrets_key_grant_no_deploy_build_reads_a_platform_stack(
    rehearsal_runs, estate
):
    """The engine opens the referenced stack's secrets manager (kms:Decrypt of its data key):
    without the deploy build's grant on the shared secrets key the reference fails."""

    def drop(statements):
        return [s for s in statements if s["Sid"] != "PulumiSecretsKey"]

    policy = "usecase-remedy-deploy-build-prod-policy"  # the prod stage's deploy build
    changed, _ = mutated(rehearsal_runs, "platform/dev", policy, _edit("policy", drop))
    bad = _bad(_inference_state_steps(changed, "remedy-inference/prod"))
    refs = [b for b in bad if "StackReference" in b[0]]
    assert refs and refs[0][1] == "kms:Decrypt", bad


def test_without_the_secrets_key_grant_staging_cannot_read_dev(rehearsal_runs, estate):
    def drop(statements):
        return [s for s in statements if s["Sid"] != "SecretsKeyUseByOtherAccountsDeployers"]

    bootstrap = f"bootstrap/{backends.STATE_ENVIRONMENT}"
    changed, _ = mutated(rehearsal_runs, bootstrap, "pulumi-secrets-key", _edit("policy", drop))
    bad = _bad(_platform_state_steps(changed, "platform/staging"))
    refs = [b for b in bad if "StackReference" in b[0]]
    assert refs and refs[0][1] == "kms:Decrypt", bad
