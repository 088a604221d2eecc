"""bandit (medium and high severity) over the platform library, the program and the template
code (tests excluded), as part of `make test`.

ruff's `S` rules (bandit's checks, re-implemented) already run in `make lint`; bandit itself is
run here as a second opinion. A finding passes only if its line carries an inline suppression
with the same rule: `# nosec` (bandit) or `# noqa: S<nnn>` (ruff's number for bandit's B<nnn>),
so every accepted finding is justified next to the code, where reviewers see it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


TARGETS = ("mlops", "platform", "templates")
EXCLUDE = "*/tests/*,*/tests"


def _bandit(*targets: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "bandit", "-r", *targets, "-x", EXCLUDE, "-ll", "-f", "json", "-q"],
        cwd=REPO, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.stdout.strip(), f"bandit produced no report: {proc.stderr[-2000:]}"
    report = json.loads(proc.stdout)
    assert not report["errors"], f"bandit could not scan: {report['errors']}"
    return report


def _suppressed(finding: dict) -> bool:
    """Same-rule inline suppression on any line of the flagged statement."""
    ruff_code = "S" + finding["test_id"].removeprefix("B")
    lines = Path(REPO / finding["filename"]).read_text().splitlines()
    first, last = min(finding["line_range"]), max(finding["line_range"])
    for line in lines[first - 1 : last]:
        noqa = re.search(r"#\s*noqa:\s*([A-Z0-9, ]+)", line)
        if noqa and ruff_code in [c.strip() for c in noqa.group(1).split(",")]:
            return True
    return False


def test_bandit_medium_and_high_findings_are_fixed_or_justified_inline() -> None:
    report = _bandit(*TARGETS)
    files = [f for f in report["metrics"] if f != "_totals"]
    assert {Path(f).parts[0] for f in files} == set(TARGETS), "a target was not scanned"
    assert not [f for f in files if "/tests/" in f], "test code is excluded (asserts, fixtures)"
    results = report["results"]
    open_findings = [
        f"{f['filename']}:{f['line_number']} {f['test_id']} ({f['issue_severity']}): "
        f"{f['issue_text']}"
        for f in results
        if not _suppressed(f)
    ]
    assert not open_findings, (
        "bandit findings without an inline justification (fix them, or add "
        "`# noqa: S<nnn> - <why it is safe>`):\n" + "\n".join(open_findings)
    )


def test_bandit_flags_an_unjustified_finding(tmp_path) -> None:
    """The gate can fail: a shell=True call with no justification is reported."""
    sample = tmp_path / "bad.py"
    sample.write_text("import subprocess\n\ndef run(cmd):\n    subprocess.call(cmd, shell=True)\n")
    results = _bandit(str(sample))["results"]
    assert [r["test_id"] for r in results] == ["B602"]
    results[0]["filename"] = str(sample)
    assert not _suppressed(results[0])
    sample.write_text(sample.read_text().replace("shell=True)", "shell=True)  # noqa: S602"))
    assert _suppressed(results[0])
