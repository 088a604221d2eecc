"""`mlops analytics refresh` and `mlops dashboard` through the real CLI, on moto server."""

from __future__ import annotations

import sys

import pytest
import yaml
from typer.testing import CliRunner

from mlops.cli import app, main
from mlops.events import to_log_line
from mlops.local.analytics_stream import LocalAnalyticsStream, clients
from mlops.local.embedded_aws import EmbeddedAWS
from mlops.usecases import USECASES_DIR, USECASES_DIR_ENV

from .factories import REGISTRY, decision

runner = CliRunner()


@pytest.fixture(scope="module")
def moto_server():
    with EmbeddedAWS() as aws:
        yield aws


def _run_main(monkeypatch, capsys, *argv: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["mlops", *argv])
    with pytest.raises(SystemExit) as exit_info:
        main()
    return exit_info.value.code, " ".join(capsys.readouterr().err.split())  # unwrap rich


def test_refresh_without_a_local_endpoint_is_a_usage_error(monkeypatch, capsys, tmp_path):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    code, err = _run_main(monkeypatch, capsys, "analytics", "refresh",
                          "--warehouse", str(tmp_path / "w.duckdb"))  # fmt: skip
    assert code == 2
    assert "no local AWS endpoint to read decision events from" in err
    assert "--endpoint-url" in err


def test_refresh_refuses_a_non_loopback_endpoint(monkeypatch, capsys, tmp_path):
    code, err = _run_main(monkeypatch, capsys, "analytics", "refresh", "--endpoint-url",
                          "https://s3.eu-west-2.amazonaws.com")  # fmt: skip
    assert code == 2
    assert "is not a local (loopback) endpoint" in err


def test_dashboard_without_a_warehouse_says_to_refresh_first(monkeypatch, capsys, tmp_path):
    code, err = _run_main(monkeypatch, capsys, "dashboard", "--warehouse",
                          str(tmp_path / "missing.duckdb"))  # fmt: skip
    assert code == 1
    assert "no analytics warehouse at" in err and "mlops analytics refresh" in err


def test_dashboard_of_a_use_case_without_a_manifest_names_the_choices(
    monkeypatch, capsys, tmp_path
):
    import duckdb

    duckdb.connect(str(tmp_path / "wh.duckdb")).close()
    code, err = _run_main(monkeypatch, capsys, "dashboard", "--usecase", "nosuch", "--warehouse",
                          str(tmp_path / "wh.duckdb"), "--out", str(tmp_path / "out"))  # fmt: skip
    assert code == 1
    assert "use case 'nosuch' has no manifest" in err and "--usecase with one of: remedy" in err


def test_refresh_twice_then_dashboard(moto_server, tmp_path, monkeypatch):
    stream = LocalAnalyticsStream(clients(moto_server.endpoint_url), events=REGISTRY)
    stream.provision()
    stream.emit([to_log_line(decision(f"CLI-{i}")) for i in range(4)])
    wh = str(tmp_path / "wh.duckdb")
    args = ["analytics", "refresh", "--warehouse", wh, "--endpoint-url", moto_server.endpoint_url]

    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "1 new object(s) loaded, 0 already loaded" in first.output
    assert "rows: 4 decision_events" in first.output
    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    assert "0 new object(s) loaded, 1 already loaded" in second.output
    assert "no new rows" in second.output
    # another use case's prefix: its own manifest (here one with Remedy's events) says what to read
    manifests = tmp_path / "usecases"
    manifests.mkdir()
    remedy = yaml.safe_load((USECASES_DIR / "remedy.yaml").read_text())
    (manifests / "fraud.yaml").write_text(yaml.safe_dump({**remedy, "name": "fraud"}))
    monkeypatch.setenv(USECASES_DIR_ENV, str(manifests))
    other = runner.invoke(app, [*args, "--usecase", "fraud"])
    assert other.exit_code == 0, other.output
    assert "(of 0 in the landing bucket)" in " ".join(other.output.split())
    unknown = runner.invoke(app, [*args, "--usecase", "churn"])
    assert unknown.exit_code == 1
    assert "use case 'churn' has no manifest" in str(unknown.exception)
    assert "pass --usecase with one of: fraud" in unknown.exception.fix
    monkeypatch.delenv(USECASES_DIR_ENV)

    out = tmp_path / "dash"
    shown = runner.invoke(app, ["dashboard", "--warehouse", wh, "--out", str(out)])
    assert shown.exit_code == 0, shown.output
    assert (out / "index.html").exists()
    assert (out / "monthly_total_losses_by_region.png").stat().st_size > 1000
