"""actionlint and zizmor (offline, auditor persona: every severity and confidence) over the
platform's GitHub workflows and over the workflows of every repo the templates render, plus the
pin rules neither tool can check offline (docs/security.md, "GitHub Actions").

actionlint knows the runtime of `actions/checkout@v4` but not of a commit SHA, so a SHA-pinned
action is checked here instead: its `# vX.Y.Z` comment must be a release that runs on node24
(NODE24_SINCE, read from each action's tagged action.yml).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from templates.conftest import OWNER, render

from mlops.config import REPO_ROOT
from mlops.onboarding import TemplateStore

BIN = Path(sys.executable).parent
ACTIONLINT = BIN / "actionlint"
ZIZMOR = BIN / "zizmor"
TEMPLATES = ("tabular-classification", "remedy")
KINDS = ("training", "inference")
RENDERED = [(t, k) for t in TEMPLATES for k in KINDS]

# The first release of each action whose action.yml says `runs: using: node24`. GitHub removed
# node20 from its runners on 2026-09-23: a pin below this no longer runs. An action missing here
# fails the test until its runtime has been checked (docs/security.md says how) and added.
NODE24_SINCE: dict[str, tuple[int, int, int]] = {
    "actions/checkout": (5, 0, 0),
    "actions/setup-python": (6, 0, 0),
    "actions/setup-node": (5, 0, 0),
    "actions/upload-artifact": (6, 0, 0),
    "astral-sh/setup-uv": (7, 0, 0),
    "aws-actions/configure-aws-credentials": (6, 0, 0),
    "pulumi/actions": (7, 0, 0),
}

USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>[^\s#]+)\s*(?:#\s*(?P<comment>.*?))?\s*$")
PINNED = re.compile(r"^(?P<action>[\w.-]+/[\w.-]+)(?:/[^@]+)?@(?P<sha>[0-9a-f]{40})$")
VERSION = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """Both templates rendered for both repo kinds, the way `mlops onboard` renders them."""
    root = tmp_path_factory.mktemp("workflow-repos")
    store = TemplateStore(str(root / "template-store"))
    answers = {t: {"usecase_name": f"wf-{t[:3]}", "owner_email": OWNER} for t in TEMPLATES}
    return {(t, k): render(store, t, answers[t], k, root / f"{t}-{k}") for t, k in RENDERED}


def workflows(root: Path) -> list[Path]:
    return sorted((root / ".github" / "workflows").glob("*.y*ml"))


def actionlint(root: Path, files: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ACTIONLINT), "-no-color", *(str(f.relative_to(root)) for f in files)],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )


def zizmor(root: Path) -> subprocess.CompletedProcess[str]:
    """zizmor over a repository folder (its workflows and dependabot.yml), no network."""
    return subprocess.run(
        [str(ZIZMOR), "--offline", "--persona=auditor", "--format=plain", "--color=never", "."],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )


def assert_actionlint_clean(root: Path) -> None:
    files = workflows(root)
    assert files, f"no workflows in {root}/.github/workflows"
    result = actionlint(root, files)
    assert result.returncode == 0 and not result.stdout.strip(), (
        f"actionlint found problems in {root.name} (exit {result.returncode}):\n"
        f"{result.stdout}{result.stderr}"
    )


def assert_zizmor_clean(root: Path) -> None:
    result = zizmor(root)
    audited = set(re.findall(r"completed \./(\S+)", result.stderr))
    expected = {str(f.relative_to(root)) for f in workflows(root)}
    assert expected and expected <= audited, f"zizmor did not audit {expected - audited}"
    assert result.returncode == 0 and "No findings to report" in result.stdout, (
        f"zizmor --offline --persona=auditor found problems in {root.name} "
        f"(exit {result.returncode}):\n{result.stdout}{result.stderr[-2000:]}"
    )


def pins(files: list[Path]) -> list[tuple[str, int, str, str]]:
    """(file, line, reference, comment) of every `uses:`."""
    found = []
    for path in files:
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if m := USES.match(line):
                found.append((str(path), n, m["ref"].strip("'\""), m["comment"] or ""))
    return found


def pin_problems(files: list[Path]) -> list[str]:
    problems = []
    versions: dict[tuple[str, str], set[str]] = defaultdict(set)
    for where, n, ref, comment in pins(files):
        at = f"{where}:{n}: uses: {ref}"
        if ref.startswith("$/"):
            continue  # this repository at the same commit (self-repository syntax)
        if ref.startswith("./"):
            problems.append(f"{at}: use the self-repository form $/{ref[2:]}")
            continue
        pinned = PINNED.match(ref)
        if not pinned:
            problems.append(f"{at}: pin to a full 40-hex commit SHA with `# vX.Y.Z` after it")
            continue
        action = pinned["action"]
        version = VERSION.match(comment.split()[0]) if comment else None
        if not version:
            problems.append(f"{at}: the comment must name the pinned release, e.g. `# v7.0.1`")
            continue
        versions[(action, pinned["sha"])].add(comment.split()[0])
        floor = NODE24_SINCE.get(action)
        if floor is None:
            problems.append(
                f"{at}: {action} is not in NODE24_SINCE; check its action.yml runs on node24 "
                "(or is composite/docker) and add the first such release"
            )
        elif tuple(int(x) for x in version.groups()) < floor:
            since = "v{}.{}.{}".format(*floor)
            problems.append(f"{at}: {comment} runs on node20 (removed); use {action} >= {since}")
    for (action, sha), seen in versions.items():
        if len(seen) > 1:
            problems.append(f"{action}@{sha} is commented as {sorted(seen)}: one commit, one name")
    return problems


# --- the platform's own workflows -------------------------------------------------------------


def test_actionlint_passes_on_the_platform_workflows() -> None:
    assert_actionlint_clean(REPO_ROOT)


def test_zizmor_finds_nothing_in_the_platform_workflows() -> None:
    assert_zizmor_clean(REPO_ROOT)


def test_platform_actions_are_pinned_to_node24_releases() -> None:
    assert pin_problems(workflows(REPO_ROOT)) == []


# --- every rendered use-case repo ---------------------------------------------------------------


@pytest.mark.parametrize(("template", "kind"), RENDERED, ids=[f"{t}-{k}" for t, k in RENDERED])
def test_rendered_repo_workflows_pass_actionlint_and_zizmor(
    rendered: dict[tuple[str, str], Path], template: str, kind: str
) -> None:
    root = rendered[(template, kind)]
    assert [f.name for f in workflows(root)] == ["pr.yml"]
    assert_actionlint_clean(root)
    assert_zizmor_clean(root)
    assert pin_problems(workflows(root)) == []


# --- the checks themselves fail on what they are meant to catch ------------------------------

BAD_WORKFLOW = """name: bad
on:
  pull_request:
