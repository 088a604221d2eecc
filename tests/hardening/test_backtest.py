"""`mlops backtest`: current vs candidate model and rule set on the same claims (the Remedy code
of the template tree, on sys.path via this folder's conftest; two tiny real bundles)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

IMAGE = "111111111111.dkr.ecr.eu-west-2.amazonaws.com/remedy:1"
RULES = "jurisdiction: {kind: uk, max_repair_ratio: 0.55}\nborderline_band: 0.02\n"


@pytest.fixture(scope="module")
def bundles(tmp_path_factory, bundle_dir, build_tiny_bundle) -> dict[str, Path]:
    other = tmp_path_factory.mktemp("candidate") / "bundle"
    build_tiny_bundle(other, seed=99)
    return {"current": bundle_dir, "candidate": other}


@pytest.fixture(scope="module")
def frame():
    from remedy_core.synthetic import generate_claims

    return generate_claims(1500, seed=5)


def _side(path: Path, rules=None):
    from remedy_core.bundle import load_bundle
    from remedy_core.rules import RuleConfig
    from remedy_inference.backtest import Side
    from remedy_inference.compiled import CompiledBundle

    model = CompiledBundle(load_bundle(path))
    return Side(model, model.bundle_id, rules or RuleConfig())


def _market():
    from remedy_inference.market_data import SyntheticMarket

    return SyntheticMarket()


def test_the_same_model_and_rules_change_nothing(bundles, frame) -> None:
    from remedy_inference.backtest import run_backtest

    side = _side(bundles["current"])
    r = run_backtest(frame, side, side, market=_market())
    assert r["changed"] == 0 and r["cost_impact"] == 0.0
    off_diagonal = [n for a, row in r["change_matrix"].items() for b, n in row.items() if a != b]
    assert off_diagonal == [0] * 6
    assert sum(r["mix"]["current"].values()) == len(frame)


def test_stricter_rules_write_off_more_and_the_figures_add_up(bundles, frame, tmp_path) -> None:
    from remedy_core.outcomes import decision_metrics
    from remedy_inference.backtest import load_rules, run_backtest, write_report

    (tmp_path / "rules.yaml").write_text(RULES)
    strict, source = load_rules(tmp_path / "rules.yaml")
    assert strict.jurisdiction.max_repair_ratio == 0.55 and source.endswith("rules.yaml")
    current, candidate = _side(bundles["current"]), _side(bundles["current"], strict)
    r = run_backtest(frame, current, candidate, market=_market())
    m = r["change_matrix"]
    assert r["changed"] > 0
    assert r["changed"] == sum(n for a, row in m.items() for b, n in row.items() if a != b)
    # a lower repair ratio and a narrower band never turn a write-off into a repair
    assert m["write_off"]["repair"] == 0
    assert r["mix"]["candidate"]["write_off"] > r["mix"]["current"]["write_off"]
    for by in ("region", "make"):
        assert sum(row["changed"] for row in r["breakdown"][by]) == r["changed"]
        assert sum(row["claims"] for row in r["breakdown"][by]) == len(frame)
    region_impact = sum(row["cost_impact"] for row in r["breakdown"]["region"])
    assert region_impact == pytest.approx(r["cost_impact"])
    # the cost is the training evaluation's regret (one definition): rebuild it from the mix
    from remedy_core.batch import claim_columns, decide_batch, labels
    from remedy_core.synthetic import REQUEST_COLUMNS, frame_to_claims
    from remedy_core.valuation import ValuationRequest

    claims = frame_to_claims(frame)
    markets = [_market().lookup(ValuationRequest.from_claim(c)) for c in claims]
    decided = labels(decide_batch(candidate.model, frame[list(REQUEST_COLUMNS)],
                                  claim_columns(claims, markets, strict), strict))  # fmt: skip
    expected = decision_metrics(np.asarray(decided), frame)["decision_cost_per_claim"] * len(frame)
    assert r["outcomes"]["candidate"]["total_cost"] == pytest.approx(expected)
    paths = write_report(r, tmp_path / "report")
    assert json.loads(paths["json"].read_text())["changed"] == r["changed"]
    page = paths["html"].read_text()
    assert "Decision changes" in page and page.count("data:image/png;base64,") == 2


def test_batch_decisions_equal_the_decision_service(bundles, frame) -> None:
    """The backtest's batch path decides as the API does (scalar rules), claim by claim."""
    from remedy_core.batch import claim_columns, decide_batch, labels
    from remedy_core.decision import decide
    from remedy_core.features import encode_claim
    from remedy_core.rules import RuleConfig
    from remedy_core.synthetic import REQUEST_COLUMNS, frame_to_claims
    from remedy_core.valuation import ValuationRequest

    side = _side(bundles["candidate"])
    sample = frame.iloc[:300].reset_index(drop=True)
    claims = frame_to_claims(sample)
    markets = [_market().lookup(ValuationRequest.from_claim(c)) for c in claims]
    cfg = RuleConfig()
    batch = labels(decide_batch(side.model, sample[list(REQUEST_COLUMNS)],
                                claim_columns(claims, markets, cfg), cfg))  # fmt: skip
    scalar = [
        decide(c, side.model.predict_one(encode_claim(c)), m, config=cfg,
               decision_id="bt").recommendation
        for c, m in zip(claims, markets, strict=True)
    ]  # fmt: skip
    same = np.mean(np.asarray(batch) == np.asarray(scalar))
    assert same >= 0.99, same


