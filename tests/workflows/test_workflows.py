"""The CI workflows wire the policy gates the way the README promises (structure only: the
real-account jobs cannot run offline), with least privilege: no token or secret a job does not use.
The linters over the same files: test_workflow_linters.py."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from mlops.config import REPO_ROOT

WORKFLOWS = REPO_ROOT / ".github" / "workflows"
TEMPLATE_WORKFLOWS = sorted(REPO_ROOT.glob("templates/*/*/.github/workflows/*.yml"))
ALL_WORKFLOWS = sorted(WORKFLOWS.glob("*.yml")) + TEMPLATE_WORKFLOWS
REUSABLE = "$/.github/workflows/_pulumi-stack.yml"
PASSPHRASE = {"PULUMI_CONFIG_PASSPHRASE": "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}"}


def _read(path: Path) -> dict:
    doc = yaml.safe_load(path.read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as True
    return doc


def _load(name: str) -> dict:
    return _read(WORKFLOWS / name)


def _runs(job: dict) -> str:
    return "\n".join(step.get("run", "") for step in job.get("steps", []))


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(REPO_ROOT)) for p in paths]


def test_pr_runs_tests_and_the_offline_check() -> None:
    pr = _load("pr.yml")
    assert "pull_request" in pr["on"]
    assert "make test" in _runs(pr["jobs"]["test"])
    assert "make check" in _runs(pr["jobs"]["policy-offline"])


def test_pr_previews_every_stack_with_the_pack_over_oidc() -> None:
    job = _load("pr.yml")["jobs"]["policy-preview"]
    assert job["strategy"]["matrix"]["stack"] == ["dev", "staging", "prod"]
    assert job["permissions"]["id-token"] == "write"
    assert job["uses"] == REUSABLE
    assert job["with"] == {"stack": "${{ matrix.stack }}", "command": "preview"}
    assert job["secrets"] == PASSPHRASE  # by name, never `inherit`


def test_reusable_workflow_enforces_the_pack_and_uses_oidc() -> None:
    doc = _load("_pulumi-stack.yml")
    assert set(doc["on"]["workflow_call"]["secrets"]) == set(PASSPHRASE)
    jobs = doc["jobs"]
    for name, verb in (("preview", "pulumi preview"), ("up", "pulumi up")):
        steps = jobs[name]["steps"]
        # the stack reaches the shell through env, never as `${{ }}` inside the script
        assert jobs[name]["env"]["STACK"] == "${{ inputs.stack }}"
        assert f'{verb} --stack "$STACK" --policy-pack policy' in _runs(jobs[name])
        creds = next(s for s in steps if s.get("uses", "").startswith("aws-actions/configure"))
        assert creds["with"]["role-to-assume"] == "${{ steps.role.outputs.arn }}"
        assert "aws-access-key-id" not in creds["with"]  # no long-lived keys
        role = next(s for s in steps if s.get("id") == "role")
        assert steps.index(role) < steps.index(creds)
        assert role["env"] == {f"ROLE_{s.upper()}": f"${{{{ vars.AWS_ROLE_ARN_{s.upper()} }}}}"
                               for s in ("dev", "staging", "prod")}  # fmt: skip
        pulumi = next(s for s in steps if verb in s.get("run", ""))
        assert pulumi["env"] == PASSPHRASE  # the secret only where pulumi runs
        assert "PULUMI_CONFIG_PASSPHRASE" not in jobs[name]["env"]
    assert jobs["up"]["environment"] == "${{ inputs.stack }}"


def _role_step(
    job: str, env: dict[str, str], tmp_path: Path
) -> tuple[subprocess.CompletedProcess, str]:
    """Run the job's `role` step script with bash, as the runner would."""
    step = next(
        s for s in _load("_pulumi-stack.yml")["jobs"][job]["steps"] if s.get("id") == "role"
    )
    out = tmp_path / "github_output"
    out.write_text("")
    proc = subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        env={"PATH": "/usr/bin:/bin", "GITHUB_OUTPUT": str(out), **env},
        capture_output=True,
        text=True,
        check=False,
    )
    return proc, out.read_text()


