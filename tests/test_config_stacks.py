"""Stack settings added for the landing zone, the audit lock and stacks beyond dev/staging/prod
(issues 15.5, 15.8, 23.8): defaults, and bad values named by their full key with a fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from mlops.config import ENVIRONMENTS, REPO_ROOT, load_all_stack_configs, load_stack_config
from mlops.errors import ConfigError

RETENTION = "mlops-platform:retention"


@pytest.fixture
def stack_dir(tmp_path: Path) -> Path:
    for env in ENVIRONMENTS:
        shutil.copy(REPO_ROOT / f"Pulumi.{env}.yaml", tmp_path)
    return tmp_path


def _edit(root: Path, stack: str, edit) -> None:
    path = root / f"Pulumi.{stack}.yaml"
    doc = yaml.safe_load(path.read_text())
    edit(doc["config"])
    path.write_text(yaml.safe_dump(doc))


def _error(root: Path, stack: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_stack_config(stack, root)
    return info.value


# --- audit Object Lock mode (23.8) -----------------------------------------------------------
def test_audit_lock_defaults_to_governance_in_dev_and_compliance_elsewhere() -> None:
    configs = load_all_stack_configs()
    assert configs["dev"].audit_lock_mode == "GOVERNANCE"
    assert configs["staging"].audit_lock_mode == "COMPLIANCE"
    assert configs["prod"].audit_lock_mode == "COMPLIANCE"


def test_audit_lock_compliance_may_be_chosen_in_dev(stack_dir: Path) -> None:
    _edit(stack_dir, "dev", lambda c: c[RETENTION].update(auditLockMode="COMPLIANCE"))
    assert load_stack_config("dev", stack_dir).audit_lock_mode == "COMPLIANCE"


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_governance_lock_outside_dev_names_the_key_and_the_fix(stack_dir: Path, stack: str) -> None:
    _edit(stack_dir, stack, lambda c: c[RETENTION].update(auditLockMode="GOVERNANCE"))
    error = _error(stack_dir, stack)
    key = "mlops-platform:retention.auditLockMode"
    assert f"{key}: GOVERNANCE lets a privileged user delete {stack}'s" in str(error)
    assert f"Pulumi.{stack}.yaml" in str(error)
    assert "set auditLockMode: COMPLIANCE" in str(error)


def test_unknown_lock_mode_is_named(stack_dir: Path) -> None:
    _edit(stack_dir, "dev", lambda c: c[RETENTION].update(auditLockMode="LEGAL"))
    message = str(_error(stack_dir, "dev"))
    assert "mlops-platform:retention.auditLockMode:" in message
    assert "'GOVERNANCE' or 'COMPLIANCE'" in message


# --- landing-zone coexistence (15.5) -----------------------------------------------------------
LZ = "mlops-platform:landingZone"


def _zone(root: Path, stack: str, zone: dict) -> None:
    _edit(root, stack, lambda c: c.update({LZ: zone}))


def test_every_service_defaults_to_create() -> None:
    for cfg in load_all_stack_configs().values():
        zone = cfg.landing_zone
        modes = {zone.guardduty.mode, zone.config.mode, zone.cloudtrail.mode, zone.inspector.mode}
        assert modes == {"create"}


def test_each_service_chooses_its_own_mode(stack_dir: Path) -> None:
    _zone(stack_dir, "prod", {
        "guardduty": {"mode": "adopt", "detectorId": "00b00fd5aecc0ab60a708659477e9617"},
        "config": {"mode": "organization"},
        "cloudtrail": {"mode": "adopt",
                       "trailArn": "arn:aws:cloudtrail:eu-west-2:333333333333:trail/acme"},
    })  # fmt: skip
    zone = load_stack_config("prod", stack_dir).landing_zone
    assert (zone.guardduty.mode, zone.config.mode, zone.cloudtrail.mode, zone.inspector.mode) == (
        "adopt", "organization", "adopt", "create"
    )  # fmt: skip
    assert zone.cloudtrail.trail_name == "acme"


@pytest.mark.parametrize(
    ("zone", "key", "hint"),
    [
        ({"guardduty": {"mode": "adopt"}}, "landingZone.guardduty.detectorId",
         "is required with mode: adopt (the existing resource to import); find it with "
         "`aws guardduty list-detectors`"),
        ({"config": {"mode": "adopt", "recorderName": "r"}},
         "landingZone.config.deliveryChannelName", "describe-delivery-channels"),
        ({"cloudtrail": {"mode": "create", "trailArn":
                         "arn:aws:cloudtrail:eu-west-2:111111111111:trail/t01"}},
         "landingZone.cloudtrail.trailArn", "is only used with mode: adopt (mode is create)"),
        ({"guardduty": {"mode": "adopt", "detectorId": "abc"}},
         "landingZone.guardduty.detectorId", "should match pattern"),
        ({"inspector": {"mode": "leave"}}, "landingZone.inspector.mode",
         "'create', 'adopt' or 'organization'"),
        ({"cloudtrail": {"mode": "adopt", "trailArn":
                         "arn:aws:cloudtrail:eu-west-2:999999999999:trail/org"}},
         "landingZone.cloudtrail.trailArn", "is in account 999999999999, not this stack's"),
        ({"securityhub": {"mode": "create"}}, "landingZone.securityhub", "not a known setting"),
    ],
    ids=["adopt-without-id", "adopt-config-half", "id-without-adopt", "bad-detector-id",
         "unknown-mode", "trail-of-another-account", "unknown-service"],
)  # fmt: skip
def test_bad_landing_zone_names_the_key_and_the_fix(
    stack_dir: Path, zone: dict, key: str, hint: str
) -> None:
    _zone(stack_dir, "dev", zone)
    error = _error(stack_dir, "dev")
    assert f"mlops-platform:{key}: " in str(error), str(error)
    assert hint in str(error), str(error)
    assert "mode: create" in error.fix and "docs/deploy.md" in error.fix
