"""The dashboard frame: self-contained HTML pages (work offline) plus one PNG per chart.

The platform draws no use case's charts: a use case's dashboard (named in its manifest,
``analytics.dashboard: <module>:<function>``, a :class:`DashboardRenderer`) draws them from its
views in the warehouse with the helpers here and writes its pages with :func:`write_page`.
Charts are matplotlib (Agg) figures embedded in the HTML as base64 PNG data URIs: no CDN, no
JavaScript library, no network.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from mlops.analytics.drift import ReferenceProfile
    from mlops.analytics.warehouse import Warehouse


@dataclass(frozen=True)
class Chart:
    slug: str
    title: str
    caption: str
    png: bytes
    tables: tuple[str, ...] = ()
    """Views whose first rows the page shows under the chart (``<details>``)."""


@dataclass
class DashboardResult:
    html_path: Path
    png_paths: dict[str, Path] = field(default_factory=dict)
    decisions: int = 0
    health_path: Path | None = None


class DashboardRenderer(Protocol):
    """A use case's dashboard: writes ``index.html`` (and any further pages) and one PNG per
    chart into ``out_dir``."""

    def __call__(
        self,
        wh: Warehouse,
        out_dir: Path,
        *,
        reference: ReferenceProfile | None = None,
        psi_threshold: float = ...,
    ) -> DashboardResult: ...


# --- matplotlib helpers ---------------------------------------------------------------------


def plt() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (imported on first use)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    return pyplot


def png(fig: Any) -> bytes:
    """The figure as PNG bytes (closed afterwards)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt().close(fig)
    return buf.getvalue()


def empty(ax: Any, text: str = "no data yet") -> None:
    """An axis that says there is nothing to draw."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=12)
    ax.set_xticks([])
    ax.set_yticks([])


def month_axis(ax: Any) -> None:
    """``YYYY-MM`` ticks, slanted."""
    import matplotlib.dates as mdates

    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
    for label in ax.get_xticklabels():
        label.set_rotation(45)
        label.set_horizontalalignment("right")


def write_charts(out: Path, charts: Iterable[Chart], result: DashboardResult) -> None:
    """``<slug>.png`` per chart in ``out``, recorded in ``result.png_paths``."""
    for chart in charts:
        path = out / f"{chart.slug}.png"
        path.write_bytes(chart.png)
        result.png_paths[chart.slug] = path


# --- HTML -----------------------------------------------------------------------------------

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#212529;
background:#fff}h1{margin:0 0 4px}p.meta{color:#868e96;margin:0 0 20px}
.kpis{display:flex;gap:16px;margin-bottom:24px}.kpi{border:1px solid #dee2e6;border-radius:6px;
padding:10px 16px}.kpi b{display:block;font-size:22px}figure{margin:0 0 36px;
border-top:1px solid #dee2e6;padding-top:12px}figure img{max-width:100%}
figcaption{color:#495057;margin:6px 0}table{border-collapse:collapse;font-size:12px;margin-top:8px}
td,th{border:1px solid #dee2e6;padding:3px 8px;text-align:right}th{background:#f1f3f5}
details summary{cursor:pointer;color:#1c7ed6}
"""
# Marks the page once every chart image has decoded (checked by the headless-browser test).
SCRIPT = """
window.addEventListener('load',function(){var imgs=document.querySelectorAll('figure img');
var ok=0;imgs.forEach(function(i){if(i.complete&&i.naturalWidth>0){ok++;}});
document.body.setAttribute('data-charts-loaded',String(ok));});
"""


def view_table(wh: Warehouse, view: str, limit: int = 12) -> str:
    """The first rows of a view as an HTML table (ordered by its first two columns)."""
    wh.get_view(view)  # a clear error for unknown names; the name is then safe in SQL
    df = wh.frame(f"SELECT * FROM {view} ORDER BY 1, 2 LIMIT {int(limit)}")  # noqa: S608
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = []
    for row in df.itertuples(index=False):
        cells = []
        for v in row:
            text = f"{v:,.3f}" if isinstance(v, float) else str(v)
            cells.append(f"<td>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def alarms_table(wh: Warehouse) -> str:
    """The recorded model-health alarms (``Warehouse.alarms``) as an HTML table."""
    alarms = wh.alarms()
    if not alarms:
        return "<p>No alarms.</p>"
    head = "".join(f"<th>{c}</th>" for c in ("month", "raised by", "check", "value", "limit",
                                             "what"))  # fmt: skip
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in (
            a["month"], a["source"], a["metric"],
            f"{a['value']:.3f}" if a["value"] is not None else "", a["threshold"], a["message"],
        )) + "</tr>"
        for a in alarms
    )  # fmt: skip
    return f"<table id='alarms'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def kpis_html(kpis: Sequence[tuple[str, int]]) -> str:
    """KPI tiles: (label, count) each."""
    tiles = "".join(f'<div class="kpi"><b>{n:,}</b>{html.escape(label)}</div>' for label, n in kpis)
    return f"<div class='kpis'>{tiles}</div>"


def figure_html(chart: Chart, wh: Warehouse | None = None) -> str:
    """One chart as a ``<figure>``: title, embedded PNG, caption and its views' first rows."""
    data = base64.b64encode(chart.png).decode()
    tables = "".join(
        f"<details><summary>{html.escape(v)} (first rows)</summary>{view_table(wh, v)}</details>"
        for v in (chart.tables if wh is not None else ())
    )
    return (
        f'<figure id="chart-{chart.slug}"><h2>{html.escape(chart.title)}</h2>'
        f'<img alt="{html.escape(chart.title)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(chart.caption)}</figcaption>{tables}</figure>"
    )


def page_html(title: str, meta_html: str, body_html: str) -> str:
    """A whole page: title, a line of metadata (HTML, already escaped) and the body."""
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p class='meta'>{meta_html}</p>"
        f"{body_html}<script>{SCRIPT}</script></body></html>"
    )


def generated_at() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
