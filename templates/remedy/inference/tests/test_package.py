"""The Lambda packages as the deploy build makes them (``lambda-package``): the dependency layer
from manylinux wheels for the functions' architecture, under Lambda's size limits, and every
handler importable from nothing but the unpacked function and layer.

Downloads wheels from PyPI on the first run (the installer's cache keeps later runs offline and
short); CI has PyPI.
"""

from __future__ import annotations

import ast
import json
import platform
import subprocess
import sys
import sysconfig
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


#: what the Lambda Python runtime brings besides the standard library (boto3 and its closure)
RUNTIME_MODULES = ("boto3", "botocore", "s3transfer", "urllib3", "dateutil", "six")


def _clean(dirs: list[Path], code: str, env: dict[str, str] | None = None, runtime=False):
    """``code`` in an interpreter that sees the standard library and ``dirs`` only (``runtime``:
    and the runtime-provided SDK, taken from this environment)."""
    site = str(Path(__import__("botocore").__file__).parents[1])
    finder = (
        "import importlib.machinery as _m\n"
        "class _Runtime:  # the Lambda runtime's SDK, nothing else from site-packages\n"
        "    @staticmethod\n"
        "    def find_spec(name, path=None, target=None):\n"
        f"        if path is None and name.split('.')[0] in {RUNTIME_MODULES!r}:\n"
        f"            return _m.PathFinder.find_spec(name, [{site!r}])\n"
        "sys.meta_path.append(_Runtime)\n"
    )
    head = f"import json, sys\nsys.path[:0] = {[str(d) for d in dirs]!r}\n"
    proc = subprocess.run(
        [sys.executable, "-I", "-S", "-c", head + (finder if runtime else "") + code],
        capture_output=True, text=True, timeout=180, check=False,
        env={"PATH": "/usr/bin:/bin", **(env or {})},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _workflow_code(claim_json: str) -> str:
    """encode -> market -> decide through the handlers, as the Step Functions workflow runs them
    (no model endpoint: the decision is MODEL_NOT_DEPLOYED's investigate)."""
    return (
        "from types import SimpleNamespace as S\n"
        "ctx = S(function_name='f', memory_limit_in_mb=512, aws_request_id='r',\n"
        "        invoked_function_arn='arn:aws:lambda:eu-west-2:123456789012:function:f')\n"
        "from remedy_inference.handlers import decide, encode, market\n"
        "state = encode.handler(dict(request=json.loads(" + repr(claim_json) + ")), ctx)\n"
        "assert state['valid'], state\n"
        "evidence = market.handler({'valuation_request': state['valuation_request']}, ctx)\n"
        "predict = {'error': 'MODEL_NOT_DEPLOYED', 'detail': 'no endpoint'}\n"
        "out = decide.handler({'request': state['request'], 'enrichment': [predict, evidence]},\n"
        "                     ctx)\n"
        "files = {getattr(m, '__file__', None) or '' for m in list(sys.modules.values())}\n"
        "outside = sorted(files - {''})\n"
        "print(json.dumps({'evidence': sorted(evidence), 'recommendation': out['recommendation'],\n"
        "                  'loaded': sorted({m.split('.')[0] for m in sys.modules}),\n"
        "                  'files': outside}))\n"
    )


@pytest.mark.parametrize("market", ["synthetic", "valuation-api"])
def test_the_workflow_runs_on_the_unpacked_function_and_layer_alone(host, market):
    """Not only the imports: the first event runs what the handlers import lazily (numpy and
    its random generator for the synthetic market, httpx for the valuation API)."""
    from factories import claim

    env = {"REMEDY_STAGE": "dev", "REMEDY_PSEUDONYMISATION_KEY": "k" * 32}
    if market == "valuation-api":  # nothing listens there: the client's error path, offline
        env |= {"REMEDY_VALUATION_URL": "http://127.0.0.1:9", "REMEDY_VALUATION_KEY": "x",
                "REMEDY_VALUATION_TIMEOUT_S": "0.2"}  # fmt: skip
    dirs = [host / "function", host / "layer" / "python"]
    got = _clean(dirs, _workflow_code(claim().model_dump_json()), env, runtime=True)
    assert got["evidence"] == (["detail", "error"] if market != "synthetic" else ["evidence"])
    assert got["recommendation"] == "investigate"
    assert {"numpy", "pydantic_core"} <= set(got["loaded"])
    if market == "valuation-api":
        assert {"httpx", "httpcore", "h11"} <= set(got["loaded"]) and "anyio" not in got["loaded"]
    stdlib = sysconfig.get_paths()["stdlib"]
    roots = (*map(str, dirs), stdlib)
    assert [f for f in got["files"] if not f.startswith(roots) and "botocore" not in f] == []


def test_the_layer_holds_the_platform_modules_the_handlers_reach_and_no_other(host):
    layer = host / "layer" / "python"
    traced = package.serving_closure(layer)
    shipped = {".".join(p.relative_to(layer).with_suffix("").parts).removesuffix(".__init__")
               for p in (layer / "mlops").rglob("*.py")}  # fmt: skip
    assert shipped == {n for n in traced if n.split(".")[0] == "mlops"}
    assert {"mlops.inference.valuation_client", "mlops.events", "mlops.analytics.drift"} <= shipped
    assert not (layer / "mlops" / "components").exists()  # Pulumi code: never served
    powertools = layer / "aws_lambda_powertools"
    assert (powertools / "logging" / "logger.py").is_file()
    assert (powertools / "utilities" / "parameters" / "secrets.py").is_file()
    for cut in ("event_handler", "utilities/parser", "utilities/idempotency", "utilities/batch"):
        assert not (powertools / cut).exists(), cut
    assert not list(layer.glob("anyio*")) and not (layer / "numpy" / "fft").exists()


def test_every_module_the_layer_holds_of_the_traced_packages_imports_from_it_alone(host):
    """Also those the handlers import on an event only (the closure follows imports inside
    functions), with the health layer for the job's analytics modules."""
    layer = host / "layer" / "python"
    files = [p for top in package.TRACED_PACKAGES for p in (layer / top).rglob("*.py")]
    names = sorted(".".join(p.relative_to(layer).with_suffix("").parts).removesuffix(".__init__")
                   for p in files)  # fmt: skip
    assert len(names) > 50
    dirs = [host / "function", layer, host / "health-layer" / "python"]
    code = (
        "import importlib\n"
        f"failed = dict()\nfor name in {names!r}:\n"
        "    try:\n        importlib.import_module(name)\n"
        "    except Exception as exc:\n        failed[name] = repr(exc)\n"
        "print(json.dumps(failed))\n"
    )
    assert _clean(dirs, code, {"AWS_DEFAULT_REGION": "eu-west-2"}, runtime=True) == {}


def _refers_to(tree: ast.AST, module: str) -> bool:
    """An import of ``module`` (or from it), or an attribute chain such as ``np.fft``."""
    head, _, tail = module.rpartition(".")
    aliases = {head.split(".")[-1], "np"} if head == "numpy" else {head.split(".")[-1]}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(
            a.name == module or a.name.startswith(module + ".") for a in node.names
        ):
            return True
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == module or node.module.startswith(module + "."):
                return True
            if node.module == head and any(a.name == tail for a in node.names):
                return True
        if (isinstance(node, ast.Attribute) and node.attr == tail
                and isinstance(node.value, ast.Name) and node.value.id in aliases
                and "." not in head):  # fmt: skip
            return True
    return False


def test_nothing_shipped_refers_to_what_the_layer_leaves_out(host):
    """The pruned parts of numpy and pydantic: no module of the function package or of either
    layer (but the pruned package's own) imports them or uses them as ``np.fft``."""
    roots = [host / "function", host / "layer" / "python", host / "health-layer" / "python"]
    offenders = []
    for root in roots:
        for path in root.rglob("*.py"):
            rel = path.relative_to(root)
            if rel.parts[0] in ("numpy", "pydantic") or "tests" in rel.parts:
                continue
            try:
                tree = ast.parse(path.read_bytes())
            except SyntaxError:
                continue
            offenders += [f"{rel}: {m}" for m in package.PRUNED_MODULES if _refers_to(tree, m)]
    assert offenders == []
    for file in package.serving_closure().values():  # what UNFOLLOWED_IMPORTS relies on:
        text = file.read_text()  # no pydantic model logged as the event or stored as a secret
        assert "set_secret(" not in text and "log_event=True" not in text, file


def test_import_closure_follows_imports_inside_functions_and_relative_ones(tmp_path):
    files = {
        "app/__init__.py": "",
        "app/main.py": "from . import helpers\ndef f():\n    from lib.lazy import x\n",
        "app/helpers.py": "import json\nimport lib.eager\n",
        "lib/__init__.py": "",
        "lib/eager.py": "",
        "lib/lazy.py": "from .deep import y\n",
        "lib/deep.py": "",
        "lib/unused.py": "",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    found = package.import_closure(["app.main"], {"app": tmp_path, "lib": tmp_path})
    assert sorted(found) == ["app", "app.helpers", "app.main", "lib", "lib.deep", "lib.eager",
                             "lib.lazy"]  # fmt: skip
    assert found["lib.deep"] == tmp_path / "lib" / "deep.py"


def test_function_and_layer_fit_the_size_budget(built, tmp_path):
    """What the workflow's functions hold unpacked (the deploy build's architecture), counted
    with pycs: compiled here when no Python of the runtime's version was there to do it."""
    out = built[0]
    function, layer = out / "function", out / "layer"
    if not list(layer.rglob("*.pyc")):
        import shutil

        function, layer = tmp_path / "function", tmp_path / "layer"
        shutil.copytree(out / "function", function)
        shutil.copytree(out / "layer", layer)
        package._byte_compile(function)
        package._byte_compile(layer)
    total = package.size_mb(function) + package.size_mb(layer)
    assert total <= package.BUDGET_MB, f"{total:.1f} MB > {package.BUDGET_MB} MB"


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
