"""Remedy's model-health page: drift per feature, model error against claim outcomes, alarms.

Part of Remedy's dashboard (:func:`remedy_core.dashboard.render` writes it as
``model-health.html``); the alarms are those the health job recorded in the warehouse.
"""

from __future__ import annotations

from typing import Any

from mlops.analytics import dashboard as frame
from mlops.analytics.dashboard import Chart
from mlops.analytics.drift import (
    DEFAULT_PSI_THRESHOLD,
    ReferenceProfile,
    feature_frame,
    psi_by_month,
)

from remedy_core.drift_features import KEY_FEATURES

HEALTH_TITLE = "Remedy model health: drift, error, alarms"


#: months with fewer decisions are left out of the health page's PSI (the overview uses
#: mlops.analytics.drift.MIN_ROWS_FOR_PSI)
HEALTH_MIN_ROWS = 50


def _psi_frame(wh: Any, reference: ReferenceProfile) -> Any:
    import pandas as pd

    cols = [*(f for f in KEY_FEATURES if f in reference.features), *reference.categories]
    df = feature_frame(wh, cols)
    rows = psi_by_month(df, reference, min_rows=HEALTH_MIN_ROWS) if not df.empty else []
    if not rows:
        return None
    return pd.DataFrame(rows).pivot(index="month_start", columns="feature", values="psi")


def chart_health_drift(wh: Any, reference: ReferenceProfile | None, threshold: float) -> Chart:
    plt = frame.plt()
    fig, ax = plt.subplots(figsize=(11, 4.4))
    caption = (
        f"PSI of each input against the training reference, per month of decision (numeric "
        f"inputs on the reference's deciles, the powertrain mix on its levels; months with "
        f"fewer than {HEALTH_MIN_ROWS} decisions left out). Above {threshold:g} the input has "
        "shifted."
    )
    psi = _psi_frame(wh, reference) if reference is not None else None
    if psi is None:
        frame.empty(ax, "no drift reference or too few decisions")
    else:
        months = [str(m)[:7] for m in psi.index]
        width = 0.8 / max(len(psi.columns), 1)
        for i, feature in enumerate(psi.columns):
            xs = [j + i * width for j in range(len(months))]
            ax.bar(xs, psi[feature].fillna(0), width=width, label=feature)
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(months))], months)
        ax.axhline(threshold, color="#c92a2a", ls="--", lw=1.5, label=f"alarm above {threshold:g}")
        ax.set_ylabel("PSI")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_title("Drift per feature (PSI vs training data)")
    return Chart("health_drift", "Drift per feature", caption, frame.png(fig))


def chart_health_error(wh: Any) -> Chart:
    plt = frame.plt()
    df = wh.frame("SELECT * FROM model_quality_monthly ORDER BY month_start")
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(15, 4.6))
    if df.empty:
        frame.empty(ax1, "no closed claims yet"), frame.empty(ax2, "no closed claims yet")
    else:
        months = [str(m)[:7] for m in df.month_start]
        ax1.bar(months, df.repair_mae, color="#1c7ed6", label="repair-cost MAE vs final (GBP)")
        ax1.set_ylabel("GBP")
        ax1b = ax1.twinx()
        ax1b.plot(months, (df.repair_bias_ratio - 1) * 100, marker="o", color="#c92a2a",
                  label="bias % (predicted / final - 1)")  # fmt: skip
        ax1b.axhline(0, color="#868e96", lw=0.8)
        ax1b.set_ylabel("bias %")
        h1, l1 = ax1.get_legend_handles_labels()
        h2, l2 = ax1b.get_legend_handles_labels()
        ax1.legend(h1 + h2, l1 + l2, fontsize=8, loc="upper left")
        ax1.set_title("Repair-cost error against the final cost")
        for col, label, style in (
            ("interval_coverage_80", "80% interval coverage", "o-"),
            ("pav_within_10pct", "PAV within 10% of settlement", "s-"),
            ("wrong_write_off_rate", "wrong write-offs", "^-"),
            ("total_loss_ece", "total-loss ECE", "d-"),
        ):
            ax2.plot(months, df[col].astype(float) * 100, style, label=label)
        ax2.axhspan(78, 82, color="#e8590c", alpha=0.12, label="coverage target 78-82%")
        ax2.set_ylabel("%")
        ax2.set_ylim(0, 105)
        ax2.grid(alpha=0.3)
        ax2.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
        ax2.set_title("Quality against claim outcomes")
    fig.suptitle("Model error over time (month of decision, closed claims)")
    return Chart(
        "health_error",
        "Error over time",
        wh.get_view("model_quality_monthly").description,
        frame.png(fig),
    )


def build_health_charts(
    wh: Any,
    reference: ReferenceProfile | None = None,
    psi_threshold: float = DEFAULT_PSI_THRESHOLD,
) -> list[Chart]:
    return [chart_health_drift(wh, reference, psi_threshold), chart_health_error(wh)]


def render_health_html(wh: Any, charts: list[Chart], title: str = HEALTH_TITLE) -> str:
    kpis = frame.kpis_html([("alarms", len(wh.alarms())), ("closed claims",
                            wh.count("claim_outcomes"))])  # fmt: skip
    meta = f"Generated {frame.generated_at()}. <a href='index.html'>Decisions and analytics</a>"
    alarms = f"<figure id='alarms-section'><h2>Alarms</h2>{frame.alarms_table(wh)}</figure>"
    figures = "".join(frame.figure_html(c) for c in charts)
    return frame.page_html(title, meta, kpis + alarms + figures)
