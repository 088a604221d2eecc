"""Compile step: the bundle's one native module (``remedy_core.forest``), cached by model id.

    python -m remedy_training.compile MODEL_DIR [--cache-dir DIR] [--no-cache]

Runs right after ``export_bundle`` (``train.py`` in each training job, ``run_local`` after the
refit), so the module ships inside ``model.tar.gz`` with the ONNX graph and the boosters; the
endpoint loads it and falls back to ONNX when it cannot. Compiling all 33 heads (10,800 trees)
takes seconds, not the minutes of per-model code generation. The result is cached under
``<cache>/<model id>-<compiler>-<platform>/`` (``REMEDY_COMPILE_CACHE``, default
``~/.cache/remedy/forest``): the same boosters compiled by the same compiler are never compiled
twice (re-runs, evaluation, benchmarks). Without a C compiler the step reports why and the
bundle stays ONNX-only (``required=False``) or fails (``required=True``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from remedy_core.forest import (
    CFLAGS,
    COMPILED_DIR,
    LAYOUT,
    LIBRARY,
    ForestError,
    booster_texts,
    compile_forest,
    compiler,
    model_id,
)

CACHE_ENV = "REMEDY_COMPILE_CACHE"


@dataclass(frozen=True)
class CompileResult:
    model_id: str
    seconds: float
    cached: bool
    layout: dict | None
    skipped: str = ""  # why no module was built (no compiler)

    def summary(self) -> dict:
        phases = (self.layout or {}).get("seconds", {})
        return {"model_id": self.model_id, "seconds": round(self.seconds, 3),
                "cached": self.cached, "compile_seconds": phases.get("total"),
                "skipped": self.skipped or None}  # fmt: skip


def default_cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "remedy" / "forest")


def cache_key(mid: str, cc_version: str) -> str:
    tool = hashlib.sha256(f"{cc_version}|{' '.join(CFLAGS)}".encode()).hexdigest()[:8]
    return f"{mid}-{tool}-{platform.system()}-{platform.machine()}".lower()


def compile_model(
    model_dir: str | Path,
    *,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    cc: str | None = None,
    required: bool = False,
) -> CompileResult:
    """Put ``compiled/remedy_forest.so`` + ``forest.json`` into the bundle directory."""
    started = time.perf_counter()
    model_dir = Path(model_dir)
    mid = model_id(booster_texts(model_dir))
    try:
        cc_path, cc_version = compiler(cc)
    except ForestError as exc:
        if required:
            raise
        return CompileResult(mid, time.perf_counter() - started, False, None, skipped=str(exc))
    out = model_dir / COMPILED_DIR
    cached = None
    if use_cache:
        cached = Path(cache_dir or default_cache_dir()) / cache_key(mid, cc_version)
        if (cached / LIBRARY).is_file() and (cached / LAYOUT).is_file():
            out.mkdir(parents=True, exist_ok=True)
            for name in (LIBRARY, LAYOUT):
                shutil.copy2(cached / name, out / name)
            layout = json.loads((out / LAYOUT).read_text())
            return CompileResult(mid, time.perf_counter() - started, True, layout)
    layout = compile_forest(model_dir, out, cc=cc_path)
    if cached is not None:
        try:
            cached.mkdir(parents=True, exist_ok=True)
            for name in (LIBRARY, LAYOUT):
                shutil.copy2(out / name, cached / name)
        except OSError:
            pass  # a read-only or full cache only costs a compile next time
    return CompileResult(mid, time.perf_counter() - started, False, layout)


def main(argv: list[str] | None = None) -> CompileResult:
    p = argparse.ArgumentParser(description="Compile a Remedy bundle's heads into one module")
    p.add_argument("model_dir", type=Path)
    p.add_argument("--cache-dir", type=Path, default=None)
    p.add_argument("--no-cache", action="store_true")
    a = p.parse_args(argv)
    res = compile_model(a.model_dir, cache_dir=a.cache_dir, use_cache=not a.no_cache,
                        required=True)  # fmt: skip
    layout = res.layout or {}
    print(
        f"{a.model_dir / COMPILED_DIR / LIBRARY}: {layout.get('trees')} trees of "
        f"{len(layout.get('slots', []))} heads, model {res.model_id}, "
        + ("from cache" if res.cached else f"compiled in {res.seconds:.1f} s")
    )
    return res


if __name__ == "__main__":
    main()
