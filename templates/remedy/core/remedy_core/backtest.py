"""Backtest: replay historical claims through the current and a candidate model and/or rule set,
and say what would change and what it would cost, before anything ships.

Shared by both repos: the inference repo's ``mlops backtest`` (``remedy_inference.backtest``,
locally) and the training repo's pipeline step (``remedy_training.backtest``, on every candidate,
against the current approved model when there is one; without one, ``current=None``: the
candidate's figures alone, no decision changes).

Both sides score the same claims on the batch path (``remedy_core.batch``: vectorised features,
every head per chunk, vectorised rules) with the same market answers, so every difference comes
from the model or the rules. Where the claims carry their outcome (``t_decision``,
``t_repair_path_cost``, ``t_writeoff_path_cost``, ``t_pav``, ... - the synthetic generator's
economic truth, or settled claims exported with the same columns) the report adds the decision
cost of each side (``remedy_core.outcomes``, the training evaluation's regret), wrong write-offs
and the PAV shortfall on write-offs; broken down by region and make.

Outputs: ``backtest.json`` (every figure) and ``backtest.html`` (tables and plots, one file; the
plots need matplotlib, which the training image does not carry: without it the HTML has the tables
only, and says so).
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from remedy_core.batch import claim_columns, decide_batch, labels
from remedy_core.outcomes import DECISIONS, OUTCOME_COLUMNS, decision_cost
from remedy_core.rules import RuleConfig
from remedy_core.synthetic import REQUEST_COLUMNS, frame_to_claims

SIDES = ("current", "candidate")
BREAKDOWNS = ("region", "make")
OUTCOME_FIGURES = (
    "total_cost", "cost_per_claim", "wrong_write_offs", "wrong_write_off_rate",
    "investigate_rate", "pav_shortfall_total", "write_offs_short_over_10pct",
)  # fmt: skip
MIN_GROUP = 20  # smaller groups are pooled as "other" (a rate over a handful of claims misleads)


class BacktestError(ValueError):
    """Bad backtest input; the message names what is wrong and how to fix it."""


@dataclass(frozen=True)
class Side:
    """One side of the comparison: a model (anything with ``predict_raw``) and a rule set."""

    model: Any
    model_id: str
    rules: RuleConfig
    rules_source: str = "defaults"

    @property
    def rules_digest(self) -> str:
        blob = json.dumps(self.rules.model_dump(mode="json"), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]


# --- input ----------------------------------------------------------------------------------------
def load_claims(path: Path) -> pd.DataFrame:
    """Claims as the generator writes them (CSV, Parquet or JSON lines), outcomes optional."""
    if not path.is_file():
        raise BacktestError(f"--data {path}: no such file", "pass a CSV, Parquet or JSONL file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            frame = pd.read_parquet(path)
        elif suffix == ".csv":
            frame = pd.read_csv(path, parse_dates=["incident_date"])
        elif suffix in (".jsonl", ".ndjson"):
            frame = pd.read_json(path, lines=True, convert_dates=["incident_date"])
        else:
            raise BacktestError(
                f"--data {path}: unknown format {suffix or '(none)'}",
                "use .parquet, .csv or .jsonl",
            )
    except (ValueError, OSError) as exc:
        if isinstance(exc, BacktestError):
            raise
        raise BacktestError(f"--data {path}: cannot be read ({exc})", "check the file") from exc
    missing = [c for c in REQUEST_COLUMNS if c not in frame.columns]
    if missing:
        raise BacktestError(
            f"--data {path}: missing columns {', '.join(missing[:8])}"
            + (f" and {len(missing) - 8} more" if len(missing) > 8 else ""),
            "export the claims with every request column (remedy_core.synthetic.REQUEST_COLUMNS)",
        )
    if frame.empty:
        raise BacktestError(f"--data {path}: no claims", "pass a file with at least one claim")
    return frame.reset_index(drop=True)


def load_rules(path: Path | None) -> tuple[RuleConfig, str]:
    """A rule set file (YAML or JSON, the ``RuleConfig`` fields; omitted fields keep defaults)."""
    if path is None:
        return RuleConfig(), "defaults"
    import yaml
    from pydantic import ValidationError

    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise BacktestError(f"rules {path}: cannot be read ({exc})", "pass a YAML file") from exc
    if not isinstance(data, dict):
        raise BacktestError(f"rules {path}: must be a mapping of RuleConfig fields", "see docs")
    try:
        return RuleConfig.model_validate(data), str(path)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise BacktestError(
            f"rules {path}: {field}: {first['msg']}",
            "fix that field (RuleConfig in remedy_core/rules.py lists every field and its range)",
        ) from exc


# --- scoring --------------------------------------------------------------------------------------
def _has_outcomes(frame: pd.DataFrame) -> bool:
    return all(c in frame.columns for c in (*OUTCOME_COLUMNS, "t_pav"))


def _groups(values: pd.Series) -> pd.Series:
    counts = values.value_counts()
    small = counts[counts < MIN_GROUP].index
    return values.where(~values.isin(small), "other")


def _side_figures(decision: np.ndarray, frame: pd.DataFrame, pav: np.ndarray) -> dict:
    mix = {d: int((decision == d).sum()) for d in DECISIONS}
    out: dict[str, Any] = {"mix": mix}
    if not _has_outcomes(frame):
        return out
    cost = decision_cost(decision, frame)
    truth = frame["t_decision"].to_numpy()
    wrong_wo = (truth == "repair") & (decision == "write_off")
    write_off = decision == "write_off"
    # what a write-off would have paid: the PAV the rules used, against the market reference
    short = np.where(write_off & np.isfinite(pav), np.maximum(frame["t_pav"] - pav, 0.0), 0.0)
    out.update(
        cost=cost,
        total_cost=float(cost.sum()),
        cost_per_claim=float(cost.mean()),
        wrong_write_offs=int(wrong_wo.sum()),
        wrong_write_off_rate=float(wrong_wo.mean()),
        investigate_rate=float((decision == "investigate").mean()),
        pav_shortfall_total=float(short.sum()),
        write_offs_short_over_10pct=int(
            (write_off & np.isfinite(pav) & (pav < 0.9 * frame["t_pav"])).sum()
        ),
    )
    return out


def _ticker(progress: Callable[[str, int, int], None] | None, stage: str, total: int):
    done = [0]

    def tick(n: int) -> None:
        done[0] += n
        if progress is not None:
            progress(stage, done[0], total)

    return tick


def run_backtest(
    frame: pd.DataFrame,
    current: Side | None,
    candidate: Side,
    market: Any,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict:
    """Score ``frame`` with both sides; every figure of the report (``render_html`` renders it).

    ``current=None`` (no current model): the candidate alone; ``change_matrix``, ``changed``,
    ``changed_rate`` and ``cost_impact`` are None and the breakdowns carry the candidate's
    columns only."""
    started = time.perf_counter()
    claims = frame_to_claims(frame)
    from remedy_core.valuation import ValuationRequest

    markets = []
    for i, claim in enumerate(claims):
        markets.append(market.lookup(ValuationRequest.from_claim(claim)))
        if progress is not None and (i + 1) % 500 == 0:
            progress("market", i + 1, len(claims))
    request = frame[list(REQUEST_COLUMNS)]
    decided: dict[str, np.ndarray] = {}
    pav: dict[str, np.ndarray] = {}
    given = {n: s for n, s in (("current", current), ("candidate", candidate)) if s is not None}
    for name, side in given.items():
        cols = claim_columns(claims, markets, side.rules)
        tick = _ticker(progress, name, len(frame))
        decided[name] = labels(decide_batch(side.model, request, cols, side.rules, on_chunk=tick))
        pav[name] = cols["pav"]
    sides = tuple(given)
    both = current is not None
    figures = {n: _side_figures(decided[n], frame, pav[n]) for n in sides}
    cand = decided["candidate"]
    cur = decided["current"] if both else cand
    matrix = {a: {b: int(((cur == a) & (cand == b)).sum()) for b in DECISIONS} for a in DECISIONS}
    result: dict[str, Any] = {
        "claims": len(frame),
        "outcomes_known": _has_outcomes(frame),
        "current_model": both,
        "sides": {
            n: {"model": s.model_id, "rules": s.rules_source, "rules_digest": s.rules_digest}
            for n, s in given.items()
        },
        "mix": {n: figures[n]["mix"] for n in sides},
        "change_matrix": matrix if both else None,
        "changed": int((cur != cand).sum()) if both else None,
        "changed_rate": float((cur != cand).mean()) if both else None,
        "breakdown": {},
        "seconds": 0.0,
    }
    if result["outcomes_known"]:
        result["outcomes"] = {n: {k: figures[n][k] for k in OUTCOME_FIGURES} for n in sides}
        result["cost_impact"] = (
            figures["candidate"]["total_cost"] - figures["current"]["total_cost"] if both else None
        )
    for by in BREAKDOWNS:
        groups = _groups(frame[by].astype(str))
        rows = []
        for value in sorted(groups.unique()):
            mask = (groups == value).to_numpy()
            row: dict[str, Any] = {by: value, "claims": int(mask.sum())}
            if both:
                row["changed"] = int((cur[mask] != cand[mask]).sum())
            for n in sides:
                row[f"write_off_rate_{n}"] = float((decided[n][mask] == "write_off").mean())
            if result["outcomes_known"]:
                truth = frame["t_decision"].to_numpy()[mask]
                for n in sides:
                    row[f"cost_{n}"] = float(figures[n]["cost"][mask].sum())
                    row[f"wrong_write_offs_{n}"] = int(
                        ((truth == "repair") & (decided[n][mask] == "write_off")).sum()
                    )
                if both:
                    row["cost_impact"] = row["cost_candidate"] - row["cost_current"]
            rows.append(row)
        result["breakdown"][by] = rows
    result["seconds"] = round(time.perf_counter() - started, 3)
    result["claims_per_s"] = round(len(frame) / max(result["seconds"], 1e-9), 1)
    return result


# --- report ---------------------------------------------------------------------------------------
def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode()


def _plots(result: dict) -> list[tuple[str, str]]:
    """(title, base64 PNG) of each plot; none without matplotlib (the training image has none)."""
    try:
        import matplotlib
    except ImportError:
        return []

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plots = []
    fig, ax = plt.subplots(figsize=(6, 3))
    x = np.arange(len(DECISIONS))
    sides = [n for n in SIDES if n in result["mix"]]
    width = 0.76 / len(sides)
    for i, n in enumerate(sides):
        offset = (i - (len(sides) - 1) / 2) * width
        ax.bar(x + offset, [result["mix"][n][d] for d in DECISIONS], width, label=n)
    ax.set_xticks(x, [d.replace("_", " ") for d in DECISIONS])
    ax.set_ylabel("claims")
    ax.set_title("Decision mix")
    ax.legend()
    plots.append((f"Decision mix, {' vs '.join(sides)}", _png(fig)))
    plt.close(fig)
    if result["outcomes_known"] and result["current_model"]:
        rows = result["breakdown"]["region"]
        fig, ax = plt.subplots(figsize=(7, 3.2))
        impact = [r["cost_impact"] for r in rows]
        ax.barh([r["region"] for r in rows], impact,
                color=["#b33" if v > 0 else "#3a3" for v in impact])  # fmt: skip
        ax.axvline(0, color="#444", lw=0.8)
        ax.set_xlabel("decision cost, candidate - current (GBP; > 0 costs more)")
        ax.set_title("Cost impact by region")
        plots.append(("Cost impact by region", _png(fig)))
        plt.close(fig)
    return plots


def _table(rows: list[dict], money: tuple[str, ...] = ()) -> str:
    if not rows:
        return "<p>none</p>"
    head = "".join(f"<th>{html.escape(str(k))}</th>" for k in rows[0])
    body = []
    for r in rows:
        cells = []
        for k, v in r.items():
            if isinstance(v, float):
                is_money = k in money or k.startswith("cost")
                text = f"{'-' if v < 0 else ''}£{abs(v):,.0f}" if is_money else f"{v:.1%}"
            else:
                text = f"{v:,}" if isinstance(v, int) else str(v)
            cells.append(f"<td>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def render_html(result: dict) -> str:
    s = result["sides"]
    sides = [n for n in SIDES if n in s]
    if result["change_matrix"] is not None:
        summary = f"{result['changed']:,} decisions change ({result['changed_rate']:.1%})"
    else:
        summary = "no current model: the candidate alone, no decision changes to show"
    parts = [
        "<h1>Remedy backtest</h1>",
        f"<p>{result['claims']:,} claims; {html.escape(summary)}.</p>",
        _table(
            [
                {
                    "side": n,
                    "model": s[n]["model"],
                    "rules": s[n]["rules"],
                    "rules digest": s[n]["rules_digest"],
                }
                for n in sides
            ]
        ),
    ]
    if result["change_matrix"] is not None:
        matrix = result["change_matrix"]
        rows = [{"current \\ candidate": a, **matrix[a]} for a in DECISIONS]
        parts += ["<h2>Decision changes</h2>", _table(rows)]
    else:
        mix = result["mix"]["candidate"]
        parts += ["<h2>Decision mix</h2>", _table([{"side": "candidate", **mix}])]
    if result["outcomes_known"]:
        o = result["outcomes"]
        impact = result["cost_impact"]
        parts.append("<h2>Against known outcomes</h2>")
        if impact is not None:
            parts.append(
                f"<p>Cost impact: <b>{'+' if impact >= 0 else '-'}£{abs(impact):,.0f}</b> "
                f"({'the candidate costs more' if impact > 0 else 'the candidate saves'}).</p>"
            )
        parts += [
            _table(
                [{"side": n, **o[n]} for n in sides],
                money=("total_cost", "cost_per_claim", "pav_shortfall_total"),
            ),
        ]
    plots = _plots(result)
    for title, png in plots:
        parts.append(f'<h2>{html.escape(title)}</h2><img alt="{html.escape(title)}" '
                     f'src="data:image/png;base64,{png}">')  # fmt: skip
    if not plots:
        parts.append("<p>No plots: matplotlib is not installed where this report was made.</p>")
    for by in BREAKDOWNS:
        parts += [f"<h2>By {by}</h2>", _table(result["breakdown"][by])]
    style = ("body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}"
             "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;"
             "padding:3px 8px;text-align:right}th{background:#f3f3f3}")  # fmt: skip
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Remedy backtest</title>"
            f"<style>{style}</style></head><body>{''.join(parts)}</body></html>")  # fmt: skip


def write_report(result: dict, out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / "backtest.json", "html": out_dir / "backtest.html"}
    paths["json"].write_text(json.dumps(result, indent=2))
    paths["html"].write_text(render_html(result))
    return paths
