"""UseCase as a composition of child components: existing URNs survive (aliases), imports run one
way, and the removed cross-account chain stays removed."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pulumi
import pytest

from mlops.components.usecase import UseCase
from mlops.config import StackConfig
from mlops.testing.mocks import RecordingMocks, run

from .usecase_helpers import args_for, build, manifest

LEGACY = json.loads((Path(__file__).parent / "data" / "legacy_urns.json").read_text())
"""(parent type, type, name) of every resource the UseCase created before it was split into
child components (recorded from the previous structure, dev and staging, both Git sources)."""
REPLACED = {
    ("aws:iam/policy:Policy", "usecase-remedy-approver-policy"),
    ("aws:iam/policy:Policy", "usecase-remedy-approval-deny-policy"),
    ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "usecase-remedy-lead-approver"),
    ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "usecase-remedy-ds-approval-deny"),
}
"""Removed on purpose (issues 15 and 23): managed policies attached per use case to the shared
Studio roles, replaced by the use case's approver role (mlops.components.approvers)."""
ONLY_WITH_A_MODEL_ROLE = {("aws:iam/rolePolicy:RolePolicy", "usecase-remedy-deployer-policy")}
"""The deployer's permissions are managed policies now; its inline policy only passes the platform's
model-execution role, which staging and prod have and dev does not."""
COMPONENTS = Path(__file__).parents[2] / "mlops" / "components"
CHILDREN = ("build_pipeline", "deploy_pipeline", "deployment_target")


def _tree(root: pulumi.Resource) -> dict[pulumi.Resource, pulumi.Resource]:
    """{resource: its parent} for every descendant of `root`."""
    parents, frontier = {}, [root]
    while frontier:
        node = frontier.pop()
        for child in node._childResources:
            parents[child] = node
            frontier.append(child)
    return parents


@pytest.mark.parametrize("source", ["connection", "codecommit"])
def test_every_resource_keeps_its_urn(
    pulumi_mocks: RecordingMocks, stack_config: StackConfig, source: str
) -> None:
    key = f"{stack_config.environment}/{source}"
    if key not in LEGACY:
        pytest.skip("prod builds what staging builds")
    m = manifest("remedy")
    if source == "codecommit":
        m = manifest("remedy", git={**m.git.model_dump(), "provider": "codecommit"})
    parents: dict[pulumi.Resource, pulumi.Resource] = {}
    aliases: dict[tuple[str, str], list[str]] = {}

    def program() -> UseCase:
        uc = UseCase("usecase-remedy", args_for(stack_config, m))
        parents.update(_tree(uc))
        for r in parents:
            slot = aliases.setdefault((r._type, r._name), [])
            pulumi.Output.all(*r._aliases).apply(slot.extend)
        return uc

    run(program)
    now = {(r._type, r._name): p._type for r, p in parents.items()}
    now[("mlops:usecase:UseCase", "usecase-remedy")] = "pulumi:pulumi:Stack"
    for row in LEGACY[key]:
        parent_type, typ, name = row.split(" ")
        if (typ, name) in ONLY_WITH_A_MODEL_ROLE:
            assert ((typ, name) in now) == (not stack_config.is_governance), (typ, name)
            continue
        if (typ, name) in REPLACED:
            assert (typ, name) not in now, f"{typ} {name} is attached to a shared role again"
            continue
        assert (typ, name) in now, f"{typ} {name} is no longer created"
        if now[(typ, name)] == parent_type:
            continue  # same parent type and name: the engine computes the same URN
        assert parent_type == "mlops:usecase:UseCase", (row, now[(typ, name)])
        old = f"mlops:usecase:UseCase${typ}::{name}"
        assert any(a.endswith(old) for a in aliases[(typ, name)]), (
            f"{typ} {name} moved under {now[(typ, name)]} without an alias to its old URN "
            f"(aliases: {aliases[(typ, name)]})"
        )


def _imports(module: str) -> set[str]:
    tree = ast.parse((COMPONENTS / f"{module}.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_imports_run_one_way() -> None:
    assert {f"mlops.components.{c}" for c in CHILDREN} <= _imports("usecase")
    for child in CHILDREN:
        imported = _imports(child)
        assert "mlops.components.usecase" not in imported, child
        assert not {f"mlops.components.{c}" for c in CHILDREN} & imported, child
    for shared in ("usecase_builds", "usecase_roles"):
        imported = _imports(shared)
        assert not {f"mlops.components.{c}" for c in (*CHILDREN, "usecase")} & imported, shared


def test_usecase_is_built_from_child_components(
    pulumi_mocks: RecordingMocks, stack_config: StackConfig
) -> None:
    run(lambda: build(stack_config, [manifest("remedy")]))
    types = {r.type for r in pulumi_mocks.resources if r.type.startswith("mlops:usecase:")}
    expected = {"mlops:usecase:UseCase", "mlops:usecase:DeploymentTarget"}
    if stack_config.is_governance:
        expected |= {
            "mlops:usecase:BuildPipeline",
            "mlops:usecase:DeployPipeline",
            "mlops:usecase:RollbackTrigger",  # a rejected package rolls its stages back
        }
    assert types == expected


def test_one_cross_account_path() -> None:
    """The per-use-case deployers are the only deployment roles: no platform-wide deploy pipeline
    role and no `mlops-<env>-deployment` role anywhere in the library or the program."""
    root = Path(__file__).parents[2]
    sources = [*root.joinpath("mlops").rglob("*.py"), root / "platform" / "__main__.py"]
    offenders = [
        str(p.relative_to(root))
        for p in sources
        if any(s in p.read_text() for s in ("DeployPipelineRole", "deployment_role_name"))
    ]
    assert offenders == []
