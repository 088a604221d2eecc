"""The platform's generic event base and table registry, with a use case that is not Remedy."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

import pytest
from pydantic import ValidationError

from mlops.analytics.records import Rejected, Row, decode_object
from mlops.analytics.warehouse import Warehouse
from mlops.events import (
    EventBase,
    EventRegistry,
    EventSchemaError,
    EventTable,
    PiiError,
    SqlType,
    StrictModel,
    UtcDatetime,
    sql_columns,
    to_log_line,
)


class ScoreEvent(EventBase):
    schema_version: Literal["2.1"] = "2.1"
    usecase: str = "churn-risk"
    event_type: Literal["score"] = "score"
    scored_at: UtcDatetime
    segment: str
    score: float


class ScoreRow(StrictModel):
    event_id: str
    schema_version: str
    scored_at: datetime
    segment: str
    score: float
    customers: Annotated[int, SqlType("BIGINT")]
    flagged: bool | None


def _flatten(e: ScoreEvent) -> dict:
    fields = ("event_id", "schema_version", "scored_at", "segment", "score")
    return {**{f: getattr(e, f) for f in fields}, "customers": 1, "flagged": e.score > 0.5}


REGISTRY = EventRegistry(
    schema_version="2.1",
    tables=(
        EventTable(
            event=ScoreEvent, table="scores", row=ScoreRow, flatten=_flatten, time_field="scored_at"
        ),
    ),
)
WHEN = datetime(2026, 5, 2, 8, 0, tzinfo=UTC)


def test_columns_come_from_the_row_model():
    assert sql_columns(ScoreRow) == {
        "event_id": "VARCHAR", "schema_version": "VARCHAR", "scored_at": "TIMESTAMP",
        "segment": "VARCHAR", "score": "DOUBLE", "customers": "BIGINT", "flagged": "BOOLEAN",
    }  # fmt: skip


def test_registry_parses_flattens_filters_and_partitions_a_generic_event():
    event = ScoreEvent(scored_at=WHEN, segment="smb", score=0.7)
    parsed = REGISTRY.parse(to_log_line(event))
    assert parsed == event
    table, row = REGISTRY.flatten(parsed)
    assert table == "scores" and row["scored_at"] == "2026-05-02T08:00:00" and row["flagged"]
    assert list(row) == list(REGISTRY.by_type("score").columns)
    assert REGISTRY.subscription_filter_pattern == '{ ($.event_type = "score") }'
    assert REGISTRY.partition_query == "{event_type: .event_type, dt: ((.scored_at) | .[0:10])}"
    assert REGISTRY.selected_by_filter(to_log_line(event))
    assert not REGISTRY.selected_by_filter('{"event_type": "decision"}')
    assert set(REGISTRY.json_schemas()) == {"score"}


def test_a_warehouse_without_views_loads_the_registry_tables():
    with Warehouse(events=REGISTRY) as wh:
        assert wh.load_events([ScoreEvent(scored_at=WHEN, segment="smb", score=0.2)]) == {
            "scores": 1
        }
        assert wh.count("scores") == 1
        with pytest.raises(Exception, match="unknown view 'cycle_time'"):
            wh.view("cycle_time")


def test_decoding_uses_the_given_registry_only():
    good = to_log_line(ScoreEvent(scored_at=WHEN, segment="smb", score=0.2))
    other = '{"event_type": "decision", "event_id": "x"}'
    out = list(decode_object(f"{good}\n{other}\n".encode(), REGISTRY))
    assert isinstance(out[0], Row) and out[0].table == "scores"
    assert isinstance(out[1], Rejected) and "unknown event_type" in out[1].reason


def test_the_base_checks_pii_and_forbids_unknown_fields():
    with pytest.raises(PiiError, match="field 'segment' looks like personal data"):
        ScoreEvent(scored_at=WHEN, segment="jane@example.com", score=0.1)
    with pytest.raises(ValidationError, match="extra"):
        ScoreEvent(scored_at=WHEN, segment="smb", score=0.1, name="Jane")
    with pytest.raises(PiiError):
        from mlops.events import assert_no_pii

        assert_no_pii({"note": "call 07700 900123"})


def test_flatten_output_is_validated_against_the_row():
    bad = EventTable(event=ScoreEvent, table="scores", row=ScoreRow, time_field="scored_at",
                     flatten=lambda e: {**_flatten(e), "name": "x"})  # fmt: skip
    reg = EventRegistry(schema_version="2.1", tables=(bad,))
    with pytest.raises(ValidationError, match="name"):
        reg.flatten(ScoreEvent(scored_at=WHEN, segment="smb", score=0.1))


def test_inconsistent_registries_are_refused_naming_the_problem():
    class NoType(EventBase):
        schema_version: str = "1.0"

    with pytest.raises(EventSchemaError, match="NoType has no event_type default"):
        EventTable(event=NoType, table="t", row=ScoreRow, flatten=_flatten, time_field="scored_at")
    with pytest.raises(EventSchemaError, match="lacks the column 'closed_at'"):
        EventTable(event=ScoreEvent, table="t", row=ScoreRow, flatten=_flatten,
                   time_field="closed_at")  # fmt: skip
    with pytest.raises(EventSchemaError, match="not snake_case"):
        EventTable(event=ScoreEvent, table="Scores", row=ScoreRow, flatten=_flatten,
                   time_field="scored_at")  # fmt: skip
    with pytest.raises(EventSchemaError, match="repeat"):
        EventRegistry(schema_version="2.1", tables=REGISTRY.tables * 2)
    with pytest.raises(EventSchemaError, match="at least one table"):
        EventRegistry(schema_version="2.1", tables=())
    with pytest.raises(EventSchemaError, match="unknown event type 'decision'"):
        REGISTRY.by_type("decision")
