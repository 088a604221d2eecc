"""Manifest schema: remedy.yaml loads; every rule rejects bad input naming file, field and fix."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops.config import load_stack_config
from mlops.errors import ManifestError
from mlops.usecases import (
    USECASES_DIR,
    dump_manifest,
    load_manifest,
    load_manifests,
    parse_manifest,
)

REMEDY = yaml.safe_load((USECASES_DIR / "remedy.yaml").read_text())
SOURCE = "usecases/remedy.yaml"


def _with(path: str, value: Any) -> dict[str, Any]:
    """A copy of remedy.yaml with one field set (value None deletes it)."""
    data = copy.deepcopy(REMEDY)
    *parents, leaf = path.split(".")
    node = data
    for p in parents:
        node = node[p]
    if value is None:
        del node[leaf]
    else:
        node[leaf] = value
    return data


def test_remedy_manifest_loads_with_defaults() -> None:
    [m] = [m for m in load_manifests() if m.name == "remedy"]
    assert m.owners.lead_data_scientist == "ellen-ward"
    assert (m.tuning.max_jobs, m.tuning.max_parallel) == (100, 20)
    assert m.stacks.prod.endpoint.mode == "realtime"
    assert m.stacks.dev.endpoint.mode == "serverless"
    assert m.evaluation.passes(0.81) and not m.evaluation.passes(0.79)


def test_tuning_defaults_are_100_and_20() -> None:
    m = parse_manifest(_with("tuning", None))
    assert (m.tuning.max_jobs, m.tuning.max_parallel) == (100, 20)


def test_minimize_direction_gate() -> None:
    m = parse_manifest(
        _with("evaluation", {"metric": "rmse", "threshold": 500.0, "direction": "minimize"})
    )
    assert m.evaluation.passes(400.0) and not m.evaluation.passes(600.0)


def test_dump_round_trips(tmp_path: Path) -> None:
    m = load_manifest(USECASES_DIR / "remedy.yaml")
    path = tmp_path / "remedy.yaml"
    path.write_text(dump_manifest(m))
    assert load_manifest(path) == m


BAD = [
    # (field path, bad value, field named in the message, words of the fix)
    ("name", "Remedy", "name", "lower-case"),
    ("name", "remedy_claims", "name", "lower-case"),
    ("name", "a" * 33, "name", "at most 32"),
    ("name", "remedy-", "name", "hyphens"),
    ("template", None, "template", "templates/"),
    ("template_version", "v1", "template_version", "semantic version"),
    ("owners.lead_data_scientist", "Ellen Ward", "owners.lead_data_scientist", "lead data"),
    ("owners", None, "owners", "lead_data_scientist"),
    ("git.provider", "svn", "git.provider", "github"),
    ("git.inference_repo", "remedy-training", "git", "two different"),
    ("git.training_repo", "bad repo!", "git.training_repo", "repository"),
    ("evaluation.metric", "Macro F1", "evaluation.metric", "snake_case"),
    ("evaluation.threshold", "high", "evaluation.threshold", "a number"),
    ("evaluation.direction", "up", "evaluation.direction", "maximize or minimize"),
    ("tuning", {"max_jobs": 10, "max_parallel": 20}, "tuning", "max_parallel <= tuning.max_jobs"),
    ("tuning.max_jobs", 0, "tuning.max_jobs", "max_jobs"),
    ("data_classification", "secret", "data_classification", "confidential"),
    ("stacks.staging", None, "stacks.staging", "stacks.staging"),
    (
        "stacks.dev.training_instance_type",
        "m5.xlarge",
        "stacks.dev.training_instance_type",
        "ml.m5.large",
    ),
    ("stacks.dev.endpoint.mode", "batch", "stacks.dev.endpoint", "mode: serverless"),
    ("stacks.dev.endpoint.memory_mb", 1500, "stacks.dev.endpoint.memory_mb", "memory_mb"),
    (
        "stacks.dev.endpoint.max_concurrency",
        0,
        "stacks.dev.endpoint.max_concurrency",
        "max_concurrency",
    ),
    ("stacks.prod.endpoint.min_instances", 7, "stacks.prod.endpoint", "min_instances"),
    (
        "stacks.prod.endpoint.instance_type",
        None,
        "stacks.prod.endpoint.instance_type",
        "instance_type",
    ),
    ("colour", "blue", "colour", "edit"),
    # analytics entry points: <module>:<attribute>
    ("analytics.events", None, "analytics.events", "analytics.events (required)"),
    ("analytics.events", "remedy_core.events", "analytics.events", "<module>:<attribute>"),
    (
        "analytics.dashboard",
        "remedy_core/dashboard.py:render",
        "analytics.dashboard",
        "dashboard: remedy_core.dashboard:render",
    ),
    ("analytics.dashboard", "remedy_core.dashboard:", "analytics.dashboard", "<module>:"),
    ("analytics.charts", "x:y", "analytics.charts", "analytics.events"),
]


@pytest.mark.parametrize(("path", "value", "field", "fix"), BAD, ids=[b[0] for b in BAD])
def test_bad_field_names_file_field_and_fix(path: str, value: Any, field: str, fix: str) -> None:
    data = copy.deepcopy(REMEDY) if path == "colour" else _with(path, value)
    if path == "colour":
        data["colour"] = value
    with pytest.raises(ManifestError) as info:
        parse_manifest(data, SOURCE)
    err = info.value
    assert SOURCE in err.message
    assert f"\n  {field}: " in err.message, err.message
    assert fix in (err.fix or SOURCE), err.fix
    assert len(err.message.splitlines()) == 2, f"one error expected, got: {err.message}"


def test_not_a_mapping() -> None:
    with pytest.raises(ManifestError, match="must be a YAML mapping"):
        parse_manifest(["name", "remedy"], SOURCE)


def test_invalid_yaml_names_file(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text("name: [unclosed")
    with pytest.raises(ManifestError, match=r"x\.yaml is not valid YAML"):
        load_manifests(tmp_path)


def test_name_must_equal_file_stem(tmp_path: Path) -> None:
    (tmp_path / "claims.yaml").write_text(yaml.safe_dump(REMEDY))
    with pytest.raises(ManifestError) as info:
        load_manifests(tmp_path)
    assert "does not match the file name 'claims.yaml'" in info.value.message
    assert "rename the file to remedy.yaml" in info.value.fix


def test_duplicate_names_rejected(tmp_path: Path) -> None:
    (tmp_path / "remedy.yaml").write_text(yaml.safe_dump(REMEDY))
    (tmp_path / "remedy.yml").write_text(yaml.safe_dump(REMEDY))
    with pytest.raises(ManifestError) as info:
        load_manifests(tmp_path)
    assert "defined twice" in info.value.message
    assert "remedy.yaml" in info.value.message and "remedy.yml" in info.value.message


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_lead_must_be_a_lead_of_the_stack(stack: str) -> None:
    cfg = load_stack_config(stack)
    parse_manifest(REMEDY).check_against_stack(cfg)  # ellen-ward is a lead everywhere
    manifest = parse_manifest(_with("owners.lead_data_scientist", "priya-shah"))
    with pytest.raises(ManifestError) as info:
        manifest.check_against_stack(cfg)
    assert "owners.lead_data_scientist 'priya-shah'" in info.value.message
    assert f"Pulumi.{stack}.yaml" in info.value.fix


def test_overlapping_names_rejected(tmp_path: Path) -> None:
    for name in ("remedy", "remedy-v2"):
        data = {**REMEDY, "name": name}
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ManifestError) as info:
        load_manifests(tmp_path)
    assert "'remedy' and 'remedy-v2' overlap" in info.value.message
    assert "rename 'remedy-v2'" in info.value.fix


def test_function_concurrency_is_validated_per_stack() -> None:
    """Each stage's reserved concurrency of the serving Lambdas comes from the
    manifest, within what an account can reserve."""
    assert parse_manifest(REMEDY, SOURCE).stacks.prod.function_concurrency >= 1
    with pytest.raises(ManifestError, match="function_concurrency"):
        parse_manifest(_with("stacks.prod.function_concurrency", 901), SOURCE)
    with pytest.raises(ManifestError, match="function_concurrency"):
        parse_manifest(_with("stacks.dev.function_concurrency", 0), SOURCE)


def test_analytics_entry_points_are_declared_and_optional(tmp_path: Path) -> None:
    """The manifest names the use case's analytics code (the platform imports it from
    there); a use case without analytics omits the block, and its dump has none."""
    m = parse_manifest(REMEDY, SOURCE)
    assert m.analytics is not None
    assert (m.analytics.events, m.analytics.dashboard) == (
        "remedy_core.events:REGISTRY",
        "remedy_core.dashboard:render",
    )
    assert parse_manifest(_with("analytics.dashboard", None)).analytics.dashboard is None
    bare = parse_manifest(_with("analytics", None))
    assert bare.analytics is None
    assert "analytics" not in dump_manifest(bare)
    path = tmp_path / "remedy.yaml"
    path.write_text(dump_manifest(bare))
    assert load_manifest(path) == bare
