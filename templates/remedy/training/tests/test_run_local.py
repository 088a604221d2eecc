"""The local run registers in a moto server as PendingManualApproval; a failing gate does not."""

import json
import socket
from pathlib import Path

import boto3
import pytest

from remedy_training import usecase
from remedy_training.run_local import LocalRunConfig, run

SMALL = {
    "claims": 1200,
    "max_jobs": 4,
    "max_parallel": 2,
    "tuning_rows": 600,
    "workers": 1,
    "progress": False,
    "seed": 5,
}


@pytest.fixture(scope="module")
def moto_url():
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def _sm(url):
    return boto3.client(
        "sagemaker",
        region_name=usecase.AWS_REGION,
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture(scope="module")
def passed(tmp_path_factory, moto_url):
    cfg = LocalRunConfig(
        work_dir=tmp_path_factory.mktemp("pass"),
        eval_metric="repair_cost_mdape",
        eval_threshold=0.9,
        endpoint_url=moto_url,
        **SMALL,
    )
    return cfg, run(cfg)


@pytest.fixture(scope="module")
def failed(tmp_path_factory, moto_url, passed):
    cfg = LocalRunConfig(
        work_dir=tmp_path_factory.mktemp("fail"),
        eval_metric="repair_cost_mdape",
        eval_threshold=0.001,
        endpoint_url=moto_url,
        **SMALL,
    )
    return cfg, run(cfg)


def test_passing_gate_registers_pending_manual_approval(passed, moto_url):
    _, res = passed
    assert res.gate_passed and res.registration is not None
    group = res.registration["group"]
    pkgs = _sm(moto_url).list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"]
    assert len(pkgs) == 1
    assert pkgs[0]["ModelApprovalStatus"] == "PendingManualApproval"
    desc = _sm(moto_url).describe_model_package(ModelPackageName=pkgs[0]["ModelPackageArn"])
    assert desc["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"].endswith("evaluation.json")
    card = Path(res.registration["model_card"]).read_text()
    assert "PendingManualApproval" in card and "## Limitations" in card


def test_tuning_report_and_study_are_written(passed):
    _, res = passed
    for key in ("study", "report_html", "report_png", "evaluation"):
        assert Path(res.paths[key]).stat().st_size > 0, key
    assert res.trials == SMALL["max_jobs"]


def test_failing_gate_is_not_registered(failed, passed, moto_url):
    _, res = failed
    assert not res.gate_passed and res.registration is None
    group = passed[1].registration["group"]
    pkgs = _sm(moto_url).list_model_packages(ModelPackageGroupName=group)
    assert len(pkgs["ModelPackageSummaryList"]) == 1  # still only the passing run's package


def test_same_seed_same_results(passed, failed):
    a, b = passed[1], failed[1]
    assert a.best_params == b.best_params and a.best_value == b.best_value
    ma = {k: v["value"] for k, v in a.evaluation["metrics"].items()}
    mb = {k: v["value"] for k, v in b.evaluation["metrics"].items()}
    assert ma == mb
    assert json.dumps(a.evaluation["decision"]) == json.dumps(b.evaluation["decision"])


def test_unknown_gate_metric_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown eval metric"):
        run(LocalRunConfig(work_dir=tmp_path, eval_metric="accuracy", **SMALL))
