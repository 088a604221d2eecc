"""The demo's work directory: every state a run can find is recognised, cleaned and named; a
directory that is not the demo's is refused and left as it was."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlops import __version__
from mlops.local import processes
from mlops.local.workdir import MARKER, RunRecord, WorkDirError, prepare


def _old_run(work: Path) -> None:
    for name in ("logs", "repos", "training/tuning"):
        (work / name).mkdir(parents=True)
    (work / "training" / "tuning" / "study.db").write_bytes(b"sqlite")


def test_new_directory_starts_clean(tmp_path: Path) -> None:
    prep = prepare(tmp_path / "demo")
    assert prep.found == "new" and (tmp_path / "demo").is_dir()
    assert "starting clean" in prep.message


def test_completed_run_is_removed_and_named(tmp_path: Path) -> None:
    _old_run(tmp_path)
    record = RunRecord(tmp_path, argv=["mlops", "demo"])
    record.phase("train")
    record.finish("complete")
    prep = prepare(tmp_path)
    assert prep.found == "complete" and "previous run completed" in prep.message
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_interrupted_run_names_its_phase_and_reason(tmp_path: Path) -> None:
    _old_run(tmp_path)
    record = RunRecord(tmp_path, argv=["mlops", "demo"])
    record.phase("train: tuning, evaluation, gate, registration")
    record.finish("interrupted", reason="SIGTERM")
    prep = prepare(tmp_path)
    assert prep.found == "interrupted"
    assert "interrupted in phase 'train: tuning, evaluation, gate, registration' (SIGTERM)" in (
        prep.message
    )
    assert not (tmp_path / "training").exists()


def _cmdline(pid: int) -> list[str]:
    raw = Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0")
    return [part.decode() for part in raw.split(b"\0")]


def test_sigkilled_run_record_says_running_and_its_leftover_services_are_stopped(
    tmp_path: Path,
) -> None:
    # a run killed with SIGKILL leaves status=running, a dead pid, and its services running
    _old_run(tmp_path)
    command = [sys.executable, "-c", "import time; time.sleep(120)"]
    leftover = subprocess.Popen(command, start_new_session=True)
    try:
        # until it has exec'd, /proc shows the forking interpreter's command line, not `command`
        deadline = time.monotonic() + 10
        while _cmdline(leftover.pid) != command and time.monotonic() < deadline:
            time.sleep(0.01)
        record = {
            "version": __version__,
            "pid": 2**22 + 7,  # no such process
            "argv": ["mlops", "demo"],
            "status": "running",
            "phase": "train",
            "children": [{"name": "embedded AWS (moto)", "pid": leftover.pid, "command": command}],
        }
        (tmp_path / MARKER).write_text(json.dumps(record))
        prep = prepare(tmp_path)
        assert prep.found == "interrupted" and "phase 'train'" in prep.message
        assert prep.stopped_leftovers == (f"embedded AWS (moto) (pid {leftover.pid})",)
        assert leftover.wait(timeout=10) != 0  # terminated by the next run, not left orphaned
    finally:
        leftover.kill()
        leftover.wait()


def test_a_reused_pid_is_not_killed(tmp_path: Path) -> None:
    # the recorded pid now belongs to an unrelated process (pids are reused): leave it alone
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        record = {"status": "running", "pid": 0, "argv": [], "phase": "deploy",
                  "children": [{"name": "decision API", "pid": other.pid,
                                "command": ["python", "-m", "remedy_inference.api"]}]}  # fmt: skip
        (tmp_path / MARKER).write_text(json.dumps(record))
        prep = prepare(tmp_path)
        assert prep.stopped_leftovers == ()
        time.sleep(0.2)
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_directory_from_an_older_version_is_recognised(tmp_path: Path) -> None:
    _old_run(tmp_path)  # no record: versions before the run record
    prep = prepare(tmp_path)
    assert prep.found == "older-version" and "older version" in prep.message
    assert list(tmp_path.iterdir()) == []


def test_foreign_files_are_refused_and_nothing_is_touched(tmp_path: Path) -> None:
    _old_run(tmp_path)
    (tmp_path / "thesis.docx").write_text("mine")
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    with pytest.raises(WorkDirError) as err:
        prepare(tmp_path)
    assert "thesis.docx" in err.value.message and "nothing was changed" in err.value.fix
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before


def test_a_run_still_in_progress_is_refused(tmp_path: Path) -> None:
    # a live process whose command line is the one recorded: another demo owns the directory
    argv = [sys.executable, "-c", "import time; time.sleep(30)"]
    owner = subprocess.Popen(argv)
    deadline = time.monotonic() + 10  # until exec: a just-forked child still shows our cmdline
    while Path(f"/proc/{owner.pid}/cmdline").read_bytes().split(b"\0")[:3] != [
        a.encode() for a in argv
    ]:
        assert time.monotonic() < deadline, "the child did not start"
        time.sleep(0.01)
    try:
        record = {"version": __version__, "pid": owner.pid, "argv": argv, "status": "running",
                  "phase": "train", "children": []}  # fmt: skip
        (tmp_path / MARKER).write_text(json.dumps(record))
        with pytest.raises(WorkDirError, match=f"another demo is running .*pid {owner.pid}"):
            prepare(tmp_path)
        assert json.loads((tmp_path / MARKER).read_text()) == record
    finally:
        owner.kill()
        owner.wait()


def test_the_run_record_lists_the_services_it_started(tmp_path: Path) -> None:
    record = RunRecord(tmp_path, argv=["mlops", "demo"])
    try:
        proc = subprocess.Popen([sys.executable, "-c", "pass"])
        proc.wait()
        processes.child_started("valuation service", proc, ["python", "-c", "pass"])
        data = json.loads((tmp_path / MARKER).read_text())
        assert data["children"] == [
            {"name": "valuation service", "pid": proc.pid, "command": ["python", "-c", "pass"]}
        ]
        assert data["status"] == "running" and data["version"] == __version__
    finally:
        record.finish("complete")
    assert json.loads((tmp_path / MARKER).read_text())["children"] == []


def test_every_entry_the_demo_writes_at_the_top_of_its_work_dir_is_its_own() -> None:
    """A second `mlops demo` must find only its own entries: each `work / "<name>"` the local
    mode writes is in DEMO_ENTRIES (phase 8's candidate-bundle once was not, so every second run
    refused the directory as holding foreign files)."""
    import re
    from pathlib import Path

    from mlops.local.workdir import DEMO_ENTRIES

    local = Path(__file__).resolve().parents[2] / "mlops" / "local"
    written = {
        name
        for path in local.glob("*.py")
        for name in re.findall(r'\bwork / "([^"/]+)"', path.read_text())
    }
    assert written and written <= DEMO_ENTRIES, written - DEMO_ENTRIES