def test_bad_inputs_name_the_field_and_the_fix(tmp_path, frame) -> None:
    from remedy_inference.backtest import BacktestError, load_claims, load_rules

    frame.drop(columns=["mileage"]).to_csv(tmp_path / "claims.csv", index=False)
    with pytest.raises(BacktestError, match="missing columns mileage"):
        load_claims(tmp_path / "claims.csv")
    (tmp_path / "claims.xlsx").write_text("x")
    with pytest.raises(BacktestError, match=r"unknown format \.xlsx"):
        load_claims(tmp_path / "claims.xlsx")
    (tmp_path / "rules.yaml").write_text("borderline_band: 3\n")
    with pytest.raises(BacktestError, match="borderline_band"):
        load_rules(tmp_path / "rules.yaml")
    (tmp_path / "rules.yaml").write_text("threshold: 0.6\n")
    with pytest.raises(BacktestError, match="threshold"):
        load_rules(tmp_path / "rules.yaml")


def test_cli_end_to_end_and_its_usage_errors(bundles, frame, tmp_path, monkeypatch, capsys):
    from mlops.cli import app, main

    frame.iloc[:400].to_parquet(tmp_path / "claims.parquet")
    (tmp_path / "rules.yaml").write_text(RULES)
    runner = CliRunner()
    args = ["backtest", "remedy", "--current", str(bundles["current"]),
            "--candidate", str(bundles["candidate"])]  # fmt: skip
    done = runner.invoke(app, [*args, "--data", str(tmp_path / "claims.parquet"),
                               "--rules", str(tmp_path / "rules.yaml"),
                               "--out", str(tmp_path / "out")])  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "400 claims" in done.output and (tmp_path / "out" / "backtest.html").is_file()
    result = json.loads((tmp_path / "out" / "backtest.json").read_text())
    assert result["sides"]["candidate"]["rules"].endswith("rules.yaml")
    assert result["sides"]["current"]["model"] != result["sides"]["candidate"]["model"]
    for bad, message in [
        (["backtest", "nope", "--candidate", str(bundles["candidate"]), "--synthetic", "100"],
         "not onboarded"),
        ([*args], "exactly one of --data FILE and --synthetic N"),
        (["backtest", "remedy", "--current", str(tmp_path), "--candidate",
          str(bundles["candidate"]), "--synthetic", "100"], "is not a Remedy bundle"),
    ]:  # fmt: skip
        monkeypatch.setattr("sys.argv", ["mlops", *bad])
        with pytest.raises(SystemExit) as stop:
            main()
        err = capsys.readouterr().err
        assert stop.value.code == 2 and message in " ".join(err.split()), err
    assert not (tmp_path / "nope").exists()


def _register(tmp_path: Path, bundle: Path, *, tamper: bool = False) -> str:
    """`bundle` published and registered the way the governed pipeline does (model.tar.gz under
    the registry bucket's remedy/models/, its SHA-256 in CustomerMetadataProperties), on moto."""
    import hashlib
    import tarfile

    import boto3

    from mlops.backtest import _registry_bucket
    from mlops.delivery.artifacts import CHECKSUM_PROPERTY, model_data_key

    tar = tmp_path / "model.tar.gz"
    with tarfile.open(tar, "w:gz") as t:
        for item in sorted(bundle.iterdir()):
            t.add(item, arcname=item.name)
    data = tar.read_bytes()
    bucket, key = _registry_bucket(), model_data_key("remedy", "exec-1")
    s3 = boto3.client("s3", region_name="eu-west-2")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
    s3.put_object(Bucket=bucket, Key=key, Body=data + (b"x" if tamper else b""))
    sm = boto3.client("sagemaker", region_name="eu-west-2")
    sm.create_model_package_group(ModelPackageGroupName="mlops-dev-remedy")
    return sm.create_model_package(
        ModelPackageGroupName="mlops-dev-remedy",
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification={
            "Containers": [
                {
                    "Image": "111111111111.dkr.ecr.eu-west-2.amazonaws.com/remedy:1",
                    "ModelDataUrl": f"s3://{bucket}/{key}",
                }
            ],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
        CustomerMetadataProperties={CHECKSUM_PROPERTY: hashlib.sha256(data).hexdigest()},
    )["ModelPackageArn"]


@pytest.fixture
def aws(monkeypatch):
    from moto import mock_aws

    for key, value in {"AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t",
                       "AWS_DEFAULT_REGION": "eu-west-2"}.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    with mock_aws():
        yield


def test_a_registered_model_package_is_fetched_verified_and_scored(bundles, tmp_path, aws):
    from mlops.backtest import BacktestRequest, run

    arn = _register(tmp_path, bundles["candidate"])
    request = BacktestRequest("remedy", arn, bundles["current"], None, 300, 7, None, None,
                              tmp_path / "out", None)  # fmt: skip
    by_arn, _ = run(request)
    by_dir, _ = run(BacktestRequest("remedy", bundles["candidate"], bundles["current"], None,
                                    300, 7, None, None, tmp_path / "out2", None))  # fmt: skip
    assert by_arn["claims"] == 300
    assert by_arn["change_matrix"] == by_dir["change_matrix"]  # the same model, fetched
    assert by_arn["sides"]["candidate"]["model"] == by_dir["sides"]["candidate"]["model"]


def test_a_model_package_whose_artifact_changed_is_refused(bundles, tmp_path, aws):
    from mlops.backtest import BacktestFailed, BacktestRequest, run

    arn = _register(tmp_path, bundles["candidate"], tamper=True)
    request = BacktestRequest("remedy", arn, bundles["current"], None, 100, 7, None, None,
                              tmp_path / "out", None)  # fmt: skip
    with pytest.raises(BacktestFailed, match="the artifact changed") as info:
        run(request)
    assert "re-run the training pipeline" in info.value.fix
    assert not (tmp_path / "out").exists()
