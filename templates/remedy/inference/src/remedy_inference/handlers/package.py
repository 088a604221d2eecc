"""What the workflow Lambdas are deployed with (``lambda-package OUT``, run by the deploy build).

* the function package (``OUT/function``): this repo's ``remedy_inference`` and ``remedy_core``
  (the same two packages as ``infra.lambda_code``);
* the dependency layer (``OUT/layer/python``, published by the program as the
  ``<usecase>-deps`` layer version): ``LAYER_REQUIREMENTS`` and what they require, installed from
  **manylinux wheels for the functions' architecture and runtime** (``infra.LAMBDA_ARCHITECTURE``,
  ``infra.LAMBDA_RUNTIME``) — ``pip install --platform manylinux2014_<arch> --platform
  manylinux_2_28_<arch> --only-binary=:all: --target`` (or ``uv pip install --python-platform``),
  never copied from the build machine, whose CPU and Python may differ (CodeBuild runs x86_64
  Python 3.11; the functions run arm64 Python 3.12). Versions are pinned to what is installed
  here (what the tests ran); in the deploy build, where ``MLOPS_LOCKED_REQUIREMENTS`` names the
  requirements file exported from ``uv.lock`` (``mlops.delivery.locked_install``), every wheel is
  installed ``--require-hashes`` against the digests the lock recorded. The platform library
  goes in as source without its own dependencies (Pulumi and friends are for infrastructure
  code, never imported by a handler);
  ``boto3``/``botocore`` come with the Lambda runtime and are left out.
* the model-health job's layer (``OUT/health-layer/python``, ``infra.HEALTH_LAYER_DIR``): DuckDB
  and pandas, the same way, minus what the dependency layer holds; only the scheduled health
  job's function carries it (next to the dependency layer).

Both are byte-compiled (``compileall``, unchecked-hash pycs) by the runtime's Python: the
building one when its version matches, else ``python3.N`` from PATH (CodeBuild images carry
several); Lambda's file system is read-only, so a package without ``__pycache__`` is compiled
from source again on every cold start (pycs of another Python version would only be dead weight,
so without a matching interpreter nothing is compiled and ``lambda-package`` says so).

``lambda-package OUT`` (``python -m remedy_inference.handlers.package OUT``) writes both, prints
their sizes and fails when they exceed Lambda's limits: 250 MB for the function and its layers
together unzipped, 50 MB for a zip uploaded directly (``PublishLayerVersion``/``CreateFunction``).
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

#: what the handlers import (directly or through remedy_core / the platform library)
LAYER_REQUIREMENTS: tuple[str, ...] = (
    "aws-lambda-powertools",
    "pydantic",
    "numpy",
    "httpx",
)
#: the scheduled model-health job's own layer (``OUT/health-layer/python``): DuckDB, pandas, sqlglot
#: without what the dependency layer already holds (numpy), so the decide path carries none of it
HEALTH_LAYER_REQUIREMENTS: tuple[str, ...] = ("duckdb", "pandas", "sqlglot")
PLATFORM_LIBRARY = "mlops-platform"
#: provided by the Lambda Python runtime
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer"})
#: names the hash-pinned requirements file (``uv export`` of the repo's lock) in the deploy build
LOCKED_REQUIREMENTS = "MLOPS_LOCKED_REQUIREMENTS"
#: Lambda architecture -> the machine name in manylinux platform tags
MACHINES = {"arm64": "aarch64", "x86_64": "x86_64"}
#: manylinux tags the Lambda Python runtimes (Amazon Linux 2023, glibc 2.34) load; numpy >= 2.3
#: publishes only manylinux_2_28 wheels for aarch64, most others manylinux2014 (= 2_17)
MANYLINUX = ("manylinux2014", "manylinux_2_28")
LIMIT_MB = 250.0
ZIP_LIMIT_MB = 50.0

_SKIP = frozenset({"__pycache__", "tests"})
#: in the installed wheels but never loaded by a handler: test suites, type stubs, and numpy's
#: build tools (f2py, distutils, the PyInstaller hook); about a quarter of the layer
PRUNE_DIRS = frozenset({"tests", "f2py", "distutils", "_pyinstaller"})
PRUNE_SUFFIXES = (".pyi",)


def prune(root: Path) -> None:
    """Drop what the serving path never imports from the installed dependencies under ``root``."""
    for path in sorted(root.rglob("*"), reverse=True):  # children before their directories
        if path.is_dir() and path.name in PRUNE_DIRS:
            shutil.rmtree(path, ignore_errors=True)
        elif path.is_file() and path.name.endswith(PRUNE_SUFFIXES):
            path.unlink()


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


def runtime_version(runtime: str) -> str:
    """``python3.12`` -> ``3.12`` (the Lambda runtime's Python)."""
    match = re.fullmatch(r"python(3\.\d+)", runtime)
    if not match:
        raise ValueError(f"runtime {runtime!r} is not a Lambda Python runtime (python3.N)")
    return match.group(1)


def pins(
    requirements: tuple[str, ...] = LAYER_REQUIREMENTS, without: tuple[str, ...] = ()
) -> list[str]:
    """``name==version`` for the layer's distributions, at the versions installed here, leaving
    out the closure of ``without`` (what another layer of the same function already holds)."""
    held = {_norm(d.metadata["Name"]) for d in closure(without)} if without else set()
    return [
        f"{d.metadata['Name']}=={d.version}"
        for d in closure(requirements)
        if _norm(d.metadata["Name"]) not in held
    ]


def hashed(requirements_file: Path, pinned: list[str]) -> list[str]:
    """The entries of a hash-pinned requirements file (``uv export`` format) for ``pinned``
    (``name==version``), each with its hashes; a pin the file lacks, or holds at another version or
    without a hash, is an error (the lock and what the tests ran disagree)."""
    entries = {}
    for line in requirements_file.read_text().replace("\\\n", " ").splitlines():
        line = " ".join(line.split(" #", 1)[0].split())
        if not line or line.startswith("#"):
            continue
        head = re.match(r"([A-Za-z0-9._-]+)==([^\s;]+)", line)
        if head:
            entries[_norm(head[1])] = (head[2], line)
    chosen = []
    for pin in pinned:
        name, _, version = pin.partition("==")
        found = entries.get(_norm(name))
        if found is None or found[0] != version or "--hash=sha256:" not in found[1]:
            raise RuntimeError(
                f"{pin} is not in {requirements_file} with a hash"
                + (f" (the lock has {found[0]})" if found else "")
                + ": re-run 'uv lock' and install the repo from its lock"
            )
        chosen.append(found[1])
    return chosen


def installer_command(
    target: Path,
    architecture: str,
    python_version: str,
    constraints: Path,
    cache_dir: Path | None = None,
    installer: str | None = None,
    requirements: tuple[str, ...] | list[str] = LAYER_REQUIREMENTS,
    no_deps: bool = False,
    require_hashes: bool = False,
) -> list[str]:
    """The pip (or uv) command that installs the layer's wheels for ``architecture``
    (``no_deps``: exactly ``requirements``, a pinned closure with another layer's part removed;
    ``require_hashes``: ``requirements`` is ``-r FILE`` of hashed entries, each checked)."""
    if architecture not in MACHINES:
        raise ValueError(f"architecture {architecture!r} must be one of {sorted(MACHINES)}")
    machine = MACHINES[architecture]
    installer = installer or ("uv" if shutil.which("uv") else "pip")
    if installer == "uv":
        cmd = ["uv", "pip", "install", "--quiet", "--target", str(target),
               "--python-platform", f"{machine}-manylinux_2_28", "--python-version",
               python_version, "--only-binary", ":all:", "-c", str(constraints)]  # fmt: skip
        if cache_dir is not None:
            cmd += ["--cache-dir", str(cache_dir)]
    else:
        abi = "cp" + python_version.replace(".", "")
        cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
               "--no-compile", "--target", str(target), "--implementation", "cp",
               "--python-version", python_version, "--abi", abi, "--only-binary=:all:",
               "-c", str(constraints)]  # fmt: skip
        for tag in MANYLINUX:
            cmd += ["--platform", f"{tag}_{machine}"]
        if cache_dir is not None:
            cmd += ["--cache-dir", str(cache_dir)]
    if no_deps:
        cmd.append("--no-deps")
    if require_hashes:
        cmd.append("--require-hashes")
    return [*cmd, *requirements]


