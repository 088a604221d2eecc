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
  ``boto3``/``botocore`` come with the Lambda runtime and are left out. Then what no handler can
  load is cut (``BUDGET_MB``, 60, for function + layer): of the platform library and Powertools
  only the modules in the handlers' import closure (``serving_closure``: every import statement
  reachable from the entry points, those inside functions included, found in the sources, so
  it works for wheels of another architecture); test suites, stubs, build tools and the listed
  unserved parts of numpy, pydantic, anyio and idna (``prune``, ``prune_unserved``). The
  shared objects are left as the wheels ship them: ``strip`` breaks the auditwheel-patched
  ones (numpy's OpenBLAS: "ELF load command address/offset not page-aligned"), and OpenBLAS
  itself (27 MB with libgfortran) is what numpy's wheels link ``_multiarray_umath`` against.
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
import ast
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
#: the size the workflow's functions aim to stay within (function + dependency layer, unpacked)
BUDGET_MB = 60.0
ZIP_LIMIT_MB = 50.0

_SKIP = frozenset({"__pycache__", "tests"})
#: in the installed wheels but never loaded by a handler: test suites, type stubs, and numpy's
#: build tools (f2py, distutils, the PyInstaller hook); about a quarter of the layer
PRUNE_DIRS = frozenset({"tests", "f2py", "distutils", "_pyinstaller"})
PRUNE_SUFFIXES = (".pyi",)

#: the top-level packages of the function package (their sources are where tracing starts)
FUNCTION_PACKAGES = ("remedy_inference", "remedy_core")
#: pure-Python packages the layer holds only the import closure of (``import_closure``: every
#: ``import`` the serving code can reach, inside functions and under ``TYPE_CHECKING`` too); the
#: platform library is copied from source, Powertools installed and cut down to what is reached
TRACED_PACKAGES = ("mlops", "aws_lambda_powertools")
#: (importer, imported prefix) edges ``import_closure`` does not follow, each unreachable from the
#: handlers: Powertools' ``pydantic_to_dict`` (all of ``event_handler`` and ``data_classes``, a
#: tenth of the layer) runs only for a pydantic model given to the Logger as the event
#: (``log_event``; Lambda events are decoded JSON) or to ``parameters.set_secret`` (not called)
UNFOLLOWED_IMPORTS = frozenset(
    {("aws_lambda_powertools.shared.functions", "aws_lambda_powertools.event_handler")}
)
#: installed as a dependency of a layer requirement, never imported on the serving path: removed
#: with its metadata after the (hash-checked) install
UNSERVED_DISTRIBUTIONS: dict[str, str] = {
    "anyio": "httpx requires it for its async client; the valuation client is synchronous and "
    "httpcore, the only importer on the sync path, imports it inside try/except ImportError",
}
#: files no serving path loads: idna's UTS 46 mapping table, read only by ``uts46=True`` encoding
#: (httpx, its only user here, encodes hostnames without it), and the ``RECORD`` of each
#: distribution (pip's uninstall manifest; nothing installs into a layer once it is published)
UNSERVED_FILES = ("idna/uts46data.py", "*.dist-info/RECORD")
#: under ``numpy/``: what ``import numpy`` never loads and only numpy's own test suite, C
#: extensions built against numpy, or the lazily loaded subpackages below use
NUMPY_UNSERVED = (
    "_core/include",  # C headers and
    "_core/lib",  # the static npymath library + pkg-config: for compiling against numpy
    "_core/_simd.*",  # the SIMD test module (numpy's test suite only)
    "_core/_multiarray_tests.*",
    "_core/_umath_tests.*",
    "_core/_rational_tests.*",
    "_core/_operand_flag_tests.*",
    "_core/_struct_ufunc_tests.*",
    "**/*.pxd",  # Cython declarations, the static libnpyrandom and examples: for extensions
    "random/lib",  # built against numpy (not shipped here)
    "random/_examples",
    "conftest.py",
    "doc",
    "testing",  # assert helpers for test suites; these subpackages load lazily
    "fft",  # (numpy.__getattr__) and no module in the function or either layer refers to them
    "polynomial",  # (ma, typing, ctypeslib stay: pandas, in the health job, imports them)
    "matlib.py",  # deprecated since numpy 1.19
    "lib/recfunctions.py",  # public, never imported by numpy itself
    "lib/user_array.py",
    "lib/_user_array_impl.py",
    "_configtool.py",  # the numpy-config console script's (console scripts are not shipped)
)
#: under ``pydantic/``: the v1 API (pydantic 2 imports it only to warn about v1 models given to v2
#: ones), the experimental API (imported by nothing in pydantic) and the mypy plugin
PYDANTIC_UNSERVED = ("v1", "experimental", "mypy.py")
#: modules not shipped that no module of the function package or the layers may refer to
#: (``import``, ``from``, or an attribute such as ``np.fft``); test_package checks
PRUNED_MODULES = (
    *(f"numpy.{name}" for name in ("testing", "fft", "polynomial", "f2py", "distutils",
                                   "matlib", "_configtool")),
    "numpy.lib.recfunctions", "numpy.lib.user_array", "numpy.lib._user_array_impl",
    "pydantic.v1", "pydantic.experimental",
)  # fmt: skip


def prune(root: Path) -> None:
    """Drop what the serving path never imports from the installed dependencies under ``root``."""
    for path in sorted(root.rglob("*"), reverse=True):  # children before their directories
        if path.is_dir() and path.name in PRUNE_DIRS:
            shutil.rmtree(path, ignore_errors=True)
        elif path.is_file() and path.name.endswith(PRUNE_SUFFIXES):
            path.unlink()


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def prune_unserved(root: Path, traced: dict[str, Path]) -> list[str]:
    """What the layer's handlers cannot load (beyond ``prune``), removed from ``root``: the
    unserved distributions, numpy's and pydantic's unserved parts, and every module of a traced
    installed package outside ``traced`` (the serving import closure: name -> file). Returns
    the removed paths relative to ``root``."""
    removed: list[Path] = []
    for name in UNSERVED_DISTRIBUTIONS:
        removed += [root / name, *root.glob(f"{name}-*.dist-info")]
    for rule in UNSERVED_FILES:
        removed += sorted(root.glob(rule))
    for package, rules in (("numpy", NUMPY_UNSERVED), ("pydantic", PYDANTIC_UNSERVED)):
        for rule in rules:
            removed += sorted((root / package).glob(rule))
    keep = {f.resolve() for f in traced.values()}
    for package in TRACED_PACKAGES:
        if (root / package).is_dir():
            removed += [p for p in sorted((root / package).rglob("*"))
                        if p.is_file() and p.resolve() not in keep]  # fmt: skip
    for path in removed:
        _remove(path)
    for package in TRACED_PACKAGES:  # directories left empty
        for path in sorted((root / package).rglob("*"), reverse=True):
            if path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    return sorted(str(p.relative_to(root)) for p in removed)


def _module_file(name: str, locations: dict[str, Path]) -> Path | None:
    """The source of module ``name`` under the directory holding its top-level package."""
    base = locations[name.split(".")[0]].joinpath(*name.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _imports(file: Path, name: str) -> set[str]:
    """Every absolute module name an import statement anywhere in ``file`` (module ``name``)
    may load, ``from a import b`` giving both ``a`` and ``a.b``; also ``import_module("a.b")``
    with a literal name."""
    tree = ast.parse(file.read_text(), str(file))
    package = name if file.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
    return found


def import_closure(
    roots: list[str] | tuple[str, ...], locations: dict[str, Path]
) -> dict[str, Path]:
    """The modules (name -> source file) of the top-level packages in ``locations`` (name -> the
    directory holding it) that ``roots`` can reach through import statements, followed
    transitively, parent packages included. Static, so it covers imports inside functions (run
    on the first event, not at import) and works for wheels of another architecture."""
    found: dict[str, Path] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if not name or name in found or name.split(".")[0] not in locations:
            continue
        file = _module_file(name, locations)
        if file is None:  # a name imported from a module, not a module
            continue
        found[name] = file
        parts = name.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]
        todo += sorted(i for i in _imports(file, name) if not _unfollowed(name, i))
    return found


def _unfollowed(importer: str, imported: str) -> bool:
    return any(importer == a and (imported == b or imported.startswith(b + "."))
               for a, b in UNFOLLOWED_IMPORTS)  # fmt: skip


def entry_modules() -> tuple[str, ...]:
    """The modules of the Lambda entry points the dependency layer serves (``infra.HANDLERS``, the
    workflow's, and ``infra.HEALTH_HANDLER``, the model-health job's), read from ``infra.py``'s
    source: importing it needs the rendered use case and Pulumi, which the bench has not."""
    import remedy_inference

    tree = ast.parse((Path(remedy_inference.__file__).parent / "infra.py").read_text())
    values = {
        target.id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name) and target.id in ("HANDLERS", "HEALTH_HANDLER")
    }
    handlers = (*values["HANDLERS"].values(), values["HEALTH_HANDLER"])
    return tuple(sorted({h.rpartition(".")[0] for h in handlers}))


def serving_closure(layer: Path | None = None) -> dict[str, Path]:
    """The serving import closure: the function package's modules the entry points reach, the
    platform library's (from its source) and, with ``layer``, those of the traced packages
    installed there."""
    import importlib

    import mlops

    locations = {name: Path(importlib.import_module(name).__file__).parents[1]
                 for name in FUNCTION_PACKAGES}  # fmt: skip
    locations["mlops"] = Path(mlops.__file__).parents[1]
    traced = import_closure(entry_modules(), locations)
    if layer is not None:
        installed = {p: layer for p in TRACED_PACKAGES if (layer / p).is_dir()}
        roots = sorted({i for n, f in traced.items() for i in _imports(f, n)
                        if i.split(".")[0] in installed})  # fmt: skip
        traced |= import_closure(roots, installed)
    return traced


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
    if platform_library:  # the modules the handlers reach, without dependencies (maybe editable)
        traced = serving_closure(root)
        prune_unserved(root, traced)
        for name, file in traced.items():
            if name.split(".")[0] == "mlops":
                dest = root.joinpath(*file.relative_to(Path(mlops.__file__).parents[1]).parts)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(file, dest)
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
