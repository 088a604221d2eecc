"""The demo's work directory: every run starts clean, knowingly, and says why.

A run cannot resume an earlier one: the embedded AWS (moto) keeps the registry, the approvals and
the analytics stream in memory, and they die with the run that started it. So a run records what
it is doing in ``.mlops-demo.json`` (version, phase, status, the services it started) and the next
run reads that record, stops any service a killed run left behind, removes what the demo wrote and
starts again, telling the user which case it met:

- a new or empty directory;
- a completed run, or one interrupted in a named phase (Ctrl-C, a signal, an error, a SIGKILL);
- a directory written by an older version (no record, but only the demo's own entries).

A directory holding anything else is refused and left untouched: ``--work-dir`` may point at a
user's own folder by mistake, and the demo must never delete what it did not write.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlops import __version__
from mlops.errors import MlopsError
from mlops.local import processes

MARKER = ".mlops-demo.json"
# what any version of the demo writes at the top of its work directory
DEMO_ENTRIES = frozenset(
    {
        "logs",
        "repos",
        "usecases",
        "training",
        "deployed-bundle",
        "candidate-bundle",
        "analytics",
        "audit",
        "tmp",
    }
)


class WorkDirError(MlopsError):
    """The work directory cannot be used."""


@dataclass(frozen=True)
class Preparation:
    """What the work directory held and what was done about it (shown to the user)."""

    found: str  # "new", "complete", "interrupted", "older-version"
    message: str
    stopped_leftovers: tuple[str, ...] = ()


def _read_marker(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _alive_as(pid: int, command: list[str]) -> bool:
    """The process ``pid`` exists and still runs ``command`` (pids are reused)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return [part.decode(errors="replace") for part in cmdline if part] == command


def _stop_leftovers(record: dict[str, Any]) -> tuple[str, ...]:
    """Stop the services a killed run left running (they run in their own sessions)."""
    stopped = []
    for child in record.get("children", []):
        pid, command = int(child.get("pid", 0)), list(child.get("command", []))
        if pid <= 1 or not command or not _alive_as(pid, command):
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)
        stopped.append(f"{child.get('name', 'service')} (pid {pid})")
    return tuple(stopped)


def _running_owner(record: dict[str, Any]) -> int | None:
    pid = int(record.get("pid", 0) or 0)
    if record.get("status") != "running" or pid <= 1 or pid == os.getpid():
        return None
    return pid if _alive_as(pid, list(record.get("argv", []))) else None


def prepare(work: Path) -> Preparation:
    """Make ``work`` ready for a fresh run; raise ``WorkDirError`` (touching nothing) if it is not
    the demo's."""
    if work.exists() and not work.is_dir():
        raise WorkDirError(f"--work-dir {work} is a file", "pass a directory (or a new path)")
    work.mkdir(parents=True, exist_ok=True)
    entries = {p.name for p in work.iterdir()}
    record = _read_marker(work / MARKER) if MARKER in entries else None
    foreign = sorted(entries - DEMO_ENTRIES - {MARKER})
    if foreign:
        raise WorkDirError(
            f"--work-dir {work} holds files the demo did not write: {', '.join(foreign[:5])}"
            + (" …" if len(foreign) > 5 else ""),
            "pass an empty or new directory (the default is .mlops/demo); nothing was changed",
        )
    if record is not None and (owner := _running_owner(record)) is not None:
        raise WorkDirError(
            f"another demo is running in {work} (pid {owner})",
            f"stop it (Ctrl-C in its terminal, or `kill {owner}`) or pass another --work-dir",
        )
    if not entries:
        prep = Preparation("new", "new work directory: starting clean")
    elif record is None:
        prep = Preparation(
            "older-version",
            "work directory from an older version of the demo: removed, starting clean",
        )
    else:
        stopped = _stop_leftovers(record)
        if record.get("status") == "complete":
            found, what = "complete", f"previous run completed ({record.get('finished', '?')})"
        else:
            found = "interrupted"
            what = f"previous run was interrupted in phase '{record.get('phase', '?')}'"
            if record.get("reason"):
                what += f" ({record['reason']})"
        note = f"; stopped what it left running: {', '.join(stopped)}" if stopped else ""
        version = record.get("version")
        if version and version != __version__:
            what += f", written by version {version}"
        prep = Preparation(found, f"{what}{note}: removed, starting clean", stopped)
    for name in entries & (DEMO_ENTRIES | {MARKER}):
        target = work / name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        else:
            target.unlink()
    return prep


class RunRecord:
    """Writes ``.mlops-demo.json`` as the run goes: phase, status, the services it started."""

    def __init__(self, work: Path, argv: list[str] | None = None) -> None:
        self.path = work / MARKER
        self.data: dict[str, Any] = {
            "version": __version__,
            "pid": os.getpid(),
            "argv": argv if argv is not None else _own_argv(),
            "started": _now(),
            "status": "running",
            "phase": "",
            "children": [],
        }
        self._write()
        processes.on_child_started(self._child_started)

    def _write(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=2))
        tmp.replace(self.path)  # atomic: a SIGKILL never leaves half a record

    def _child_started(self, name: str, proc: subprocess.Popen[bytes], command: list[str]) -> None:
        self.data["children"].append({"name": name, "pid": proc.pid, "command": command})
        self._write()

    def phase(self, title: str) -> None:
        self.data["phase"] = title
        self._write()

    def finish(self, status: str, reason: str = "") -> None:
        processes.on_child_started(None)
        self.data.update(status=status, reason=reason, finished=_now(), children=[])
        self._write()


def _own_argv() -> list[str]:
    try:
        raw = Path(f"/proc/{os.getpid()}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw if part]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
