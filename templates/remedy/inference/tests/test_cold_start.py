"""Cold start: what a fresh interpreter loads for each serving entry point (no timings here:
speed is measured by the platform's ``make bench``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from remedy_inference.handlers import package

HEAVY = ("pandas", "pyarrow", "matplotlib", "plotly", "aws_xray_sdk", "onnxruntime", "onnx",
         "lightgbm", "sklearn", "boto3")  # fmt: skip
HANDLERS = [f"remedy_inference.handlers.{h}" for h in ("encode", "market", "decide")]


def _loaded(code: str, env: dict[str, str] | None = None) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), **(env or {})},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _probe(module: str, names: tuple[str, ...], then: str = "") -> str:
    return (
        f"import json, sys, {module}\n{then}\n"
        f"print(json.dumps(sorted(m for m in {names!r} if m in sys.modules)))"
    )


@pytest.mark.parametrize("module", HANDLERS)
def test_handlers_import_neither_numpy_nor_heavy_libraries(module):
    assert _loaded(_probe(module, (*HEAVY, "numpy"))) == []


def test_inference_script_imports_no_heavy_library():
    assert _loaded(_probe("remedy_inference.inference", HEAVY)) == []


def test_inference_script_builds_no_pydantic_model_until_claims_are_posted():
    assert _loaded(_probe("remedy_inference.inference", ("pydantic",))) == []
    body = json.dumps({"claims": [json.loads(_claim_json())]})
    then = f"remedy_inference.inference.input_fn({body!r})"
    assert _loaded(_probe("remedy_inference.inference", ("pydantic",), then)) == ["pydantic"]


def _claim_json() -> str:
    from factories import claim

    return claim().model_dump_json()


def test_loading_a_native_bundle_needs_no_onnxruntime(bundle_dir):
    load = f"m = remedy_inference.inference.model_fn({str(bundle_dir)!r})"
    code = _probe(
        "remedy_inference.inference",
        ("onnxruntime", "onnx", "lightgbm"),
        f"{load}; assert m.backend == 'native'",
    )
    assert _loaded(code) == []


def _encode_call(env: dict[str, str]) -> list[str]:
    from factories import claim

    event = json.dumps({"request": json.loads(claim().model_dump_json())})
    then = (
        "from types import SimpleNamespace as S\n"
        "ctx = S(function_name='f', memory_limit_in_mb=512, aws_request_id='r',\n"
        "        invoked_function_arn='arn:aws:lambda:eu-west-2:123456789012:function:f')\n"
        f"out = remedy_inference.handlers.encode.handler(json.loads({event!r}), ctx)\n"
        "assert out['valid'], out"
    )
    return _loaded(_probe("remedy_inference.handlers.encode", ("aws_xray_sdk",), then), env)


def test_xray_sdk_is_loaded_only_when_asked_for():
    assert _encode_call({"REMEDY_XRAY_SDK": ""}) == []
    assert _encode_call({"REMEDY_XRAY_SDK": "1", "POWERTOOLS_TRACE_DISABLED": "1"}) == [
        "aws_xray_sdk"
    ]


def test_layer_holds_the_handlers_dependencies_and_not_the_infrastructure_ones():
    names = {package._norm(d.metadata["Name"]) for d in package.closure()}
    assert {"aws-lambda-powertools", "pydantic", "pydantic-core", "numpy", "httpx"} <= names
    assert not names & {"boto3", "botocore", "pulumi", "pulumi-aws", "pandas", "onnxruntime"}


def test_function_package_is_byte_compiled_for_the_runtime_python(tmp_path):
    here = f"python{sys.version_info.major}.{sys.version_info.minor}"
    root = package.build_function(tmp_path / "function", runtime=here)
    assert (root / "remedy_inference" / "handlers" / "decide.py").is_file()
    assert (root / "remedy_core" / "forest.py").is_file()
    assert list((root / "remedy_core" / "__pycache__").glob("decision.*.pyc"))
    assert package.size_mb(root) < 5
    other = package.build_function(tmp_path / "other", runtime="python3.99")
    assert not list(other.rglob("*.pyc"))  # another Python's pycs would be dead weight


def test_layer_pruning_drops_tests_stubs_and_build_tools_only(tmp_path):
    kept = ["anyio/_backends/_asyncio.py", "numpy/__init__.py", "numpy/_core/multiarray.py",
            "pydantic/main.py", "pydantic/py.typed"]  # fmt: skip
    dropped = ["numpy/_core/tests/test_a.py", "numpy/f2py/__init__.py", "numpy/distutils/core.py",
               "numpy/__init__.pyi"]  # fmt: skip
    for rel in kept + dropped:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("")
    package.prune(tmp_path)
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert left == kept


def test_packages_are_byte_compiled_by_the_runtimes_own_python_when_it_is_here(tmp_path):
    """The deploy build runs on another Python than the functions (CodeBuild 3.11, Lambda
    3.12): their pycs come from a python3.N on PATH, or none are written."""
    other = "3.12" if package._host_python() != "3.12" else "3.11"
    python = package.runtime_interpreter(other)
    root = package.build_function(tmp_path / "function", runtime=f"python{other}")
    pycs = list((root / "remedy_core" / "__pycache__").glob("*.pyc"))
    if python is None:  # no such interpreter here: nothing compiled (nothing stale either)
        assert pycs == []
    else:
        assert pycs and all(f"cpython-{other.replace('.', '')}" in p.name for p in pycs), pycs
    assert package.runtime_interpreter("3.99") is None
