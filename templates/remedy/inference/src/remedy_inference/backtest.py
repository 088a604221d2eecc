"""Backtest (``mlops backtest``): the scoring and the report are ``remedy_core.backtest``, shared
with the training repo (whose pipeline's Backtest step runs them on every candidate); this module
keeps the inference repo's import path."""

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
