"""Backtest (``mlops backtest``): the scoring and the report are ``remedy_core.backtest``, shared
with the training repo (whose pipeline's Backtest step runs them on every candidate); this module
keeps the inference repo's import path and is the template's backtest entry point (declared as
``template_backtest`` in the template's copier.yml; the contract is
``mlops.backtest.BacktestEntryPoint``): claims in, two Remedy bundles and rule sets compared, the
HTML + JSON report out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from remedy_core.backtest import (  # noqa: F401 - this module's API
    BREAKDOWNS,
    MIN_GROUP,
    OUTCOME_FIGURES,
    SIDES,
    BacktestError,
    Side,
    load_claims,
    load_rules,
    render_html,
    run_backtest,
    write_report,
)

Error = BacktestError
"""What the entry point raises for bad input: ``(message, fix)``."""


def load_data(path: Path) -> Any:
    """Historical claims (``--data``: .parquet, .csv or .jsonl), outcomes optional."""
    return load_claims(path)


def synthetic_data(n: int, seed: int) -> Any:
    """``n`` seeded synthetic claims with outcomes (``--synthetic``)."""
    from remedy_core.synthetic import generate_claims

    return generate_claims(n, seed=seed)


def load_model(path: Path) -> Any:
    """A Remedy bundle directory, compiled as the decision service serves it."""
    from remedy_core.bundle import BundleError, load_bundle
    from remedy_inference.compiled import CompiledBundle

    try:
        return CompiledBundle(load_bundle(path))
    except (BundleError, ValueError, OSError) as exc:
        raise BacktestError(str(exc), "pass a bundle written by the training pipeline") from exc


def compare(
    data: Any, current: tuple[Any, Any], candidate: tuple[Any, Any], progress: Any = None
) -> dict:
    """Both sides (a model from ``load_model``, a rule set from ``load_rules``) on ``data``,
    valued by the synthetic market (a backtest never calls the valuation API)."""
    from remedy_inference.market_data import SyntheticMarket

    sides = [
        Side(model, model.bundle_id, rules, source)
        for model, (rules, source) in (current, candidate)
    ]
    return run_backtest(data, *sides, market=SyntheticMarket(), progress=progress)


def summary(result: dict) -> list[str]:
    """What ``mlops backtest`` prints: the headline, then one line per current decision and
    the decision cost where outcomes are known."""
    lines = [
        f"{result['claims']:,} claims, {result['changed']:,} decisions change "
        f"({result['changed_rate']:.1%}) in {result['seconds']:.1f} s"
    ]
    for a, row in result["change_matrix"].items():
        lines.append(f"  current {a:<11} -> " + ", ".join(f"{b} {n:,}" for b, n in row.items()))
    if result["outcomes_known"]:
        o = result["outcomes"]
        lines.append(
            f"  decision cost: current £{o['current']['total_cost']:,.0f}, candidate "
            f"£{o['candidate']['total_cost']:,.0f} (impact £{result['cost_impact']:+,.0f}); "
            f"wrong write-offs {o['current']['wrong_write_offs']} -> "
            f"{o['candidate']['wrong_write_offs']}"
        )
    return lines
