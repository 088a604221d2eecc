"""The training pipeline on one machine, with the same code as in SageMaker.

    python -m remedy_training.run_local --work-dir work/run --claims 20000 --max-jobs 100 \
        --max-parallel 20 --seed 0 [--endpoint-url http://127.0.0.1:5000]

preprocess -> Optuna TPE tuning in rounds of parallel trials (SQLite study, HTML/PNG report)
-> refit the full bundle with the best parameters -> compile its heads into one native module
(remedy_training.compile, cached by model id) -> evaluate on the test split -> gate
-> register in the model registry as PendingManualApproval (boto3: a moto server via
--endpoint-url, an embedded moto server when none is given, or real SageMaker with
--real-aws) -> model card. Identical results for a seed.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

from remedy_core.bundle import export_bundle
from remedy_training import usecase
from remedy_training.compile import compile_model
from remedy_training.data import pack_model, read_frame
from remedy_training.evaluate import evaluate
from remedy_training.model_card import render_model_card
from remedy_training.preprocess import run as preprocess
from remedy_training.train import OBJECTIVE_HEADS, OBJECTIVE_METRIC, fit_and_score
from remedy_training.tuning import tune, write_report


@dataclass
class LocalRunConfig:
    work_dir: Path = Path("work/run")
    claims: int = 20_000
    seed: int = 0
    max_jobs: int = usecase.TUNING_MAX_JOBS
    max_parallel: int = usecase.TUNING_MAX_PARALLEL
    workers: int = 2
    tuning_rows: int = 6_000
    eval_metric: str = usecase.EVAL_METRIC
    eval_threshold: float = usecase.EVAL_THRESHOLD
    environment: str = "dev"
    endpoint_url: str | None = None
    real_aws: bool = False
    register: bool = True
    progress: bool = True


@dataclass
class LocalRunResult:
    best_params: dict
    best_value: float
    trials: int
    evaluation: dict
    gate_passed: bool
    gate_value: float
    registration: dict | None = None
    paths: dict[str, str] = field(default_factory=dict)
    tuning_seconds: float = 0.0
    compiled: dict = field(default_factory=dict)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EmbeddedAws:
    """A moto server on 127.0.0.1 for the duration of a run (local registry)."""

    def __enter__(self) -> str:
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.port = _free_port()
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc) -> None:
        self.server.stop()


def _progress(enabled: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        disable=not enabled,
    )


def register_bundle(
    cfg: LocalRunConfig,
    endpoint_url: str | None,
    model_tar: Path,
    evaluation: dict,
    tuning: dict,
    data: dict,
    gate: dict,
) -> dict:
    from mlops.naming import NameContext, bucket_name, model_package_group_name

    from remedy_training.registry import ModelRegistry, clients

    region = usecase.AWS_REGION
    sm, s3, kms = clients(region, endpoint_url)
    import boto3

    sts_kwargs = {"region_name": region}
    if endpoint_url:
        sts_kwargs |= {
            "endpoint_url": endpoint_url,
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
        }
    account = boto3.client("sts", **sts_kwargs).get_caller_identity()["Account"]
    ctx = NameContext(cfg.environment, account, region)
    group = model_package_group_name(ctx, usecase.USECASE_NAME)
    # The platform's model-artifacts bucket (mlops.components.storage), encrypted with its
    # artifacts key; locally they are created here only when the platform has not provisioned them.
    bucket = bucket_name(ctx, "model-artifacts")
    key_id = None
    if not cfg.real_aws:
        existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        if bucket not in existing:
            key_id = kms.create_key(Description=f"{usecase.USECASE_NAME} local models")[
                "KeyMetadata"
            ]["KeyId"]
            s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region}
            )
    registry = ModelRegistry(sm, s3, kms_key_id=key_id)
    registry.ensure_group(
        group, usecase.DESCRIPTION, {"usecase": usecase.USECASE_NAME, "owner": usecase.OWNER_EMAIL}
    )
    prefix = f"{usecase.USECASE_NAME}/{evaluation['bundle_id']}"
    reg = registry.register(
        group=group,
        bucket=bucket,
        prefix=prefix,
        model_tar=model_tar,
        evaluation=evaluation,
        image_uri=f"{account}.dkr.ecr.{region}.amazonaws.com/{usecase.USECASE_NAME}-inference",
        metadata={
            "usecase": usecase.USECASE_NAME,
            "bundle_id": evaluation["bundle_id"],
            "eval_metric": gate["metric"],
            "eval_value": f"{gate['value']:.6f}",
            "owner": usecase.OWNER_EMAIL,
        },
        description=usecase.DESCRIPTION,
    )
    card = render_model_card(
        usecase=usecase.USECASE_NAME,
        description=usecase.DESCRIPTION,
        owner=usecase.OWNER_EMAIL,
        jurisdiction=usecase.JURISDICTION,
        group=group,
        version=reg.version,
        arn=reg.model_package_arn,
        status=reg.status,
        evaluation=evaluation,
        tuning=tuning,
        data=data,
        gate=gate,
    )
    card_dir = cfg.work_dir / "model_cards"
    card_dir.mkdir(parents=True, exist_ok=True)
    card_path = card_dir / f"{group}-v{reg.version}.md"
    card_path.write_text(card)
    card_url = registry.upload(bucket, f"{prefix}/model_card.md", card.encode(), "text/markdown")
    return {
        "group": group,
        "arn": reg.model_package_arn,
        "version": reg.version,
        "status": reg.status,
        "model_data_url": reg.model_data_url,
        "model_card": str(card_path),
        "model_card_url": card_url,
        "endpoint_url": endpoint_url,
    }


def run(cfg: LocalRunConfig) -> LocalRunResult:
    from remedy_training.metrics import gate as gate_check

    gate_check({"metrics": {cfg.eval_metric: {"value": 0.0}}}, cfg.eval_metric, 0.0)  # validate
    work = Path(cfg.work_dir)
    data_dir = work / "data"
    sizes = preprocess(data_dir, cfg.claims, cfg.seed)
    train, validation = read_frame(data_dir / "train"), read_frame(data_dir / "validation")
    tuning_train = train.iloc[: cfg.tuning_rows] if cfg.tuning_rows else train

    with _progress(cfg.progress) as progress:
        task = progress.add_task(f"tuning ({cfg.max_parallel} in parallel)", total=cfg.max_jobs)
        lock = threading.Lock()

        def objective(hp: dict) -> float:
            _, metrics = fit_and_score(
                tuning_train, validation, hp, seed=cfg.seed, threads=1, heads=OBJECTIVE_HEADS
            )
            with lock:
                progress.advance(task)
            return metrics["repair_mdape"]

        result = tune(
            objective,
            max_jobs=cfg.max_jobs,
            max_parallel=min(cfg.max_parallel, cfg.max_jobs),
            seed=cfg.seed,
            storage=work / "tuning" / "study.db",
            study_name=f"{usecase.USECASE_NAME}-seed{cfg.seed}",
            workers=cfg.workers,
        )
        report = write_report(result.study, work / "tuning", OBJECTIVE_METRIC)

        refit = progress.add_task("refit full bundle", total=1)
        trained, val_metrics = fit_and_score(
            train, validation, result.best_params, seed=cfg.seed, threads=cfg.workers
        )
        data = {"claims": cfg.claims, "seed": cfg.seed, **{f"n_{k}": v for k, v in sizes.items()}}
        model_dir = export_bundle(
            work / "model",
            trained.boosters,
            metrics={f"validation:{k}": v for k, v in val_metrics.items()},
            hyperparameters=trained.hyperparameters,
            data=data,
            calibration=trained.calibration,
        )
        compiled = compile_model(model_dir)  # ships in model.tar.gz; serving falls back to ONNX
        model_tar = pack_model(model_dir, work / "model.tar.gz")
        progress.advance(refit)

        ev_task = progress.add_task("evaluate", total=1)
        evaluation = evaluate(
            model_dir,
            data_dir / "test",
            eval_metric=cfg.eval_metric,
            eval_threshold=cfg.eval_threshold,
        )
        (work / "evaluation").mkdir(parents=True, exist_ok=True)
        eval_path = work / "evaluation" / "evaluation.json"
        eval_path.write_text(json.dumps(evaluation, indent=2, default=float))
        progress.advance(ev_task)

    gate = evaluation["gate"]
    tuning_info = {
        "trials": len(result.study.trials),
        "sampler": "tpe",
        "rounds": result.rounds,
        "objective": OBJECTIVE_METRIC,
        "best_value": result.best_value,
        "best_params": result.best_params,
        "seconds": round(result.seconds, 1),
    }
    registration = None
    if gate["passed"] and cfg.register:
        endpoint = cfg.endpoint_url or os.environ.get("MLOPS_AWS_ENDPOINT_URL")
        if endpoint or cfg.real_aws:
            registration = register_bundle(
                cfg, endpoint, model_tar, evaluation, tuning_info, data, gate
            )
        else:
            with EmbeddedAws() as url:
                registration = register_bundle(
                    cfg, url, model_tar, evaluation, tuning_info, data, gate
                )
                registration["note"] = "embedded moto server (stopped after the run)"
    paths = {
        "study": str(work / "tuning" / "study.db"),
        "report_html": str(report["html"]),
        "report_png": str(report["png"]),
        "model": str(model_dir),
        "evaluation": str(eval_path),
    }
    return LocalRunResult(
        best_params=result.best_params,
        best_value=result.best_value,
        trials=len(result.study.trials),
        evaluation=evaluation,
        gate_passed=gate["passed"],
        gate_value=gate["value"],
        registration=registration,
        paths=paths,
        tuning_seconds=result.seconds,
        compiled=compiled.summary(),
    )


def print_summary(res: LocalRunResult) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title="Remedy local training run")
    table.add_column("item")
    table.add_column("value")
    table.add_row("trials", f"{res.trials} in {res.tuning_seconds:.1f} s")
    c = res.compiled
    table.add_row(
        "compiled module",
        f"skipped: {c['skipped']}"
        if c.get("skipped")
        else f"{c.get('model_id')} ({'cached' if c.get('cached') else 'compiled'} in "
        f"{c.get('seconds', 0):.1f} s)",
    )
    table.add_row("best validation:repair_mdape", f"{res.best_value:.4f}")
    table.add_row("best parameters", ", ".join(f"{k}={v:.4g}" for k, v in res.best_params.items()))
    for k, v in res.evaluation["metrics"].items():
        table.add_row(f"test {k}", f"{v['value']:.4f}")
    g = res.evaluation["gate"]
    table.add_row(
        "gate",
        f"{g['metric']}={g['value']:.4f} vs {g['threshold']}: "
        + ("PASSED" if g["passed"] else "FAILED"),
    )
    if res.registration:
        table.add_row("registered", f"{res.registration['arn']} ({res.registration['status']})")
        table.add_row("model card", res.registration["model_card"])
    else:
        table.add_row("registered", "no")
    for k, v in res.paths.items():
        table.add_row(k, v)
    console.print(table)


def main(argv: list[str] | None = None) -> LocalRunResult:
    p = argparse.ArgumentParser(description="Run the Remedy training pipeline locally")
    d = LocalRunConfig()
    p.add_argument("--work-dir", type=Path, default=d.work_dir)
    p.add_argument("--claims", type=int, default=d.claims)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--max-jobs", type=int, default=d.max_jobs)
    p.add_argument("--max-parallel", type=int, default=d.max_parallel)
    p.add_argument("--workers", type=int, default=d.workers)
    p.add_argument("--tuning-rows", type=int, default=d.tuning_rows)
    p.add_argument("--eval-metric", default=d.eval_metric)
    p.add_argument("--eval-threshold", type=float, default=d.eval_threshold)
    p.add_argument("--environment", default=d.environment)
    p.add_argument("--endpoint-url", default=None)
    p.add_argument("--real-aws", action="store_true")
    p.add_argument("--no-register", action="store_true")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--summary-json", type=Path, help="also write the run's summary as JSON here")
    a = p.parse_args(argv)
    cfg = LocalRunConfig(
        work_dir=a.work_dir,
        claims=a.claims,
        seed=a.seed,
        max_jobs=a.max_jobs,
        max_parallel=a.max_parallel,
        workers=a.workers,
        tuning_rows=a.tuning_rows,
        eval_metric=a.eval_metric,
        eval_threshold=a.eval_threshold,
        environment=a.environment,
        endpoint_url=a.endpoint_url,
        real_aws=a.real_aws,
        register=not a.no_register,
        progress=not a.no_progress,
    )
    res = run(cfg)
    print_summary(res)
    if a.summary_json:
        a.summary_json.parent.mkdir(parents=True, exist_ok=True)
        a.summary_json.write_text(json.dumps(asdict(res), indent=2, default=str))
    return res


if __name__ == "__main__":
    main()
