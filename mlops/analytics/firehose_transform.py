"""Firehose transformation Lambda: validate a use case's events, flatten them, set partition keys.

The use case's schema (an :class:`mlops.events.EventRegistry`) is packaged with the Lambda and
named by the environment variable ``MLOPS_EVENT_REGISTRY`` (a module defining ``REGISTRY``).

Firehose first decompresses the CloudWatch Logs payload and extracts each log message (native
processors), so each record is one event JSON line. For each record this returns:

* ``Ok`` with the flat row (``event_type`` + the warehouse table's columns, one JSON line) and the
  partition keys ``event_type`` and ``dt`` (``YYYY-MM-DD`` of the event time);
* ``Dropped`` for log lines that are not analytics events;
* ``ProcessingFailed`` for invalid events or events carrying personal data: Firehose writes those
  to the error output prefix. The reason logged names the field, never its value.

The Lambda entry point is one line over Powertools' Firehose data class.
"""

from __future__ import annotations

import base64
import json
import os
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.data_classes import (
    KinesisFirehoseDataTransformationRecord,
    KinesisFirehoseDataTransformationRecordMetadata,
    KinesisFirehoseDataTransformationResponse,
    KinesisFirehoseEvent,
    event_source,
)

from mlops.analytics.records import Rejected, Row, decode_object
from mlops.events import REGISTRY_ENV, EventRegistry, load_registry


@cache
def registry() -> EventRegistry:
    """The packaged use case's registry (``MLOPS_EVENT_REGISTRY``)."""
    return load_registry(os.environ[REGISTRY_ENV])


def transform_record(
    record_id: str, data: bytes, events: EventRegistry
) -> KinesisFirehoseDataTransformationRecord:
    if data[:2] != b"\x1f\x8b" and not events.selected_by_filter(data.decode("utf-8", "replace")):
        # A plain log line that is not an analytics event (the subscription filter normally
        # keeps these out): nothing to deliver.
        return KinesisFirehoseDataTransformationRecord(
            record_id=record_id, result="Dropped", data=base64.b64encode(data).decode()
        )
    decoded = list(decode_object(data, events))
    rows = [d for d in decoded if isinstance(d, Row)]
    rejected = [d for d in decoded if isinstance(d, Rejected)]
    if rejected or not rows:
        result = "ProcessingFailed" if rejected else "Dropped"
        return KinesisFirehoseDataTransformationRecord(
            record_id=record_id, result=result, data=base64.b64encode(data).decode()
        )
    keys = {(r.table, str(r.values[events.by_table(r.table).time_field])[:10]) for r in rows}
    if len(keys) != 1:  # one record must land in one partition
        return KinesisFirehoseDataTransformationRecord(
            record_id=record_id, result="ProcessingFailed", data=base64.b64encode(data).decode()
        )
    ((table, dt),) = keys
    lines = "".join(
        json.dumps({"event_type": events.by_table(r.table).event_type, **r.values}, default=str)
        + "\n"
        for r in rows
    )
    return KinesisFirehoseDataTransformationRecord(
        record_id=record_id,
        result="Ok",
        data=base64.b64encode(lines.encode()).decode(),
        metadata=KinesisFirehoseDataTransformationRecordMetadata(
            partition_keys={"event_type": events.by_table(table).event_type, "dt": dt}
        ),
    )  # fmt: skip


def transform(event: KinesisFirehoseEvent, events: EventRegistry) -> dict[str, Any]:
    response = KinesisFirehoseDataTransformationResponse()
    for record in event.records:
        response.add_record(transform_record(record.record_id, record.data_as_bytes, events))
    return response.asdict()


@event_source(data_class=KinesisFirehoseEvent)
def handler(event: KinesisFirehoseEvent, context: Any) -> dict[str, Any]:
    return transform(event, registry())
