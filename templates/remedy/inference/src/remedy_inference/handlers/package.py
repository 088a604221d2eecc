"""What the workflow Lambdas are deployed with, built from the installed environment.

* the function package: this repo's ``remedy_inference`` and ``remedy_core`` (``infra.lambda_code``)
* the dependency layer (``lambdaLayerArns``, built by CI): ``LAYER_REQUIREMENTS`` and everything
  they require, copied file by file from their installed distributions (what
  ``pip install --target`` would write, at the locked versions) under ``python/``.
  The platform library goes in without its own dependencies (Pulumi and friends are for
  infrastructure code, never imported by a handler). ``boto3``/``botocore`` come with the
  Lambda runtime and are left out.

Both are byte-compiled (``compileall``, unchecked-hash pycs): Lambda's file system is read-only,
so a package without ``__pycache__`` is compiled from source again on every cold start.

``python -m remedy_inference.handlers.package OUT`` writes ``OUT/function`` and
``OUT/layer/python`` and prints the unpacked size of each (Lambda's limit: 250 MB for the
function and its layers together, unzipped).
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import re
import shutil
from pathlib import Path

#: what the handlers import (directly or through remedy_core / the platform library)
LAYER_REQUIREMENTS: tuple[str, ...] = (
    "aws-lambda-powertools",
    "pydantic",
    "numpy",
    "httpx",
)
PLATFORM_LIBRARY = "mlops-platform"
#: provided by the Lambda Python runtime
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer"})
LIMIT_MB = 250.0

_SKIP = frozenset({"__pycache__", "tests"})


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requires(dist: md.Distribution) -> list[str]:
    """Names of the distributions ``dist`` needs (no extras, markers evaluated here)."""
    from packaging.requirements import Requirement

    out = []
    for spec in dist.requires or []:
        req = Requirement(spec)
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        out.append(req.name)
    return out


def closure(requirements: tuple[str, ...] = LAYER_REQUIREMENTS) -> list[md.Distribution]:
    """The installed distributions the layer holds, dependencies included."""
    seen: dict[str, md.Distribution] = {}
    todo = list(requirements)
    while todo:
        name = _norm(todo.pop())
        if name in seen or name in RUNTIME_PROVIDED:
            continue
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError as exc:
            raise RuntimeError(f"{name} is not installed: install this repo first") from exc
        seen[name] = dist
        todo.extend(_requires(dist))
    return sorted(seen.values(), key=lambda d: _norm(d.metadata["Name"]))


def _copy_distribution(dist: md.Distribution, target: Path) -> None:
    for file in dist.files or []:
        parts = Path(str(file)).parts
        if not parts or parts[0] == ".." or _SKIP.intersection(parts) or file.suffix == ".pyc":
            continue  # console scripts, caches and a package's own test suite stay out
        src = Path(str(dist.locate_file(file)))
        if src.is_file():
            dest = target / file
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest)


def _byte_compile(root: Path) -> None:
    import compileall
    import py_compile

    mode = py_compile.PycInvalidationMode.UNCHECKED_HASH
    compileall.compile_dir(str(root), quiet=1, workers=1, invalidation_mode=mode)


def _copy_tree(src: Path, dest: Path) -> None:
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
                    dirs_exist_ok=True)  # fmt: skip


def build_layer(target: str | Path) -> Path:
    """Write the dependency layer under ``target/python`` (as Lambda unpacks it to /opt)."""
    import mlops

    root = Path(target) / "python"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    for dist in closure():
        _copy_distribution(dist, root)
    # the platform library without its dependencies (it may be an editable install)
    _copy_tree(Path(mlops.__file__).parent, root / "mlops")
    _byte_compile(root)
    return root


def build_function(target: str | Path, src_dir: str | Path | None = None) -> Path:
    """Write the function package (the same two packages as ``infra.lambda_code``)."""
    import remedy_core
    import remedy_inference

    root = Path(target)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    for package in (remedy_inference, remedy_core):
        src = (
            Path(src_dir) / package.__name__ if src_dir else Path(package.__file__).parent
        )  # fmt: skip
        _copy_tree(src, root / package.__name__)
    _byte_compile(root)
    return root


def size_mb(path: str | Path) -> float:
    """Unpacked size of a directory tree in MB (what counts against Lambda's limit)."""
    total = sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())
    return total / 1e6


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Build the Lambda function package and layer")
    p.add_argument("out", type=Path)
    a = p.parse_args(argv)
    function = build_function(a.out / "function")
    layer = build_layer(a.out / "layer")
    f, lay = size_mb(function), size_mb(layer)
    print(f"function {function}: {f:.1f} MB unpacked")
    print(f"layer    {layer}: {lay:.1f} MB unpacked ({len(closure())} distributions + mlops)")
    print(f"together {f + lay:.1f} MB of Lambda's {LIMIT_MB:.0f} MB")


if __name__ == "__main__":
    main()
