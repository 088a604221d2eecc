"""`mlops rehearse` passes for each landing-zone mode. The dev platform program is run
again with every audit singleton adopted, then left to the organisation; its platform-up steps
and the audit flow must hold (create, the default, is the main rehearsal)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from mlops.config import REPO_ROOT
from mlops.rehearsal import programs
from mlops.rehearsal.estate import build_estate, landing_zone_deployer
from mlops.rehearsal.model import PUBLIC
from mlops.rehearsal.platform_up import program_steps
from mlops.rehearsal.runner import Runner
from mlops.rehearsal.scenarios import apply_expected, load_expected, run_declared

pytestmark = pytest.mark.xdist_group("rehearsal")
DEV = "111111111111"
TRAIL = f"arn:aws:cloudtrail:eu-west-2:{DEV}:trail/acme-lz"
ZONES = {
    "adopt": {
        "guardduty": {"mode": "adopt", "detectorId": "00b00fd5aecc0ab60a708659477e9617"},
        "config": {"mode": "adopt", "recorderName": "aws-controltower-BaselineConfigRecorder",
                   "deliveryChannelName": "aws-controltower-BaselineConfigDeliveryChannel"},
        "cloudtrail": {"mode": "adopt", "trailArn": TRAIL},
        "inspector": {"mode": "adopt"},
    },
    "organization": {s: {"mode": "organization"}
                     for s in ("guardduty", "config", "cloudtrail", "inspector")},
}  # fmt: skip
SINGLETONS = ("Detector", "Recorder", "DeliveryChannel", "Trail", "Enabler")


def _rerun_dev(runs: programs.EstateRuns, zone: dict, root: Path) -> programs.EstateRuns:
    for path in REPO_ROOT.glob("Pulumi.*.yaml"):
        (root / path.name).write_text(path.read_text())
    (root / "platform").symlink_to(REPO_ROOT / "platform")
    doc = yaml.safe_load((root / "Pulumi.dev.yaml").read_text())
    doc["config"]["mlops-platform:landingZone"] = zone
    (root / "Pulumi.dev.yaml").write_text(yaml.safe_dump(doc))
    changed = copy.copy(runs)
    changed.runs = dict(runs.runs)
    with programs._with_peer(runs.manifest):
        changed.runs["platform/dev"] = programs.platform_run(runs.configs["dev"], {}, root)
    return changed


@pytest.mark.parametrize("mode", sorted(ZONES))
def test_platform_up_and_audit_pass_in_each_mode(rehearsal_runs, tmp_path, mode: str) -> None:
    runs = _rerun_dev(rehearsal_runs, ZONES[mode], tmp_path)
    estate = build_estate(runs)
    runner = Runner(estate)
    run = estate.program("platform/dev")
    deployer = landing_zone_deployer(run, estate)
    from mlops.rehearsal.scenarios import ScenarioResult

    up = ScenarioResult("platform-up", program_steps(runner, run, deployer, PUBLIC, DEV,
                                                     "platform-up"))  # fmt: skip
    audit = run_declared(runner, "audit")
    apply_expected([up, audit], load_expected())
    failed = [(s.step, s.action, s.verdict.reason) for s in up.failed + audit.failed]
    assert not failed, failed

    singleton_steps = [s for s in up.steps if s.step.split()[-2] in SINGLETONS]
    dev_audit = [s for s in audit.steps if s.program == "platform/dev"]
    if mode == "adopt":
        assert {s.step.split()[-2] for s in singleton_steps} == set(SINGLETONS)
        assert all(": import " in s.step and s.action == "provider:import" and s.ok
                   for s in singleton_steps), [s.step for s in singleton_steps]  # fmt: skip
    else:
        assert singleton_steps == []
    # an adopted or the organisation's trail and recorder deliver where they always did
    assert dev_audit == []
    others = {n for n in runs.runs if n.startswith("platform/") and n != "platform/dev"}
    assert {s.program for s in audit.steps} == others
    assert json.loads(run.config["mlops-platform:landingZone"]) == ZONES[mode]  # what ran