permissions:
  contents: read
jobs:
  build:
    name: build
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.pull_request.title }}"
"""


def test_the_linters_fail_on_a_bad_workflow(tmp_path: Path) -> None:
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "bad.yml").write_text(BAD_WORKFLOW)
    lint = actionlint(tmp_path, workflows(tmp_path))
    assert lint.returncode == 1 and 'runtime "node20" is deprecated' in lint.stdout, lint.stdout
    found = zizmor(tmp_path)
    assert found.returncode != 0
    for audit in ("unpinned-uses", "template-injection", "artipacked"):
        assert f"[{audit}]" in found.stdout, found.stdout
    with pytest.raises(AssertionError, match="template-injection"):
        assert_zizmor_clean(tmp_path)


def test_pin_rules_catch_old_runtimes_tags_and_unknown_actions(tmp_path: Path) -> None:
    old = "11bd71901bbe5b1630ceea73d27597364c9af683"  # actions/checkout v4.2.2 (node20)
    new = "3d3c42e5aac5ba805825da76410c181273ba90b1"  # actions/checkout v7.0.1 (node24)
    path = tmp_path / "w.yml"
    path.write_text(
        "jobs:\n  a:\n    steps:\n"
        f"      - uses: actions/checkout@{old} # v4.2.2\n"
        "      - uses: actions/setup-python@v6\n"
        f"      - uses: actions/checkout@{new}\n"
        f"      - uses: example/unknown@{new} # v1.0.0\n"
        f"      - uses: actions/checkout@{new} # v7.0.1\n"
        f"      - uses: actions/checkout@{new} # v7.0.0\n"
        "    uses: ./.github/workflows/x.yml\n"
    )
    problems = "\n".join(pin_problems([path]))
    assert "v4.2.2 runs on node20 (removed); use actions/checkout >= v5.0.0" in problems
    assert "uses: actions/setup-python@v6: pin to a full 40-hex commit SHA" in problems
    assert "the comment must name the pinned release" in problems
    assert "example/unknown is not in NODE24_SINCE" in problems
    assert "one commit, one name" in problems
    assert "use the self-repository form $/.github/workflows/x.yml" in problems
    assert len(pin_problems([path])) == 6