def runtime_interpreter(python_version: str) -> str | None:
    """A Python of ``python_version`` (``3.12``) to byte-compile with: this one, or
    ``python3.12`` on PATH when it really is that version; None when there is none."""
    if python_version == _host_python():
        return sys.executable
    found = shutil.which(f"python{python_version}")
    if not found:
        return None
    probe = subprocess.run(  # noqa: S603 - an interpreter found on PATH, fixed arguments
        [found, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    return found if probe.returncode == 0 and probe.stdout.strip() == python_version else None


def _byte_compile(root: Path, python_version: str | None = None) -> bool:
    """Unchecked-hash pycs for ``python_version`` (default: this Python); False when no
    interpreter of that version is available (nothing is compiled then)."""
    version = python_version or _host_python()
    if version == _host_python():
        import compileall
        import py_compile

        mode = py_compile.PycInvalidationMode.UNCHECKED_HASH
        compileall.compile_dir(str(root), quiet=1, workers=1, invalidation_mode=mode)
        return True
    python = runtime_interpreter(version)
    if python is None:
        return False
    proc = subprocess.run(  # noqa: S603 - the runtime's interpreter, fixed arguments
        [python, "-m", "compileall", "-q", "-j", "1", "--invalidation-mode", "unchecked-hash",
         str(root)],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"byte-compiling {root} with {python} failed: {proc.stderr[-2000:]}")
    return True


def _copy_tree(src: Path, dest: Path) -> None:
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
                    dirs_exist_ok=True)  # fmt: skip


def _host_python() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def _defaults() -> tuple[str, str]:
    from remedy_inference import infra

    return infra.LAMBDA_ARCHITECTURE, infra.LAMBDA_RUNTIME


def build_layer(
    target: str | Path,
    architecture: str | None = None,
    runtime: str | None = None,
    *,
    cache_dir: str | Path | None = None,
    installer: str | None = None,
    byte_compile: bool = True,
    requirements: tuple[str, ...] = LAYER_REQUIREMENTS,
    without: tuple[str, ...] = (),
    platform_library: bool = True,
) -> Path:
    """Write the dependency layer under ``target/python`` (as Lambda unpacks it to /opt) from
    manylinux wheels for ``architecture`` and ``runtime`` (default: what the functions declare).

    ``requirements``/``without``: another layer (the health job's) holds the pinned closure of
    ``requirements`` minus that of ``without``, installed ``--no-deps``; ``platform_library``
    copies the platform library in (the dependency layer only)."""
    import mlops

    if architecture is None or runtime is None:
        arch_default, runtime_default = _defaults()
        architecture, runtime = architecture or arch_default, runtime or runtime_default
    python_version = runtime_version(runtime)
    root = Path(target) / "python"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as tmp:
        constraints = Path(tmp) / "constraints.txt"
        pinned = pins(requirements, without)
        constraints.write_text("\n".join(pinned) + "\n")
        if locked := os.environ.get(LOCKED_REQUIREMENTS):
            # the whole pinned closure, each wheel checked against the digest uv.lock recorded
            hashed_file = Path(tmp) / "hashed-requirements.txt"
            hashed_file.write_text("\n".join(hashed(Path(locked), pinned)) + "\n")
            wanted, no_deps, by_hash = ["-r", str(hashed_file)], True, True
        else:
            wanted, no_deps, by_hash = (pinned if without else requirements), bool(without), False
        cmd = installer_command(
            root, architecture, python_version, constraints,
            Path(cache_dir) if cache_dir else None, installer,
            requirements=wanted, no_deps=no_deps, require_hashes=by_hash,
        )  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=900)  # noqa: S603 (our argv)
    if proc.returncode != 0:
        raise RuntimeError(
            f"installing the layer's wheels for {architecture}/{runtime} failed "
            f"({' '.join(cmd[:3])}): {proc.stderr.strip()[-2000:]}"
        )
    for extra in ("bin", *RUNTIME_PROVIDED):  # console scripts; the runtime's own SDK
        shutil.rmtree(root / extra, ignore_errors=True)
    prune(root)
    if platform_library:  # without its dependencies (it may be an editable install)
        _copy_tree(Path(mlops.__file__).parent, root / "mlops")
    if byte_compile:
        _byte_compile(root, python_version)
    return root