@pytest.mark.parametrize("job", ["preview", "up"])
def test_role_step_picks_the_stacks_role_and_rejects_anything_else(
    job: str, tmp_path: Path
) -> None:
    roles = {f"ROLE_{s.upper()}": f"arn:aws:iam::1:role/{s}" for s in ("dev", "staging", "prod")}
    for stack in ("dev", "staging", "prod"):
        proc, out = _role_step(job, {**roles, "STACK": stack}, tmp_path)
        assert proc.returncode == 0, proc.stdout
        assert out == f"arn=arn:aws:iam::1:role/{stack}\n"
    proc, out = _role_step(job, {**roles, "STACK": "prod; curl evil"}, tmp_path)
    assert proc.returncode == 1 and "use dev, staging or prod" in proc.stdout and out == ""
    proc, out = _role_step(job, {**roles, "ROLE_STAGING": "", "STACK": "staging"}, tmp_path)
    assert proc.returncode == 1 and "AWS_ROLE_ARN_STAGING is not set" in proc.stdout and out == ""


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
    for stack in ("dev", "staging", "prod"):
        job = jobs[f"deploy-{stack}"]
        assert job["uses"] == REUSABLE
        assert job["secrets"] == PASSPHRASE  # by name, never `inherit`
        assert job["permissions"] == {"contents": "read", "id-token": "write"}


# --- least privilege, in every workflow (the platform's and the ones templates render) --------

# The jobs that assume an AWS role over OIDC; every other job gets `contents: read` only.
OIDC_JOBS = {
    "pr.yml": {"policy-preview"},
    "deploy.yml": {"deploy-dev", "deploy-staging", "deploy-prod"},
    "_pulumi-stack.yml": {"preview", "up"},
}


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=_ids(ALL_WORKFLOWS))
def test_every_job_declares_least_permissions(path: Path) -> None:
    doc = _read(path)
    assert doc["permissions"] == {}, "no default token permissions at the workflow level"
    oidc = OIDC_JOBS.get(path.name, set()) if path.parent == WORKFLOWS else set()
    for name, job in doc["jobs"].items():
        wanted = {"contents": "read", "id-token": "write"} if name in oidc else {"contents": "read"}
        assert job.get("permissions") == wanted, f"{path.name}: job {name}"
        assert job.get("secrets") != "inherit", f"{path.name}: job {name} inherits every secret"


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=_ids(ALL_WORKFLOWS))
def test_no_expression_inside_scripts_and_no_persisted_checkout_token(path: Path) -> None:
    for name, job in _read(path)["jobs"].items():
        for step in job.get("steps", []):
            assert "${{" not in step.get("run", ""), f"{path.name}: {name}: use env, not ${{{{ }}}}"
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, f"{path.name}: {name}"


# --- the PR workflow of every rendered use-case repo -----------------------------------------

TEMPLATE_REPOS = sorted(
    d for d in REPO_ROOT.glob("templates/*/*") if d.name in ("training", "inference")
)


@pytest.mark.parametrize("repo", TEMPLATE_REPOS, ids=_ids(TEMPLATE_REPOS))
def test_rendered_repos_run_tests_ruff_and_for_inference_the_policy_pack(repo: Path) -> None:
    pr = _read(repo / ".github" / "workflows" / "pr.yml")
    assert "pull_request" in pr["on"]
    runs = _runs(pr["jobs"]["test"])
    assert "uv run --no-sync pytest" in runs and "uv run --no-sync ruff check ." in runs
    if repo.name == "inference":
        assert "uv run --no-sync pytest -q tests/test_policy.py" in _runs(pr["jobs"]["policy"])
        source = (repo / "tests" / "test_policy.py").read_text()
        assert "check_resources(deploy(env, model).resources" in source
        assert "assert result.ok" in source
    else:
        assert set(pr["jobs"]) == {"test"}


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
