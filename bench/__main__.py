"""`python -m bench` (`make bench`): run every `bench/bench_*.py`, print one table, save results.

Each module's ``run(quick)`` rows go to ``bench/results/<name>.json`` (``<name>.quick.json``
for ``--quick``) with the machine's description. A module that raises (or returns malformed
rows) is reported in the table and in its result file, the others still run, and the command
exits 1 at the end.

    python -m bench                 # full size
    python -m bench --quick         # small sizes (seconds)
    python -m bench --only program  # just bench_program.py
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from bench.common import BENCH_DIR, RESULTS_DIR, check_rows, machine


@dataclass
class ModuleResult:
    name: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""
    traceback: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.error


def discover(directory: Path = BENCH_DIR) -> list[Path]:
    return sorted(directory.glob("bench_*.py"))


def _load(path: Path) -> ModuleType:
    name = f"bench.{path.stem}" if path.parent == BENCH_DIR else f"_bench_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def run_module(path: Path, quick: bool) -> ModuleResult:
    result = ModuleResult(path.stem.removeprefix("bench_"))
    start = time.perf_counter()
    try:
        module = _load(path)
        if not callable(getattr(module, "run", None)):
            raise TypeError(f"{path.name} has no run(quick) function")
        result.rows = check_rows(module.run(quick))
    except Exception as exc:  # a failing benchmark is reported, never fatal to the others
        result.error = f"{type(exc).__name__}: {exc}"
        result.rows = []
        result.traceback = traceback.format_exc()
    result.seconds = time.perf_counter() - start
    return result


def write_result(result: ModuleResult, quick: bool, results_dir: Path = RESULTS_DIR) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    # Smoke runs never overwrite the full-size results that are committed as evidence.
    path = results_dir / f"{result.name}{'.quick' if quick else ''}.json"
    doc = {
        "benchmark": result.name,
        "quick": quick,
        "ok": result.ok,
        "error": result.error or None,
        "seconds": round(result.seconds, 3),
        "machine": machine(),
        "rows": result.rows,
    }
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return path


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.3g}" if abs(value) < 10 else f"{value:,.1f}"


def render(results: Sequence[ModuleResult], console, quick: bool) -> None:
    from rich.table import Table

    info = machine()
    table = Table(
        title=f"make bench{' --quick' if quick else ''}: {info['cores']} cores, "
        f"{info['memory_gb']} GB, {info['cpu_model']}, Python {info['python']}, "
        f"load average {' / '.join(map(str, info.get('load_avg') or ['?']))} (1/5/15 min)"
    )
    for col, justify in (("benchmark", "left"), ("measured", "left"), ("compared", "left"),
                         ("value", "right"), ("unit", "left"), ("ratio", "right"),
                         ("target", "left"), ("met", "left"), ("note", "left")):  # fmt: skip
        table.add_column(col, justify=justify, overflow="fold")
    for res in results:
        if not res.ok:
            table.add_row(res.name, "[red]FAILED[/]", res.error, "", "", "", "", "", "",
                          end_section=True)  # fmt: skip
            continue
        for index, r in enumerate(res.rows):
            met = "" if "met" not in r else ("yes" if r["met"] else "[red]NOT MET[/]")
            table.add_row(
                res.name if index == 0 else "", str(r["name"]), str(r["compared"]),
                _fmt(r["value"]), str(r["unit"]),
                "-" if r["ratio"] is None else f"{r['ratio']:.2f}x",
                str(r.get("target", "")), met, str(r.get("note", "")),
                end_section=index == len(res.rows) - 1,
            )  # fmt: skip
    console.print(table)
    load, cores = info.get("load_avg_1m"), info.get("cores") or 1
    if load is not None and load > cores:
        console.print(f"warning: load average {load} > {cores} cores: other work was running; "
                      "wall times are inflated", markup=False)  # fmt: skip


def main(argv: Sequence[str] | None = None, directory: Path = BENCH_DIR,
         results_dir: Path = RESULTS_DIR, console=None) -> int:  # fmt: skip
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--only", default="", help="comma-separated names (bench_<name>.py)")
    args = parser.parse_args(argv)
    if console is None:
        from rich.console import Console

        console = Console() if sys.stdout.isatty() else Console(width=180)
    wanted = {n.strip() for n in args.only.split(",") if n.strip()}
    paths = [p for p in discover(directory)
             if not wanted or p.stem.removeprefix("bench_") in wanted]  # fmt: skip
    if not paths:
        console.print(f"no benchmarks found ({directory}/bench_*.py, --only {args.only!r})")
        return 1
    results = []
    for path in paths:
        console.print(f"running {path.name} ...", markup=False)
        result = run_module(path, args.quick)
        write_result(result, args.quick, results_dir)
        results.append(result)
    render(results, console, args.quick)
    failed = [r.name for r in results if not r.ok]
    if failed:
        console.print(f"FAILED: {', '.join(failed)} (see bench/results/<name>.json)", markup=False)
        for r in results:
            if not r.ok:
                console.print(r.traceback, markup=False)
        return 1
    console.print(f"results written to {results_dir}", markup=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
