"""Logic behind `mlops analytics refresh` and `mlops dashboard` (the CLI stays thin)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mlops.errors import MlopsError, UsageError

DEFAULT_WAREHOUSE = Path(".mlops/analytics/warehouse.duckdb")
DEFAULT_DASHBOARD_DIR = Path(".mlops/analytics/dashboard")
DEMO_USECASE = "remedy"
"""The use case the commands read when none is named: the local demo's (``mlops demo``)."""


@dataclass(frozen=True)
class RefreshSummary:
    objects_seen: int
    objects_loaded: int
    objects_skipped: int
    rows: dict[str, int]
    duplicates: int
    rejected: int
    warehouse: Path

    def lines(self) -> list[str]:
        rows = ", ".join(f"{n} {t}" for t, n in sorted(self.rows.items())) or "no new rows"
        return [
            f"{self.objects_loaded} new object(s) loaded, {self.objects_skipped} already loaded "
            f"(of {self.objects_seen} in the landing bucket)",
            f"rows: {rows}; duplicates ignored: {self.duplicates}; rejected: {self.rejected}",
            f"warehouse: {self.warehouse}",
        ]


def resolve_endpoint(endpoint_url: str | None) -> str:
    """The local AWS endpoint: the option, else AWS_ENDPOINT_URL; never real AWS."""
    url = endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
    if not url:
        raise UsageError(
            "no local AWS endpoint to read decision events from",
            fix="start the local environment (`mlops demo`) and pass --endpoint-url "
            "http://127.0.0.1:PORT, or set AWS_ENDPOINT_URL",
        )
    if not url.startswith(("http://127.0.0.1", "http://localhost")):
        raise UsageError(
            f"--endpoint-url {url} is not a local (loopback) endpoint",
            fix="`mlops analytics refresh` reads the embedded AWS only; use http://127.0.0.1:PORT",
        )
    return url


def refresh_command(
    warehouse: Path, endpoint_url: str | None, usecase: str = DEMO_USECASE
) -> RefreshSummary:
    """Load the use case's new landing objects with its event registry (its manifest's
    ``analytics.events``)."""
    from mlops.analytics.usecase import analytics_for
    from mlops.local.analytics_stream import refresh

    url = resolve_endpoint(endpoint_url)
    events = analytics_for(usecase).events
    result = refresh(warehouse, url, events, usecase)
    return RefreshSummary(
        result.objects_seen,
        result.objects_loaded,
        result.objects_skipped,
        dict(result.rows),
        result.duplicates,
        result.rejected,
        warehouse,
    )


def dashboard_command(
    warehouse: Path,
    out_dir: Path,
    reference: Path | None,
    psi_threshold: float,
    usecase: str = DEMO_USECASE,
) -> dict[str, Path]:
    """Render the use case's dashboard (its manifest's ``analytics.dashboard``)."""
    from mlops.analytics.drift import ReferenceProfile
    from mlops.analytics.usecase import analytics_for
    from mlops.analytics.warehouse import Warehouse

    if not warehouse.exists():
        raise MlopsError(
            f"no analytics warehouse at {warehouse}",
            fix="run `mlops analytics refresh` first (or pass --warehouse PATH)",
        )
    if not 0 < psi_threshold < 10:
        raise UsageError(
            f"--psi-threshold {psi_threshold} is out of range", fix="use a value such as 0.2"
        )
    analytics = analytics_for(usecase)
    profile = ReferenceProfile.load(reference) if reference else None
    with Warehouse(warehouse, events=analytics.events) as wh:
        result = analytics.render_dashboard(
            wh, out_dir, reference=profile, psi_threshold=psi_threshold
        )
    return {"html": result.html_path, **result.png_paths}
