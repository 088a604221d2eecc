"""A small version of `bench/bench_load.py`: 200 requests at 100 req/s against the decision API in
a uvicorn child process, then through Logs -> Firehose -> S3 (moto server) into DuckDB.
Zero errors, and every audit line (count in) is exactly one warehouse row (count out)."""

from __future__ import annotations

import sys

from .conftest import ROOT

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import bench_load


def test_200_requests_no_errors_and_count_in_equals_count_out(tmp_path) -> None:
    result = bench_load.load_test((100,), 2.0, prefer_bench_bundle=False, work=tmp_path)
    (step,) = result["steps"]
    assert step["requests"] == 200 and step["errors"] == 0, step["first_errors"]
    assert step["ok"] == 200 and step["p99_ms"] < bench_load.REQUEST_TIMEOUT_S * 1000
    assert result["answered"] == 200
    assert result["audit_lines"] == 200 + result["warm_up"]  # one audit line per decision
    assert result["warehouse_ship_error"] is None
    assert result["warehouse_rows"] == result["audit_lines"]  # count in == count out
    assert result["count_in_equals_count_out"] and result["answered_all_stored_once"]
    assert result["warehouse_duplicates"] == 0 and result["warehouse_rejected"] == 0
    rows = bench_load.rows_from(result)
    assert rows[-1]["ratio"] == 1.0 and rows[0]["unit"] == "req/s"
