"""Typed stack config: the three stack files load, and each kind of bad config names its key."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest
import yaml

from mlops.config import (
    ENVIRONMENTS,
    REPO_ROOT,
    load_all_stack_configs,
    load_stack_config,
    read_stack_file,
)
from mlops.errors import ConfigError


def test_three_stacks_load_with_distinct_realistic_values() -> None:
    configs = load_all_stack_configs()
    assert set(ENVIRONMENTS) <= set(configs)
    configs = {env: configs[env] for env in ENVIRONMENTS}
    assert {c.account_id for c in configs.values()} == {
        "111111111111",
        "222222222222",
        "333333333333",
    }
    assert configs["dev"].network.az_count < configs["prod"].network.az_count
    assert configs["dev"].retention.log_days < configs["prod"].retention.log_days
    assert all(c.region == "eu-west-2" for c in configs.values())
    assert configs["dev"].is_governance and not configs["prod"].is_governance


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


def _error(root: Path, stack: str = "dev") -> str:
    with pytest.raises(ConfigError) as info:
        load_all_stack_configs(root)
    return str(info.value)


@pytest.mark.parametrize(
    ("edit", "key", "hint"),
    [
        (lambda c: c.pop("mlops-platform:tags"), "mlops-platform:tags", "required but missing"),
        (
            lambda c: c["mlops-platform:people"].pop("leadDataScientists"),
            "mlops-platform:people.leadDataScientists",
            "required",
        ),
        (
            lambda c: c["mlops-platform:accounts"].update(staging="2222"),
            "mlops-platform:accounts.staging",
            "12-digit",
        ),
        (
            lambda c: c["mlops-platform:accounts"].update(prod="33333333333x"),
            "mlops-platform:accounts.prod",
            "12-digit",
        ),
        (
            lambda c: c.update({"mlops-platform:environment": "qa"}),
            "mlops-platform:environment",
            "'dev', 'staging' or 'prod'",
        ),
        (
            lambda c: c["mlops-platform:network"].update(vpcCidr="8.8.0.0/16"),
            "mlops-platform:network.vpcCidr",
            "not a private",
        ),
        (
            lambda c: c["mlops-platform:network"].update(azCount=9),
            "mlops-platform:network.azCount",
            "less than or equal to 6",
        ),
        (
            lambda c: c["mlops-platform:retention"].update(logDays=31),
            "mlops-platform:retention.logDays",
            "not a CloudWatch retention",
        ),
        (
            lambda c: c["mlops-platform:tags"].update(dataClassification="secret"),
            "mlops-platform:tags.dataClassification",
            "restricted",
        ),
        (
            lambda c: c["mlops-platform:network"].update(vpcCidrr="10.0.0.0/16"),
            "mlops-platform:network.vpcCidrr",
            "not a known setting",
        ),
    ],
    ids=[
        "missing-tags",
        "missing-leads",
        "short-account",
        "non-digit-account",
        "unknown-environment",
        "public-cidr",
        "az-count",
        "log-retention",
        "classification",
        "misspelt-key",
    ],
)
def test_bad_config_names_the_key(stack_dir: Path, edit, key: str, hint: str) -> None:
    _edit(stack_dir, "dev", edit)
    message = _error(stack_dir)
    assert key + ":" in message, message
    assert hint in message, message
    assert "Pulumi.dev.yaml" in message


def test_overlapping_cidrs_between_stacks_are_rejected(stack_dir: Path) -> None:
    _edit(stack_dir, "prod", lambda c: c["mlops-platform:network"].update(vpcCidr="10.10.128.0/17"))
    message = _error(stack_dir)
    assert "mlops-platform:network.vpcCidr 10.10.0.0/16 (dev) overlaps 10.10.128.0/17 (prod)" in (
        message
    )


def test_accounts_must_agree_across_stacks(stack_dir: Path) -> None:
    _edit(stack_dir, "staging", lambda c: c["mlops-platform:accounts"].update(prod="444444444444"))
    assert (
        "mlops-platform:accounts.prod differs between dev (333333333333) and staging "
        "(444444444444)" in _error(stack_dir)
    )


def test_accounts_must_be_distinct(stack_dir: Path) -> None:
    _edit(stack_dir, "dev", lambda c: c["mlops-platform:accounts"].update(prod="111111111111"))
    assert "three different AWS accounts" in _error(stack_dir)


def test_stack_file_environment_must_match_its_name(stack_dir: Path) -> None:
    _edit(stack_dir, "staging", lambda c: c.update({"mlops-platform:environment": "prod"}))
    with pytest.raises(
        ConfigError, match=r"mlops-platform:environment is 'prod' in Pulumi\.staging"
    ):
        load_stack_config("staging", stack_dir)


def test_unknown_stack_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown stack 'qa'"):
        read_stack_file("qa")
    with pytest.raises(ConfigError, match=r"Pulumi.dev.yaml not found"):
        read_stack_file("dev", tmp_path)


def test_config_round_trips_through_pulumi_config(stack_config) -> None:
    """The program's loader (pulumi.Config, JSON strings) sees the same model as the file loader."""
    import pulumi

    from mlops.config import flatten_for_mocks, load_from_pulumi
    from mlops.testing.mocks import RecordingMocks, install, run

    env = stack_config.environment
    install(RecordingMocks(), env, flatten_for_mocks(read_stack_file(env)))
    seen = {}
    run(lambda: seen.setdefault("cfg", load_from_pulumi()))
    assert seen["cfg"] == stack_config
    assert pulumi.get_stack() == env


def test_edit_helper_does_not_touch_repo_files(stack_dir: Path) -> None:
    before = copy.deepcopy(read_stack_file("dev"))
    _edit(stack_dir, "dev", lambda c: c.pop("mlops-platform:tags"))
    assert read_stack_file("dev") == before