def build_health_layer(
    target: str | Path,
    architecture: str | None = None,
    runtime: str | None = None,
    *,
    cache_dir: str | Path | None = None,
    installer: str | None = None,
    byte_compile: bool = True,
) -> Path:
    """The model-health job's layer (``target/python``): DuckDB and pandas for ``architecture``
    and ``runtime``, minus what the dependency layer holds (the job's function has both)."""
    return build_layer(
        target, architecture, runtime, cache_dir=cache_dir, installer=installer,
        byte_compile=byte_compile, requirements=HEALTH_LAYER_REQUIREMENTS,
        without=LAYER_REQUIREMENTS, platform_library=False,
    )  # fmt: skip


def build_function(
    target: str | Path, src_dir: str | Path | None = None, runtime: str | None = None
) -> Path:
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
    _byte_compile(root, runtime_version(runtime or _defaults()[1]))
    return root


def size_mb(path: str | Path) -> float:
    """Unpacked size of a directory tree in MB (what counts against Lambda's limit)."""
    total = sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())
    return total / 1e6


def zipped_mb(path: str | Path) -> float:
    """Size in MB of the tree zipped as Pulumi uploads it (deflate)."""
    root = Path(path)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "package.zip"
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for file in sorted(root.rglob("*")):
                if file.is_file():
                    zf.write(file, file.relative_to(root))
        return out.stat().st_size / 1e6


