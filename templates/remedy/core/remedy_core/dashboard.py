"""Remedy's dashboard: the decisions-and-analytics page, and the model-health page
(:mod:`remedy_core.health_dashboard`).

The platform's ``mlops analytics dashboard`` (and ``mlops demo``) call :func:`render`, named in
the use case's manifest (``analytics.dashboard: remedy_core.dashboard:render``); the page frame,
chart helpers and HTML writing are the platform's (:mod:`mlops.analytics.dashboard`). Every chart
reads one of Remedy's analytics views (``sql/``) or its decision events in the warehouse.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
from mlops.analytics import dashboard as frame
from mlops.analytics.dashboard import Chart, DashboardResult
from mlops.analytics.drift import (
    DEFAULT_PSI_THRESHOLD,
    MIN_ROWS_FOR_PSI,
    ReferenceProfile,
    feature_frame,
    psi_by_month,
)

from remedy_core.drift_features import KEY_FEATURES
from remedy_core.health_dashboard import build_health_charts, render_health_html

TITLE = "Remedy decisions: monitoring and analytics"
REC_COLOURS = {"repair": "#2b8a3e", "write_off": "#c92a2a", "investigate": "#e8a317"}
#: views whose first rows each chart of the main page shows
VIEW_TABLES = {
    "monthly_total_losses_by_region": ("monthly_total_losses_by_region",),
    "avg_repair_cost_by_make_model": ("avg_repair_cost_by_make_model",),
    "decision_mix": ("decision_mix_monthly",),
    "rates": ("investigate_rate_monthly", "override_rate_monthly"),
    "pav_vs_settlement": ("pav_vs_settlement",),
    "cycle_time": ("cycle_time",),
    "model_error": ("model_error",),
}


def chart_total_losses(wh: Any) -> Chart:
    plt = frame.plt()
    df = wh.frame("SELECT * FROM monthly_total_losses_by_region ORDER BY month_start, region")
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(15, 5.6), gridspec_kw={"width_ratios": [1.05, 1]})
    if df.empty:
        frame.empty(ax1), frame.empty(ax2)
    else:
        counts = df.pivot(index="month_start", columns="region", values="total_losses").fillna(0)
        rates = df.pivot(index="region", columns="month_start", values="total_loss_rate")
        months = [str(m)[:7] for m in counts.index]
        colours = plt.get_cmap("tab20").colors
        bottom = None
        for i, region in enumerate(counts.columns):
            vals = counts[region].to_numpy()
            ax1.bar(months, vals, bottom=bottom, label=region, color=colours[i % len(colours)])
            bottom = vals if bottom is None else bottom + vals
        ax1.set_title("Total losses per month (write-off recommendations)")
        ax1.set_ylabel("write-offs")
        ax1.tick_params(axis="x", rotation=45)
        ax1.legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.18))
        image = ax2.imshow(rates.to_numpy() * 100, aspect="auto", cmap="Reds", vmin=0)
        ax2.set_yticks(range(len(rates.index)), list(rates.index), fontsize=8)
        ax2.set_xticks(
            range(len(rates.columns)), [str(m)[:7] for m in rates.columns], rotation=45,
            ha="right", fontsize=8,
        )  # fmt: skip
        for (r, c), value in np.ndenumerate(rates.to_numpy() * 100):
            if not np.isnan(value):
                ax2.text(c, r, f"{value:.0f}", ha="center", va="center", fontsize=6.5)
        ax2.set_title("Total-loss rate by region (% of decisions)")
        fig.colorbar(image, ax=ax2, fraction=0.04, pad=0.02)
    fig.suptitle("Monthly total losses by region")
    return Chart(
        "monthly_total_losses_by_region",
        "Monthly total losses by region",
        wh.get_view("monthly_total_losses_by_region").description,
        frame.png(fig),
    )


def chart_repair_cost(wh: Any, top: int = 20) -> Chart:
    plt = frame.plt()
    df = wh.frame(
        "SELECT * FROM avg_repair_cost_by_make_model ORDER BY repairs DESC, make, model LIMIT ?",
        [int(top)],
    )
    fig, ax = plt.subplots(figsize=(11, max(4, 0.34 * max(len(df), 1) + 1.5)))
    if df.empty:
        frame.empty(ax)
    else:
        df = df.iloc[::-1]
        labels = [
            f"{m} {mo} (n={n})" for m, mo, n in zip(df.make, df.model, df.repairs, strict=True)
        ]
        y = range(len(df))
        ax.barh(
            [i + 0.2 for i in y],
            df.avg_predicted_repair_cost,
            height=0.4,
            label="predicted first estimate (p50)",
            color="#1c7ed6",
        )
        ax.barh(
            [i - 0.2 for i in y],
            df.avg_actual_repair_cost.fillna(0),
            height=0.4,
            label="actual cost paid (closed repairs)",
            color="#868e96",
        )
        ax.set_yticks(list(y), labels, fontsize=8)
        ax.set_xlabel("average repair cost (GBP)")
        ax.grid(axis="x", alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    ax.set_title(f"Average repair cost by manufacturer and model (top {top} by volume)")
    return Chart(
        "avg_repair_cost_by_make_model",
        "Average repair cost by manufacturer and model",
        wh.get_view("avg_repair_cost_by_make_model").description,
        frame.png(fig),
    )


def chart_decision_mix(wh: Any) -> Chart:
    plt = frame.plt()
    df = wh.frame("SELECT * FROM decision_mix_monthly ORDER BY month_start")
    fig, ax = plt.subplots(figsize=(11, 4.2))
    if df.empty:
        frame.empty(ax)
    else:
        share = df.pivot(index="month_start", columns="recommendation", values="share").fillna(0)
        bottom = None
        labels = [str(m)[:7] for m in share.index]
        for rec in ("repair", "write_off", "investigate"):
            if rec in share:
                vals = share[rec] * 100
                ax.bar(labels, vals, bottom=bottom, label=rec, color=REC_COLOURS[rec])
                bottom = vals if bottom is None else bottom + vals
        ax.set_ylabel("% of decisions")
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
        ax.tick_params(axis="x", rotation=45)
    ax.set_title("Decision mix over time")
    return Chart(
        "decision_mix",
        "Decision mix over time",
        wh.get_view("decision_mix_monthly").description,
        frame.png(fig),
    )


def chart_rates(wh: Any) -> Chart:
    plt = frame.plt()
    inv = wh.frame(
        "SELECT month_start, SUM(investigations) * 1.0 / SUM(decisions) AS rate "
        "FROM investigate_rate_monthly GROUP BY 1 ORDER BY 1"
    )
    ovr = wh.frame(
        "SELECT month_start, SUM(overrides) * 1.0 / SUM(actioned) AS override_rate, "
        "SUM(inspect_rate * actioned) / SUM(actioned) AS inspect_rate "
        "FROM override_rate_monthly GROUP BY 1 ORDER BY 1"
    )
    fig, ax = plt.subplots(figsize=(11, 4.2))
    if inv.empty:
        frame.empty(ax)
    else:
        ax.plot(inv.month_start, inv.rate * 100, marker="o", label="investigate rate (model)")
        if not ovr.empty:
            ax.plot(
                ovr.month_start, ovr.override_rate * 100, marker="s", label="handler override rate"
            )
            ax.plot(
                ovr.month_start, ovr.inspect_rate * 100, marker="^", label="handler inspection rate"
            )
        ax.axhline(25, color="#c92a2a", ls="--", lw=1, label="investigation capacity (25%)")
        ax.set_ylabel("%")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        frame.month_axis(ax)
    ax.set_title("Investigate and override rates")
    caption = (
        wh.get_view("investigate_rate_monthly").description
        + " "
        + wh.get_view("override_rate_monthly").description
    )
    return Chart("rates", "Investigate and override rates", caption, frame.png(fig))


def chart_drift(wh: Any, reference: ReferenceProfile | None, threshold: float) -> Chart:
    plt = frame.plt()
    fig, ax = plt.subplots(figsize=(11, 4.2))
    caption = (
        f"Population stability index of each key input per month against the training data; "
        f"above {threshold:g} (dashed line) the input has shifted enough to review the model "
        f"(months with fewer than {MIN_ROWS_FOR_PSI} decisions are left out)."
    )
    if reference is None:
        frame.empty(ax, "no training reference profile given (--reference)")
    else:
        df = feature_frame(wh, [f for f in KEY_FEATURES if f in reference.features])
        rows = psi_by_month(df, reference) if not df.empty else []
        if not rows:
            frame.empty(ax)
        else:
            import pandas as pd

            psi = pd.DataFrame(rows).pivot(index="month_start", columns="feature", values="psi")
            for feature in psi.columns:
                ax.plot(psi.index, psi[feature], marker="o", ms=3, label=feature)
            ax.axhline(
                threshold, color="#c92a2a", ls="--", lw=1.5, label=f"threshold {threshold:g}"
            )
            ax.set_ylabel("PSI")
            ax.set_ylim(bottom=0)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
            frame.month_axis(ax)
        caption += f" Reference: {reference.source} ({reference.rows:,} rows)."
    ax.set_title("Input drift (PSI per key feature vs training data)")
    return Chart("input_drift", "Input drift", caption, frame.png(fig))


def chart_pav(wh: Any) -> Chart:
    plt = frame.plt()
    df = wh.frame(
        "SELECT month_start, SUM(settlements) AS n, SUM(avg_pav_used * settlements) / "
        "SUM(settlements) AS pav, SUM(avg_settlement * settlements) / SUM(settlements) AS paid "
        "FROM pav_vs_settlement GROUP BY 1 ORDER BY 1"
    )
    fig, ax = plt.subplots(figsize=(11, 4.2))
    if df.empty:
        frame.empty(ax)
    else:
        ax.plot(df.month_start, df.pav, marker="o", label="average PAV used in the decision")
        ax.plot(df.month_start, df.paid, marker="s", label="average settlement paid")
        ax.set_ylabel("GBP")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        frame.month_axis(ax)
    ax.set_title("PAV vs settlement (write-offs)")
    return Chart(
        "pav_vs_settlement",
        "PAV vs settlement",
        wh.get_view("pav_vs_settlement").description,
        frame.png(fig),
    )


def chart_cycle(wh: Any) -> Chart:
    plt = frame.plt()
    df = wh.frame("SELECT * FROM cycle_time ORDER BY month_start, final_path")
    fig, ax = plt.subplots(figsize=(11, 4.2))
    if df.empty:
        frame.empty(ax)
    else:
        for path, group in df.groupby("final_path"):
            ax.plot(group.month_start, group.avg_cycle_days, marker="o", label=str(path))
        ax.set_ylabel("days from decision to closure")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        frame.month_axis(ax)
    ax.set_title("Cycle time")
    return Chart("cycle_time", "Cycle time", wh.get_view("cycle_time").description, frame.png(fig))


def chart_model_error(wh: Any) -> Chart:
    plt = frame.plt()
    df = wh.frame(
        "SELECT month_start, SUM(mae * repairs_closed) / SUM(repairs_closed) AS mae, "
        "SUM(interval_coverage_80 * repairs_closed) / SUM(repairs_closed) AS coverage "
        "FROM model_error GROUP BY 1 ORDER BY 1"
    )
    fig, ax = plt.subplots(figsize=(11, 4.2))
    if df.empty:
        frame.empty(ax, "no closed repairs yet")
    else:
        ax.plot(df.month_start, df.mae, marker="o", color="#1c7ed6", label="MAE (GBP)")
        ax.set_ylabel("MAE (GBP)")
        ax2 = ax.twinx()
        ax2.plot(
            df.month_start,
            df.coverage * 100,
            marker="s",
            color="#e8590c",
            label="80% interval coverage",
        )
        ax2.axhspan(78, 82, color="#e8590c", alpha=0.12)
        ax2.set_ylabel("coverage %")
        ax2.set_ylim(0, 100)
        ax.grid(alpha=0.3)
        frame.month_axis(ax)
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = ax2.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, fontsize=8, loc="lower left")
    ax.set_title("Repair-cost model error where outcomes are known")
    return Chart(
        "model_error", "Model error", wh.get_view("model_error").description, frame.png(fig)
    )


def build_charts(
    wh: Any,
    reference: ReferenceProfile | None = None,
    psi_threshold: float = DEFAULT_PSI_THRESHOLD,
) -> list[Chart]:
    """The main page's charts, each with the views it shows under it."""
    charts = [
        chart_total_losses(wh),
        chart_repair_cost(wh),
        chart_decision_mix(wh),
        chart_rates(wh),
        chart_drift(wh, reference, psi_threshold),
        chart_pav(wh),
        chart_cycle(wh),
        chart_model_error(wh),
    ]
    return [Chart(c.slug, c.title, c.caption, c.png, VIEW_TABLES.get(c.slug, ())) for c in charts]


