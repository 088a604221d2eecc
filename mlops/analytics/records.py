"""Decode what Firehose writes to S3 into analytics events or flat rows.

An S3 object from the decision stream holds one of:

* CloudWatch Logs subscription payloads (``{"messageType": "DATA_MESSAGE", "logEvents": [...]}``),
  gzipped by real AWS and plain JSON on moto, concatenated without a delimiter by Firehose;
* event JSON objects (one per line, or concatenated);
* flat rows written by the optional transformation Lambda (``event_type`` plus table columns).

Decoding never raises on a bad record: it yields a :class:`Rejected` with the error *type and
location only* (pydantic messages echo input values, which could be personal data).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from mlops.events import EventRegistry, PiiError, assert_no_pii


@dataclass(frozen=True)
class Row:
    table: str
    values: dict[str, Any]


@dataclass(frozen=True)
class Rejected:
    position: int
    reason: str


def _json_values(text: str) -> Iterator[Any]:
    decoder = json.JSONDecoder()
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            return
        value, i = decoder.raw_decode(text, i)
        yield value


def _gunzip_all(data: bytes) -> bytes:
    # Firehose concatenates gzipped CloudWatch payloads; gzip.decompress reads every member.
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def _validation_reason(exc: ValidationError) -> str:
    parts = [f"{'.'.join(str(p) for p in e['loc'])}:{e['type']}" for e in exc.errors()[:5]]
    return "invalid event: " + ", ".join(parts)


def _candidates(value: Any, events: EventRegistry) -> Iterator[Any]:
    """Event-shaped dicts inside one decoded JSON value."""
    if isinstance(value, dict) and "logEvents" in value:
        if value.get("messageType") != "DATA_MESSAGE":
            return  # CONTROL_MESSAGE probes from CloudWatch Logs
        for log_event in value["logEvents"]:
            # Real AWS applies the subscription filter; moto forwards every line, so apply the
            # same selection here (other application log lines are not analytics records).
            message = log_event.get("message", "")
            if events.selected_by_filter(message):
                yield json.loads(message)
    else:
        yield value


def _is_flat_row(candidate: dict[str, Any], columns: dict[str, str], event: type) -> bool:
    """A flat row from the transformation Lambda: only the table's columns, and not a nested
    event whose top-level fields happen to be columns too."""
    keys = set(candidate) - {"event_type"}
    nested = {
        name
        for name, f in event.model_fields.items()
        if isinstance(f.annotation, type) and hasattr(f.annotation, "model_fields")
    }
    return keys <= set(columns) and "event_id" in keys and not keys & nested


def _to_row(candidate: Any, events: EventRegistry) -> Row:
    if isinstance(candidate, Exception):
        raise candidate
    if not isinstance(candidate, dict) or candidate.get("event_type") not in events.event_types:
        raise ValueError("not an analytics event (missing or unknown event_type)")
    spec = events.by_type(candidate["event_type"])
    if _is_flat_row(candidate, spec.columns, spec.event):
        # A flat row from the transformation Lambda: check it once more for personal data.
        assert_no_pii(
            {k: v for k, v in candidate.items() if k not in ("event_id",)},
            exempt=spec.event.PII_EXEMPT,
        )
        return Row(spec.table, {c: candidate.get(c) for c in spec.columns})
    event = events.parse(candidate)  # parsing runs the events' own PII check
    table, values = events.flatten(event)
    return Row(table, values)


def decode_object(data: bytes, events: EventRegistry) -> Iterator[Row | Rejected]:
    """Rows and rejections, in order, from one S3 object's bytes (a use case's events)."""
    try:
        text = _gunzip_all(data).decode("utf-8")
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        yield Rejected(0, f"undecodable object: {type(exc).__name__}")
        return
    position = 0
    try:
        values = list(_json_values(text))
    except json.JSONDecodeError as exc:
        yield Rejected(0, f"malformed JSON at char {exc.pos}")
        return
    for value in values:
        for candidate in _candidates(value, events):
            try:
                yield _to_row(candidate, events)
            except ValidationError as exc:
                yield Rejected(position, _validation_reason(exc))
            except PiiError as exc:
                yield Rejected(position, f"personal data: {exc.message.split(' (')[0]}")
            except ValueError as exc:
                yield Rejected(position, str(exc))
            position += 1