@dataclass(frozen=True)
class Sizes:
    """What counts against Lambda's limits, in MB."""

    function: float
    layer: float
    function_zipped: float
    layer_zipped: float
    health_layer: float = 0.0
    health_layer_zipped: float = 0.0

    @property
    def total(self) -> float:
        """The largest function's share: the health job has the function, both layers."""
        return self.function + self.layer + self.health_layer


def measure(function: Path, layer: Path, health_layer: Path | None = None) -> Sizes:
    health = (size_mb(health_layer), zipped_mb(health_layer)) if health_layer else (0.0, 0.0)
    return Sizes(size_mb(function), size_mb(layer), zipped_mb(function), zipped_mb(layer), *health)


def check_limits(sizes: Sizes) -> list[str]:
    """What exceeds Lambda's limits (empty when both packages fit)."""
    problems = []
    if sizes.total > LIMIT_MB:
        problems.append(f"function + layers unzipped {sizes.total:.1f} MB > {LIMIT_MB:.0f} MB")
    for label, zipped in (
        ("function", sizes.function_zipped),
        ("layer", sizes.layer_zipped),
        ("health layer", sizes.health_layer_zipped),
    ):
        if zipped > ZIP_LIMIT_MB:
            problems.append(f"{label} zipped {zipped:.1f} MB > {ZIP_LIMIT_MB:.0f} MB direct upload")
    return problems


def build(
    out: Path,
    architecture: str | None = None,
    runtime: str | None = None,
    cache_dir: Path | None = None,
) -> Sizes:
    """``out/function``, ``out/layer``, ``out/health-layer`` (the layer zips' roots), measured."""
    function = build_function(out / "function", runtime=runtime)
    layer = build_layer(out / "layer", architecture, runtime, cache_dir=cache_dir)
    health = build_health_layer(out / "health-layer", architecture, runtime, cache_dir=cache_dir)
    return measure(function, layer.parent, health.parent)


def main(argv: list[str] | None = None) -> Sizes:
    arch_default, runtime_default = _defaults()
    p = argparse.ArgumentParser(description="Build the Lambda function package and layer")
    p.add_argument("out", type=Path)
    p.add_argument("--architecture", default=arch_default, choices=sorted(MACHINES))
    p.add_argument("--runtime", default=runtime_default)
    p.add_argument("--cache-dir", type=Path, default=None)
    a = p.parse_args(argv)
    sizes = build(a.out, a.architecture, a.runtime, a.cache_dir)
    print(
        f"function {a.out / 'function'}: {sizes.function:.1f} MB unpacked, "
        f"{sizes.function_zipped:.1f} MB zipped"
    )
    print(
        f"layer    {a.out / 'layer'}: {sizes.layer:.1f} MB unpacked, "
        f"{sizes.layer_zipped:.1f} MB zipped ({a.architecture}, {a.runtime})"
    )
    print(
        f"health   {a.out / 'health-layer'}: {sizes.health_layer:.1f} MB unpacked, "
        f"{sizes.health_layer_zipped:.1f} MB zipped (the model-health job's function only)"
    )
    print(f"together {sizes.total:.1f} MB of Lambda's {LIMIT_MB:.0f} MB (largest function)")
    if not list((a.out / "function").rglob("*.pyc")):
        print(f"warning: no python{runtime_version(a.runtime)} here: the packages are not "
              "byte-compiled (every cold start compiles them from source)")  # fmt: skip
    problems = check_limits(sizes)
    if problems:
        sys.exit("error: over Lambda's limits: " + "; ".join(problems))
    return sizes


if __name__ == "__main__":
    main()