def render_html(wh: Any, charts: list[Chart], title: str = TITLE) -> str:
    kpis = frame.kpis_html([
        ("decisions", wh.count("decision_events")),
        ("handler actions", wh.count("handler_actions")),
        ("closed claims", wh.count("claim_outcomes")),
        ("objects loaded", wh.count("load_ledger")),
    ])  # fmt: skip
    meta = (
        f"Generated {frame.generated_at()} from the analytics warehouse "
        f"{html.escape(Path(wh.path).name)}. Self-contained: works offline. "
        "<a href='model-health.html'>Model health</a>"
    )
    figures = "".join(frame.figure_html(c, wh) for c in charts)
    return frame.page_html(title, meta, kpis + figures)


def render(
    wh: Any,
    out_dir: str | Path,
    *,
    reference: ReferenceProfile | None = None,
    psi_threshold: float = DEFAULT_PSI_THRESHOLD,
    title: str = TITLE,
) -> DashboardResult:
    """Write ``index.html``, ``model-health.html`` and ``<chart>.png`` files into ``out_dir``:
    the manifest's ``analytics.dashboard`` (an ``mlops.analytics.dashboard.DashboardRenderer``)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    charts = build_charts(wh, reference, psi_threshold)
    result = DashboardResult(out / "index.html", decisions=wh.count("decision_events"))
    frame.write_charts(out, charts, result)
    result.html_path.write_text(render_html(wh, charts, title))
    health = build_health_charts(wh, reference, psi_threshold)
    frame.write_charts(out, health, result)
    result.health_path = out / "model-health.html"
    result.health_path.write_text(render_health_html(wh, health))
    return result
