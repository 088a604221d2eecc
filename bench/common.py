"""Shared helpers for `bench/bench_*.py` modules and the runner (`python -m bench`).

A benchmark module exposes ``run(quick: bool) -> list[dict]``; each row is made with :func:`row`:

    name      what was measured            e.g. "program build, 10 use cases"
    compared  what it is compared against  e.g. "vs 1 use case"
    value     the number                   e.g. 2.31
    unit      its unit                     e.g. "s", "ms", "req/s", "x"
    ratio     value / baseline value, or None for the baseline row itself

`quick=True` must finish in a few seconds (the test-suite runs it); `make bench` runs full size.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
REQUIRED_KEYS = ("name", "compared", "value", "unit", "ratio")


def row(
    name: str,
    compared: str,
    value: float,
    unit: str,
    ratio: float | None = None,
    note: str = "",
    target: str = "",
) -> dict[str, Any]:
    """One result row; `ratio` is value / baseline (None on the baseline row).

    ``target`` (``"<= 300"``, ``">= 8"``) is the goal for ``value``: the row then also says
    whether it was ``met``.
    """
    out: dict[str, Any] = {
        "name": name,
        "compared": compared,
        "value": float(value),
        "unit": unit,
        "ratio": None if ratio is None else float(ratio),
    }
    if note:
        out["note"] = note
    if target:
        out["target"] = target
        out["met"] = target_met(float(value), target)
    return out


def target_met(value: float, target: str) -> bool:
    """Whether ``value`` meets ``target`` (``"<= 300"``, ``">= 1.8"``, ``"< 1"``, ``"> 0"``)."""
    op, _, number = target.strip().partition(" ")
    try:
        goal = float(number.replace(",", ""))
    except ValueError:
        raise ValueError(f"target {target!r}: expected '<op> <number>', e.g. '<= 300'") from None
    checks = {"<=": value <= goal, ">=": value >= goal, "<": value < goal, ">": value > goal}
    if op not in checks:
        raise ValueError(f"target {target!r}: the operator must be one of {sorted(checks)}")
    return checks[op]


def check_rows(rows: Any) -> list[dict[str, Any]]:
    """Validate what a module returned; raises ValueError naming the problem."""
    if not isinstance(rows, list) or not rows:
        raise ValueError(f"run() must return a non-empty list of rows, got {type(rows).__name__}")
    for index, r in enumerate(rows):
        if not isinstance(r, dict):
            raise ValueError(f"row {index} is a {type(r).__name__}, not a dict")
        missing = [k for k in REQUIRED_KEYS if k not in r]
        if missing:
            raise ValueError(f"row {index} ({r.get('name', '?')}) lacks {', '.join(missing)}")
        if not isinstance(r["value"], int | float):
            raise ValueError(f"row {index} ({r['name']}): value must be a number")
    return rows


def timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """Median wall time (s) of `repeat` calls, and the last call's result."""
    times, result = [], None
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def timed_cpu(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, float, Any]:
    """Median wall time and median CPU time (s, all threads of this process) of `repeat` calls,
    and the last result. CPU time is robust to other work on the machine; wall time is not."""
    walls, cpus, result = [], [], None
    for _ in range(max(1, repeat)):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    return statistics.median(walls), statistics.median(cpus), result


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def machine() -> dict[str, Any]:
    """The machine a result was measured on, stored with every result file."""
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "memory_gb": _memory_gb(),
        "cpu_model": _cpu_model(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        # Other work on the machine inflates wall times: a 1-minute load above `cores` means the
        # numbers were measured under contention.
        "load_avg_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "load_avg": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
    }
