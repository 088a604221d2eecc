"""The Lambda packages as the deploy build makes them (``lambda-package``): the dependency layer
from manylinux wheels for the functions' architecture, under Lambda's size limits, and every
handler importable from nothing but the unpacked function and layer.

Downloads wheels from PyPI on the first run (the installer's cache keeps later runs offline and
short); CI has PyPI.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from remedy_inference import infra
from remedy_inference.handlers import package

pytestmark = pytest.mark.network

ELF_MACHINE = {"arm64": 183, "x86_64": 62}  # e_machine of EM_AARCH64, EM_X86_64
HOST_ARCH = {"aarch64": "arm64", "arm64": "arm64", "x86_64": "x86_64", "amd64": "x86_64"}


def _elf_machine(path: Path) -> int:
    head = path.read_bytes()[:20]
    assert head[:4] == b"\x7fELF", path
    return int.from_bytes(head[18:20], "little")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, package.Sizes]:
    """What the deploy build publishes: the layer for the functions' own architecture/runtime."""
    out = tmp_path_factory.mktemp("lambda")
    return out, package.main([str(out)])


@pytest.fixture(scope="module")
def declared(built) -> Path:
    return built[0]


@pytest.fixture(scope="module")
def host(tmp_path_factory) -> Path:
    """The same build for this machine's CPU and Python, so it can be imported here."""
    out = tmp_path_factory.mktemp("lambda-host")
    runtime = f"python{sys.version_info.major}.{sys.version_info.minor}"
    package.build_function(out / "function", runtime=runtime)
    arch = HOST_ARCH[platform.machine().lower()]
    package.build_layer(out / "layer", arch, runtime, byte_compile=False)  # import test only
    package.build_health_layer(out / "health-layer", arch, runtime, byte_compile=False)
    return out


def test_layer_holds_wheels_for_the_functions_architecture_and_runtime(declared):
    assert infra.LAMBDA_ARCHITECTURE in ("arm64", "x86_64")
    root = declared / "layer" / "python"
    binaries = sorted(root.rglob("*.so"))
    assert {p.relative_to(root).parts[0] for p in binaries} >= {"pydantic_core", "numpy"}
    py = package.runtime_version(infra.LAMBDA_RUNTIME).replace(".", "")
    for so in binaries:
        assert _elf_machine(so) == ELF_MACHINE[infra.LAMBDA_ARCHITECTURE], so
    core = next(root.glob("pydantic_core/_pydantic_core.*.so"))
    assert f"cpython-{py}-" in core.name, core.name
    for wheel in root.glob("*.dist-info/WHEEL"):
        tags = [t for t in wheel.read_text().splitlines() if t.startswith("Tag: ")]
        binary = [t for t in tags if not t.endswith("-none-any")]
        assert all("manylinux" in t for t in binary), (wheel, tags)
    names = {package._norm(p.name.split("-")[0]) for p in root.glob("*.dist-info")}
    assert {"aws-lambda-powertools", "pydantic", "pydantic-core", "numpy", "httpx"} <= names
    assert not names & {"boto3", "botocore", "pulumi", "pulumi-aws", "onnxruntime"}
    assert (root / "mlops" / "inference" / "valuation_client.py").is_file()


def test_health_layer_holds_duckdb_and_pandas_but_nothing_the_dependency_layer_has(declared):
    root = declared / "health-layer" / "python"
    names = {package._norm(p.name.split("-")[0]) for p in root.glob("*.dist-info")}
    assert {"duckdb", "pandas"} <= names, names
    deps = {package._norm(p.name.split("-")[0]) for p in (declared / "layer" / "python").glob(
        "*.dist-info")}  # fmt: skip
    assert not names & deps, names & deps
    assert not (root / "mlops").exists()
    for so in root.rglob("*.so"):
        assert _elf_machine(so) == ELF_MACHINE[infra.LAMBDA_ARCHITECTURE], so
    assert infra.HEALTH_LAYER_DIR.endswith("health-layer")


def test_function_and_layer_fit_lambdas_limits(built):
    out, sizes = built
    assert package.check_limits(sizes) == []
    assert sizes.total < package.LIMIT_MB and sizes.layer_zipped < package.ZIP_LIMIT_MB
    assert sizes.layer == pytest.approx(package.size_mb(out / "layer"))
    assert sizes.health_layer == pytest.approx(package.size_mb(out / "health-layer"))
    assert sizes.health_layer > 50  # DuckDB alone: the layer was really built
    assert sizes.health_layer_zipped < package.ZIP_LIMIT_MB


def test_a_package_over_the_limits_is_reported(built, monkeypatch):
    monkeypatch.setattr(package, "LIMIT_MB", 1.0)
    monkeypatch.setattr(package, "ZIP_LIMIT_MB", 1.0)
    problems = package.check_limits(built[1])
    assert any(p.startswith("function + layers unzipped") for p in problems), problems
    assert any(p.startswith("layer zipped") for p in problems), problems


