"""`mlops demo` and `mlops serve` live with the local demo (mlops/local/cli.py), the user-facing
CLI unchanged; the platform's own modules name no use case's domain."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlops.cli import app
from mlops.local.demo import DemoSummary

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = re.compile(r"claim|vehicle|salvage|write.?off", re.IGNORECASE)
#: the platform modules made generic (the rest of mlops/ outside mlops/local: others')
GENERIC = (
    "mlops/cli.py", "mlops/backtest.py", "mlops/sagemaker_pipelines.py",
    "mlops/inference/workflow.py", "mlops/inference/serving_docs.py",
    "mlops/inference/fallback.py", "mlops/components/serving.py",
    "mlops/components/serving_api.py",
)  # fmt: skip


@pytest.fixture
def calls(monkeypatch):
    seen: list = []

    def run_demo(opts, console, on_ready=None):
        seen.append(opts)
        summary = DemoSummary(opts.work_dir, api_url="http://127.0.0.1:9")
        if on_ready is not None:
            monkeypatch.setattr(threading.Event, "wait", lambda self: None)
            on_ready(summary, None, None)
        return summary

    monkeypatch.setattr("mlops.local.demo.run_demo", run_demo)
    monkeypatch.setattr("mlops.local.demo.print_summary", lambda s, c: seen.append("summary"))
    return seen


def _implementation(command: str) -> str:
    [callback] = [c.callback for c in app.registered_commands if c.callback.__name__ == command]
    return callback.__module__


def test_mlops_demo_takes_its_options_as_before(calls, tmp_path):
    assert _implementation("demo") == "mlops.local.cli"
    done = CliRunner().invoke(
        app, ["demo", "--work-dir", str(tmp_path), "--claims", "40", "--trials", "2",
              "--seed", "3"],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    [opts, printed] = calls
    assert (opts.work_dir, opts.claims, opts.trials, opts.seed) == (tmp_path, 40, 2, 3)
    assert printed == "summary"
    assert "mlops demo: the Remedy lifecycle on embedded AWS (moto)" in done.output
    refused = CliRunner().invoke(app, ["demo", "--claims", "5"])
    assert refused.exit_code == 2 and not calls[2:]


def test_mlops_serve_announces_the_api_and_the_handler_view(calls, tmp_path):
    assert _implementation("serve") == "mlops.local.cli"
    done = CliRunner().invoke(
        app, ["serve", "--work-dir", str(tmp_path), "--claims", "50", "--port", "8181"]
    )
    assert done.exit_code == 0, done.output
    [opts] = calls
    assert (opts.claims, opts.api_port, opts.trials) == (50, 8181, 6)
    assert "decision API: http://127.0.0.1:9/docs" in done.output
    assert "claims-handler view: http://127.0.0.1:9/handler" in done.output


@pytest.mark.parametrize("path", GENERIC)
def test_the_platform_module_names_no_use_case_domain(path):
    found = [
        f"{path}:{n}: {line.strip()}"
        for n, line in enumerate((ROOT / path).read_text().splitlines(), 1)
        if DOMAIN.search(line)
    ]
    assert found == []
