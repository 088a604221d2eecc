"""The rehearsal reads the stack files, so the example fourth stack
(`Pulumi.prod-eu-west-1.yaml`) is deployed in platform-up like the canonical ones, in its own
account and region, after its governance stack, with its state in that stack's shared backend
(one backend per governance stack, so its StackReference to dev resolves)."""

from __future__ import annotations

import pytest

from mlops.rehearsal.estate import landing_zone_deployer
from mlops.rehearsal.model import PUBLIC
from mlops.rehearsal.platform_up import program_steps
from mlops.rehearsal.runner import Runner
from mlops.rehearsal.scenarios import ScenarioResult, apply_expected, load_expected

pytestmark = pytest.mark.xdist_group("rehearsal")
STACK = "prod-eu-west-1"


def test_the_estate_has_every_stack_file_in_deployment_order(rehearsal_runs) -> None:
    names = list(rehearsal_runs.runs)
    platforms = [n for n in names if n.startswith("platform/")]
    assert platforms == ["platform/dev", "platform/staging", "platform/prod", f"platform/{STACK}"]
    assert [n for n in names if n.startswith("bootstrap/")] == ["bootstrap/dev"]
    run = rehearsal_runs.runs[f"platform/{STACK}"]
    assert (run.stack, run.environment, run.account, run.region) == (
        STACK, "prod", "444444444444", "eu-west-1"
    )  # fmt: skip
    assert run.backend_url == rehearsal_runs.runs["platform/dev"].backend_url  # cross-region too
    assert run.backend_url == "s3://mlops-dev-pulumi-state-111111111111-eu-west-2?region=eu-west-2"
    # the use case's stages stay dev, staging and prod
    assert [n for n in names if n.startswith("remedy-inference/")] == [
        "remedy-inference/dev", "remedy-inference/staging", "remedy-inference/prod"
    ]  # fmt: skip


@pytest.mark.parametrize("program", [f"platform/{STACK}"])
def test_platform_up_of_the_fourth_stack(estate, program: str) -> None:
    run = estate.program(program)
    deployer = landing_zone_deployer(run, estate)
    assert deployer == "arn:aws:iam::444444444444:role/mlops-pulumi-deployer"
    result = ScenarioResult("platform-up", program_steps(
        Runner(estate), run, deployer, PUBLIC, "444444444444", "platform-up"))  # fmt: skip
    apply_expected([result], load_expected())
    assert len(result.steps) > (100 if program.startswith("platform/") else 20)
    failed = [(s.step, s.action, s.verdict.reason) for s in result.failed]
    assert not failed, failed
    refs = [s for s in result.steps if "StackReference" in s.step]
    assert refs and all(s.ok for s in refs), refs
    assert not result.known, [(s.step, s.action) for s in result.known]
