"""The embedded DuckDB warehouse: event tables, the analytics views and an idempotent loader.

``refresh`` lists the landing bucket, skips every object already in the load ledger (keyed by
bucket, key and ETag) and loads each new object's rows and its ledger entry in one transaction, so
re-running loads nothing twice and a crash never leaves half an object behind. Rows are also keyed
by ``event_id`` (Firehose delivers at least once), so the same event in two objects counts once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pandas as pd

from mlops.analytics.records import Rejected, Row, decode_object
from mlops.analytics.views import View, create_statements, get_view
from mlops.errors import MlopsError
from mlops.events import EventRegistry


class WarehouseError(MlopsError):
    """The local warehouse cannot be opened or loaded."""


@dataclass(frozen=True)
class ObjectRef:
    key: str
    etag: str
    size: int = 0


class ObjectStore(Protocol):
    """Where Firehose lands objects: S3 (boto3, moto locally) or anything list/read-able."""

    name: str

    def list_objects(self, prefix: str = "") -> Iterable[ObjectRef]: ...

    def read(self, key: str) -> bytes: ...


class S3ObjectStore:
    """An S3 bucket through boto3 (works against moto server with ``endpoint_url``)."""

    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket
        self.name = f"s3://{bucket}"

    def list_objects(self, prefix: str = "") -> Iterator[ObjectRef]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                yield ObjectRef(obj["Key"], obj["ETag"].strip('"'), obj.get("Size", 0))

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()


@dataclass
class RefreshResult:
    objects_seen: int = 0
    objects_loaded: int = 0
    objects_skipped: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    rejected: int = 0

    @property
    def rows_loaded(self) -> int:
        return sum(self.rows.values())


_LEDGER = """
CREATE TABLE IF NOT EXISTS load_ledger (
  source VARCHAR NOT NULL,
  object_key VARCHAR NOT NULL,
  etag VARCHAR NOT NULL,
  loaded_at TIMESTAMP NOT NULL,
  records INTEGER NOT NULL,
  inserted INTEGER NOT NULL,
  rejected INTEGER NOT NULL,
  PRIMARY KEY (source, object_key, etag)
)"""
_REJECTED = """
CREATE TABLE IF NOT EXISTS rejected_records (
  source VARCHAR NOT NULL,
  object_key VARCHAR NOT NULL,
  position INTEGER NOT NULL,
  reason VARCHAR NOT NULL
)"""

_ALARMS = """
CREATE TABLE IF NOT EXISTS model_health_alarms (
  raised_at TIMESTAMP NOT NULL,
  source VARCHAR NOT NULL,
  month VARCHAR NOT NULL,
  metric VARCHAR NOT NULL,
  value DOUBLE,
  threshold VARCHAR NOT NULL,
  message VARCHAR NOT NULL,
  PRIMARY KEY (source, month, metric)
)"""


class Warehouse:
    """A DuckDB file (or ``:memory:``) holding a use case's event tables and views (its
    :class:`~mlops.events.EventRegistry`), the load ledger and recorded alarms."""

    def __init__(self, path: str | Path = ":memory:", *, events: EventRegistry) -> None:
        self.events = events
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(self.path)
        except duckdb.Error as exc:
            raise WarehouseError(
                f"cannot open the warehouse {self.path}: {exc}",
                fix="close other processes using it, or delete the file to rebuild from S3",
            ) from exc
        self._ensure_schema()

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ensure_schema(self) -> None:
        for t in self.events.tables:
            table, columns = t.table, t.columns
            cols = ",\n  ".join(f"{c} {t}" for c, t in columns.items())
            self.con.execute(
                f"CREATE TABLE IF NOT EXISTS {table} (\n  {cols},\n  PRIMARY KEY (event_id)\n)"
            )
        self.con.execute(_LEDGER)
        self.con.execute(_REJECTED)
        self.con.execute(_ALARMS)
        for statement in create_statements("duckdb", self.events.views_dir):
            self.con.execute(statement)

    # --- loading ----------------------------------------------------------------------------

    def _insert(self, rows: list[Row]) -> tuple[dict[str, int], int]:
        """Insert rows, ignoring event ids already present; returns (inserted per table, dupes)."""
        inserted: dict[str, int] = {}
        dupes = 0
        by_table: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            by_table.setdefault(row.table, []).append(row.values)
        for table, values in by_table.items():
            columns = self.events.by_table(table).columns
            # Table and column names come from the event registry, never from input.
            before = self.con.execute(f"SELECT COUNT(*) FROM {table}").fetchall()[0][0]  # noqa: S608
            # Deduplicate within the batch as well: keep the first occurrence of an event id.
            seen: set[str] = set()
            unique: dict[str, list[Any]] = {c: [] for c in columns}
            for v in values:
                if v["event_id"] not in seen:
                    seen.add(v["event_id"])
                    for c in columns:
                        unique[c].append(v.get(c))
            # Bulk insert through a pandas frame (executemany is ~100x slower in DuckDB).
            batch = pd.DataFrame(unique, columns=list(columns))
            for c, sql_type in columns.items():
                if sql_type == "TIMESTAMP":
                    batch[c] = pd.to_datetime(batch[c])
            self.con.register("_batch", batch)
            try:
                self.con.execute(
                    f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) "  # noqa: S608
                    f"SELECT {', '.join(columns)} FROM _batch"
                )
            finally:
                self.con.unregister("_batch")
            after = self.con.execute(f"SELECT COUNT(*) FROM {table}").fetchall()[0][0]  # noqa: S608
            inserted[table] = after - before
            dupes += len(values) - (after - before)
        return inserted, dupes

    def load_events(self, events: Iterable[Any]) -> dict[str, int]:
        """Load already-built events directly (tests, fixtures); returns rows inserted per table."""
        rows = [Row(*self.events.flatten(e)) for e in events]
        self.con.execute("BEGIN TRANSACTION")
        try:
            inserted, _ = self._insert(rows)
            self.con.execute("COMMIT")
        except Exception:
            self.con.execute("ROLLBACK")
            raise
        return inserted

    def loaded_keys(self, source: str) -> set[tuple[str, str]]:
        rows = self.con.execute(
            "SELECT object_key, etag FROM load_ledger WHERE source = ?", [source]
        ).fetchall()
        return {(k, e) for k, e in rows}

    def refresh(self, store: ObjectStore, prefix: str = "") -> RefreshResult:
        """Load every object under ``prefix`` not yet in the ledger; idempotent."""
        result = RefreshResult()
        done = self.loaded_keys(store.name)
        for ref in sorted(store.list_objects(prefix), key=lambda r: r.key):
            result.objects_seen += 1
            if (ref.key, ref.etag) in done:
                result.objects_skipped += 1
                continue
            decoded = list(decode_object(store.read(ref.key), self.events))
            rows = [d for d in decoded if isinstance(d, Row)]
            rejected = [d for d in decoded if isinstance(d, Rejected)]
            self.con.execute("BEGIN TRANSACTION")
            try:
                inserted, dupes = self._insert(rows)
                for r in rejected:
                    self.con.execute(
                        "INSERT INTO rejected_records VALUES (?, ?, ?, ?)",
                        [store.name, ref.key, r.position, r.reason],
                    )
                self.con.execute(
                    "INSERT INTO load_ledger VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        store.name,
                        ref.key,
                        ref.etag,
                        datetime.now(UTC).replace(tzinfo=None),
                        len(decoded),
                        sum(inserted.values()),
                        len(rejected),
                    ],
                )
                self.con.execute("COMMIT")
            except Exception:
                self.con.execute("ROLLBACK")
                raise
            result.objects_loaded += 1
            result.duplicates += dupes
            result.rejected += len(rejected)
            for table, n in inserted.items():
                result.rows[table] = result.rows.get(table, 0) + n
        return result

    def record_alarms(self, source: str, alarms: Iterable[Any], raised_at: datetime) -> int:
        """Store model-health alarms (objects with month, metric, value, threshold, message);
        one row per (source, month, metric): a re-run updates it. Returns the rows written."""
        rows = [
            (raised_at.replace(tzinfo=None), source, a.month, a.metric, a.value, a.threshold,
             a.message)
            for a in alarms
        ]  # fmt: skip
        if rows:
            self.con.executemany(
                "INSERT OR REPLACE INTO model_health_alarms VALUES (?, ?, ?, ?, ?, ?, ?)", rows
            )
        return len(rows)

    def alarms(self) -> list[dict[str, Any]]:
        """Recorded model-health alarms, newest month first."""
        cursor = self.con.execute(
            "SELECT * FROM model_health_alarms ORDER BY month DESC, source, metric"
        )
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    # --- reading ----------------------------------------------------------------------------

    def count(self, table: str) -> int:
        known = {t.table for t in self.events.tables} | {"load_ledger", "rejected_records"}
        if table not in known | {"model_health_alarms"}:
            raise WarehouseError(f"unknown table {table!r}", fix="use an event table name")
        return self.con.execute(f"SELECT COUNT(*) FROM {table}").fetchall()[0][0]  # noqa: S608

    def view(self, name: str, order_by: str = "1, 2") -> list[dict[str, Any]]:
        """Rows of an analytics view as dicts (ordered by its first two columns by default)."""
        self.get_view(name)  # raises a clear error for unknown names
        if not re.fullmatch(r"[A-Za-z0-9_, ]+", order_by):
            raise WarehouseError(f"bad order_by {order_by!r}", fix="give column names or numbers")
        cursor = self.con.execute(f"SELECT * FROM {name} ORDER BY {order_by}")  # noqa: S608
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    def get_view(self, name: str) -> View:
        """One of the registry's views (ViewError naming the known ones if unknown)."""
        return get_view(name, self.events.views_dir)

    def frame(self, sql: str, params: list[Any] | None = None) -> Any:
        """A pandas DataFrame for ad-hoc SQL (dashboard)."""
        return self.con.execute(sql, params or []).df()
