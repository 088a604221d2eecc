"""The CI workflows wire the policy gates the way the README promises (structure only: the
real-account jobs cannot run offline)."""

from __future__ import annotations

import yaml

from mlops.config import REPO_ROOT

WORKFLOWS = REPO_ROOT / ".github" / "workflows"


def _load(name: str) -> dict:
    doc = yaml.safe_load((WORKFLOWS / name).read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as True
    return doc


def _runs(job: dict) -> str:
    return "\n".join(step.get("run", "") for step in job.get("steps", []))


def test_pr_runs_tests_and_the_offline_check() -> None:
    pr = _load("pr.yml")
    assert "pull_request" in pr["on"]
    assert "make test" in _runs(pr["jobs"]["test"])
    assert "make check" in _runs(pr["jobs"]["policy-offline"])


def test_pr_previews_every_stack_with_the_pack_over_oidc() -> None:
    job = _load("pr.yml")["jobs"]["policy-preview"]
    assert job["strategy"]["matrix"]["stack"] == ["dev", "staging", "prod"]
    assert job["permissions"]["id-token"] == "write"
    assert job["uses"] == "./.github/workflows/_pulumi-stack.yml"
    assert job["with"] == {"stack": "${{ matrix.stack }}", "command": "preview"}


def test_reusable_workflow_enforces_the_pack_and_uses_oidc() -> None:
    jobs = _load("_pulumi-stack.yml")["jobs"]
    for name, verb in (("preview", "pulumi preview"), ("up", "pulumi up")):
        steps = jobs[name]["steps"]
        assert f'{verb} --stack "${{{{ inputs.stack }}}}" --policy-pack policy' in _runs(jobs[name])
        creds = next(s for s in steps if s.get("uses", "").startswith("aws-actions/configure"))
        assert "role-to-assume" in creds["with"]
        assert "aws-access-key-id" not in creds["with"]  # no long-lived keys
    assert jobs["up"]["environment"] == "${{ inputs.stack }}"


def test_deploy_runs_on_main_in_stack_order_after_tests() -> None:
    deploy = _load("deploy.yml")
    assert deploy["on"]["push"]["branches"] == ["main"]
    jobs = deploy["jobs"]
    assert "make check" in _runs(jobs["test"])
    assert jobs["deploy-dev"]["needs"] == "test"
    assert jobs["deploy-staging"]["needs"] == "deploy-dev"
    assert jobs["deploy-prod"]["needs"] == "deploy-staging"
    assert [jobs[f"deploy-{s}"]["with"]["stack"] for s in ("dev", "staging", "prod")] == [
        "dev",
        "staging",
        "prod",
    ]
    assert all(jobs[f"deploy-{s}"]["with"]["command"] == "up" for s in ("dev", "staging", "prod"))


def test_pack_files_exist() -> None:
    pack = REPO_ROOT / "policy"
    assert yaml.safe_load((pack / "PulumiPolicy.yaml").read_text())["runtime"]["name"] == "python"
    assert "pulumi-policy" in (pack / "requirements.txt").read_text()
    source = (pack / "__main__.py").read_text()
    assert "PolicyPack(**pack_arguments())" in source


def test_pack_readme_documents_every_rule_with_its_level() -> None:
    from mlops.policy.base import REGISTRY
    from mlops.policy.check import rules_table  # noqa: F401  (registers every rule)

    readme = (REPO_ROOT / "policy" / "README.md").read_text()
    for name, rule in REGISTRY.items():
        assert f"| `{name}` | {rule.kind} | {rule.level.value} |" in readme, name