def test_every_handler_imports_from_the_unpacked_function_and_layer_alone(host):
    dirs = [str(host / "function"), str(host / "layer" / "python")]
    handlers = sorted(infra.HANDLERS.values())
    code = (
        "import json, sys\n"
        f"sys.path[:0] = {dirs!r}\n"
        "import importlib, sysconfig\n"
        "stdlib = (sysconfig.get_paths()['stdlib'], sysconfig.get_paths()['platstdlib'])\n"
        f"for h in {handlers!r}:\n"
        "    mod, fn = h.rsplit('.', 1)\n"
        "    assert callable(getattr(importlib.import_module(mod), fn)), h\n"
        "import numpy, pydantic_core  # the binaries the steps use\n"
        "files = [getattr(m, '__file__', None) for m in list(sys.modules.values())]\n"
        "roots = tuple(sys.path[:2]) + stdlib\n"
        "print(json.dumps(sorted({f for f in files if f and not f.startswith(roots)})))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code],
        capture_output=True, text=True, timeout=120, check=False, cwd=host,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


def test_the_health_job_imports_from_the_function_and_both_layers_alone(host):
    dirs = [str(host / "function"), str(host / "layer" / "python"),
            str(host / "health-layer" / "python")]  # fmt: skip
    code = (
        "import sys\n"
        f"sys.path[:0] = {dirs!r}\n"
        "import importlib\n"
        f"mod, fn = {infra.HEALTH_HANDLER!r}.rsplit('.', 1)\n"
        "assert callable(getattr(importlib.import_module(mod), fn))\n"
        "from mlops.analytics.warehouse import Warehouse\n"
        "from remedy_core.events import REGISTRY\n"
        "with Warehouse(':memory:', events=REGISTRY) as wh:\n"
        "    pass\n"
        "import duckdb, pandas\n"
        "assert all(m.__file__.startswith(tuple(sys.path[:3])) for m in (duckdb, pandas))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code],
        capture_output=True, text=True, timeout=180, check=False, cwd=host,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_clean_interpreter_sees_no_site_packages(host):
    """The import test above proves something: without the layer the handlers do not import."""
    code = (
        f"import sys; sys.path[:0] = [{str(host / 'function')!r}]\n"
        "import remedy_inference.handlers.encode\n"
    )
    proc = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode != 0 and "ModuleNotFoundError" in proc.stderr, proc.stderr


EXPORTED = """# This file was autogenerated by uv via the following command:
#    uv export --locked --no-emit-project --format requirements-txt --no-dev
numpy==2.1.0 \\
    --hash=sha256:aa \\
    --hash=sha256:bb
    # via demo
httpx==0.28.1 ; python_full_version >= '3.11' \\
    --hash=sha256:cc
unhashed==1.0
"""


def test_layer_wheels_come_from_the_lock_with_their_hashes(tmp_path):
    exported = tmp_path / "requirements.txt"
    exported.write_text(EXPORTED)
    chosen = package.hashed(exported, ["numpy==2.1.0", "HTTPX==0.28.1"])
    assert chosen[0] == "numpy==2.1.0 --hash=sha256:aa --hash=sha256:bb"
    assert chosen[1].startswith("httpx==0.28.1 ; python_full_version") and "sha256:cc" in chosen[1]
    for bad, why in (("numpy==2.2.0", "the lock has 2.1.0"), ("absent==1", "absent==1"),
                     ("unhashed==1.0", "with a hash")):  # fmt: skip
        with pytest.raises(RuntimeError, match=why):
            package.hashed(exported, [bad])
    cmd = package.installer_command(
        tmp_path, "arm64", "3.12", exported, installer="uv",
        requirements=["-r", str(exported)], no_deps=True, require_hashes=True,
    )  # fmt: skip
    assert cmd[-3:] == ["--require-hashes", "-r", str(exported)] and "--no-deps" in cmd


def test_a_wheel_whose_hash_is_not_the_locked_one_is_refused(tmp_path, monkeypatch):
    """The deploy build's case: the layer installs the lock's digests; a different one fails."""
    pinned = package.pins()
    lines = [f"{pin} --hash=sha256:{'0' * 64}" for pin in pinned]
    exported = tmp_path / "requirements.txt"
    exported.write_text("\n".join(lines) + "\n")
    monkeypatch.setenv(package.LOCKED_REQUIREMENTS, str(exported))
    with pytest.raises(RuntimeError, match=r"(?i)hash"):
        package.build_layer(tmp_path / "layer", "arm64", infra.LAMBDA_RUNTIME, byte_compile=False)
