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


# --- more than three stacks (15.8) -----------------------------------------------------------
EXAMPLE = "prod-eu-west-1"


def _add_stack(root: Path, name: str, **changes) -> None:
    """A new stack file made from the example: its own name, accounts, CIDR (and `changes`)."""
    doc = yaml.safe_load((REPO_ROOT / f"Pulumi.{EXAMPLE}.yaml").read_text())
    doc["config"].update({f"mlops-platform:{k}": v for k, v in changes.items()})
    (root / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump(doc))


def test_the_example_fourth_stack_is_a_prod_stack_of_its_own() -> None:
    configs = load_all_stack_configs()
    assert list(configs) == ["dev", "staging", "prod", EXAMPLE]  # deployment order
    cfg = configs[EXAMPLE]
    assert (cfg.environment, cfg.governance, cfg.region, cfg.account_id) == (
        "prod", "dev", "eu-west-1", "444444444444"
    )  # fmt: skip
    assert cfg.region_of("dev") == configs["dev"].region == "eu-west-2"
    assert cfg.region_of("prod") == "eu-west-1"
    assert cfg.audit_lock_mode == "COMPLIANCE"
    assert configs["prod"].governance == "dev" and configs["dev"].governance is None


def test_a_users_own_stack_file_loads_without_code_changes(stack_dir: Path) -> None:
    _add_stack(stack_dir, "staging-motor", environment="staging",
               accounts={"dev": "111111111111", "staging": "555555555555", "prod": "333333333333"},
               network={"vpcCidr": "10.50.0.0/16", "azCount": 2},
               deployRoleArn="arn:aws:iam::555555555555:role/mlops-pulumi-deployer")  # fmt: skip
    configs = load_all_stack_configs(stack_dir)
    assert list(configs) == ["dev", "staging", "staging-motor", "prod"]
    assert configs["staging-motor"].account_id == "555555555555"


def test_a_business_units_own_governance_stack(stack_dir: Path) -> None:
    bu = {"dev": "610000000001", "staging": "610000000002", "prod": "610000000003"}
    _add_stack(stack_dir, "dev-bu", environment="dev", accounts=bu,
               network={"vpcCidr": "10.60.0.0/16", "azCount": 2})  # fmt: skip
    doc = yaml.safe_load((stack_dir / "Pulumi.dev-bu.yaml").read_text())
    for key in ("governanceStack", "governanceRegion", "deployRoleArn", "breakGlassRoleArn"):
        doc["config"].pop(f"mlops-platform:{key}")
    doc["config"]["aws:region"] = "eu-west-2"
    (stack_dir / "Pulumi.dev-bu.yaml").write_text(yaml.safe_dump(doc))
    _add_stack(stack_dir, "prod-bu", governanceStack="dev-bu", accounts=bu,
               network={"vpcCidr": "10.61.0.0/16", "azCount": 3},
               deployRoleArn="arn:aws:iam::610000000003:role/mlops-pulumi-deployer")  # fmt: skip
    doc = yaml.safe_load((stack_dir / "Pulumi.prod-bu.yaml").read_text())
    doc["config"]["aws:region"] = "eu-west-2"
    (stack_dir / "Pulumi.prod-bu.yaml").write_text(yaml.safe_dump(doc))
    configs = load_all_stack_configs(stack_dir)
    assert list(configs) == ["dev", "dev-bu", "staging", "prod", "prod-bu"]
    assert configs["prod-bu"].governance == "dev-bu" and configs["dev-bu"].is_governance


def _set_error(root: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_all_stack_configs(root)
    return info.value


@pytest.mark.parametrize(
    ("changes", "message", "fix"),
    [
        ({"governanceStack": "dev-bu"},
         "mlops-platform:governanceStack of prod-x is 'dev-bu', which has no stack file",
         "add Pulumi.dev-bu.yaml or set governanceStack to one of the dev stacks: dev"),
        ({"governanceStack": "staging"},
         "mlops-platform:governanceStack of prod-x is 'staging', a staging stack",
         "name a stack of kind dev"),
        ({"accounts": {"dev": "111111111111", "staging": "666666666666", "prod": "444444444444"}},
         "mlops-platform:accounts.staging differs between dev (222222222222) and prod-x "
         "(666666666666)", "only its own kind (prod) may name a different account"),
        ({"accounts": {"dev": "111111111111", "staging": "222222222222", "prod": "333333333333"}},
         "mlops-platform:accounts.prod of prod-x is 333333333333, the account of prod",
         "one platform stack per account"),
        ({"network": {"vpcCidr": "10.30.128.0/17", "azCount": 3}},
         "mlops-platform:network.vpcCidr 10.30.0.0/16 (prod) overlaps 10.30.128.0/17 (prod-x)",
         "give each stack its own range"),
        ({"governanceRegion": "eu-central-1"},
         "mlops-platform:governanceRegion of prod-x is eu-central-1 (default: its own region) but "
         "dev is in eu-west-2", "set mlops-platform:governanceRegion: eu-west-2 in Pulumi.prod-x"),
    ],
    ids=["governance-without-file", "governance-not-dev", "accounts-disagree", "shared-account",
         "cidr-overlap", "governance-region"],
)  # fmt: skip
def test_stack_set_rules_name_the_stacks_the_key_and_the_fix(
    stack_dir: Path, changes: dict, message: str, fix: str
) -> None:
    _add_stack(stack_dir, "prod-x", **changes)
    error = _set_error(stack_dir)
    assert message in error.message, error.message
    assert fix in error.fix, error.fix


def test_a_dev_stack_names_no_governance_stack(stack_dir: Path) -> None:
    _edit(stack_dir, "dev", lambda c: c.update({"mlops-platform:governanceStack": "dev"}))
    error = _error(stack_dir, "dev")
    assert "mlops-platform:governanceStack: a dev stack is its own governance stack" in str(error)
    assert "remove governanceStack" in str(error)


def test_a_canonical_stack_name_is_its_kind_and_others_may_be_any(stack_dir: Path) -> None:
    _edit(stack_dir, "prod", lambda c: c.update({"mlops-platform:environment": "staging"}))
    error = _error(stack_dir, "prod")
    assert "mlops-platform:environment is 'staging' in Pulumi.prod.yaml" in error.message
    assert "Pulumi.staging-eu-west-1.yaml" in error.fix
    _add_stack(stack_dir, "eu-west-1-live")
    assert load_stack_config("eu-west-1-live", stack_dir).environment == "prod"


def test_unknown_stack_lists_the_stack_files() -> None:
    with pytest.raises(ConfigError) as info:
        load_stack_config("qa")
    assert info.value.message == "unknown stack 'qa'"
    assert f"use one of dev, staging, prod, {EXAMPLE} (--stack dev)" in info.value.fix
    with pytest.raises(ConfigError, match="unknown stack 'Prod_2'"):
        load_stack_config("Prod_2")


def test_the_program_loads_a_fourth_stack_by_its_name() -> None:
    """Inside the program (pulumi.Config): the stack name is the file's, the kind is prod."""
    from mlops.config import flatten_for_mocks, load_from_pulumi, read_stack_file
    from mlops.testing.mocks import RecordingMocks, install, run

    install(RecordingMocks(), EXAMPLE, flatten_for_mocks(read_stack_file(EXAMPLE)))
    seen = {}
    run(lambda: seen.setdefault("cfg", load_from_pulumi()))
    assert seen["cfg"] == load_stack_config(EXAMPLE)
