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
