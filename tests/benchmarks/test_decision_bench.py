"""bench_decision: the pieces that turn measurements into the table (no timing asserted)."""

from __future__ import annotations

import pytest

from bench import bench_decision

IMPORTTIME = """import time: self [us] | cumulative | imported package
import time:       120 |        120 |   _io
import time:      5000 |      12000 |     remedy_core.claims
import time:       300 |     151234 | remedy_inference.handlers.decide
"""


def test_import_time_is_the_cumulative_column_of_the_module_line():
    assert bench_decision.import_ms(IMPORTTIME, "remedy_inference.handlers.decide") == 151.234
    assert bench_decision.import_ms(IMPORTTIME, "remedy_core.claims") == 12.0
    with pytest.raises(ValueError, match="no importtime line"):
        bench_decision.import_ms(IMPORTTIME, "remedy_inference.handlers.encode")


def _result() -> dict:
    single = {"decisions": 10, "same_recommendation": 1.0}
    for p, ms in zip(bench_decision.PATHS, (0.4, 0.6, 0.9, 3.2), strict=True):
        single |= {f"{p}_p50_ms": ms, f"{p}_p99_ms": 2 * ms, f"{p}_cpu_p50_ms": ms,
                   f"{p}_cpu_p99_ms": 1.5 * ms, f"{p}_models_p50_ms": ms / 2}  # fmt: skip
    cold = {label: {"median_ms": 150.0} for label in bench_decision.ENTRY_POINTS}
    cold |= {"function_mb": 0.6, "layer_mb": 59.4, "limit_mb": 250.0}
    return {
        "cold": cold,
        "compile": {"fresh_s": 10.0, "cached_s": 0.1, "trees": 10800},
        "single": single,
        "batch": {
            "claims_per_cpu_second": 9000.0,
            "claims_per_s_1_process": 8000.0,
            "claims_per_s_2_processes": 15000.0,
            "scaling_2_processes": 1.9,
            "scaling_rounds": 5,
        },
    }


def test_rows_hold_every_measurement_the_issue_asks_for():
    rows = {r["name"]: r for r in bench_decision.rows(_result())}
    for label in bench_decision.ENTRY_POINTS:
        assert rows[f"cold start: {label} import"]["value"] == 150.0
    assert rows["Lambda function + dependency layer, unpacked"]["value"] == pytest.approx(60.0)
    assert rows["Lambda function + dependency layer, unpacked"]["ratio"] == pytest.approx(0.24)
    assert rows["compile, same model id again"]["ratio"] == pytest.approx(0.01)
    native = rows["decision p50, native module"]
    assert native["value"] == 0.4 and native["ratio"] == pytest.approx(0.4 / 3.2)
    models = rows["models p50 (all heads, 1 claim), native module"]
    assert models["ratio"] == pytest.approx(0.2 / 1.6)
    scaling = rows["batch decisions, 2 processes, wall"]
    assert scaling["value"] == 15000.0 and scaling["ratio"] == 1.9
    speedup = rows["models speed-up, native module"]
    assert speedup["value"] == pytest.approx(8.0) and speedup["met"] is True
    assert rows["batch scaling, 2 processes"]["met"] is True
    assert rows["batch decisions, 1 process (features + all heads + rules)"]["met"] is False
    assert rows["decision p50, native module"]["met"] is True
    assert rows["decision p99, native module"]["met"] is True  # 0.8 ms
    targets = {n: r["target"] for n, r in rows.items() if "target" in r}
    assert targets == {
        **{f"cold start: {label} import": "<= 300" for label in bench_decision.ENTRY_POINTS},
        "Lambda function + dependency layer, unpacked": "<= 60",
        "decision p50, native module": "<= 0.5",
        "decision p99, native module": "<= 1",
        "models speed-up, native module": ">= 8",
        "batch decisions, 1 process (features + all heads + rules)": ">= 20000",
        "batch scaling, 2 processes": ">= 1.8",
    }
