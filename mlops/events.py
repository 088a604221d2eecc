"""Versioned analytics events: the generic base, the privacy guards and the table registry.

A use case's decision service writes its analytics events as one JSON object per log line; the
platform streams them (CloudWatch Logs → Firehose → S3), loads them into a warehouse (DuckDB
locally, Snowflake in the cloud) and builds the use case's views over them. The platform knows
no use case's vocabulary: each use case defines its events and tables on top of this module
(Remedy's are ``remedy_core.events`` in ``templates/remedy``) and hands an
:class:`EventRegistry` to the analytics components.

What the platform provides:

* :class:`EventBase`: ``schema_version``, ``event_id``, ``usecase``; unknown fields are forbidden
  (``extra="forbid"``), so a caller cannot smuggle a name, a phone number or a note into the
  stream by adding a field, and every event is checked for personal data when it is built or
  parsed (:func:`assert_no_pii`).
* Privacy guards: :func:`find_pii`, :func:`scrub_text` (e-mail, phone, UK postcode, registration
  plate, card numbers), :func:`assert_no_pii` over a whole event, :func:`pseudonymise` (keyed
  HMAC-SHA256; the key lives in the platform's secret store, never in the event).
* :class:`EventTable` / :class:`EventRegistry`: one warehouse table per event type, its columns
  derived from a flat pydantic row model (:func:`sql_columns`), parsing, flattening, the
  subscription filter and the JSON Schema export (``schema_version`` is part of every event:
  bump its minor version for additive changes, its major version for breaking ones).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import types
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from mlops.errors import MlopsError


def landing_prefix(usecase: str) -> str:
    """S3 prefix where one use case's events land, in the cloud and locally (shared bucket)."""
    return f"decision-events/{usecase}/"


class PiiError(MlopsError):
    """Something shaped like personal data was about to enter the analytics stream."""


class EventSchemaError(MlopsError):
    """A use case's event registry is inconsistent (tables, columns, event types)."""


# --- PII detection --------------------------------------------------------------------------

_PII_PATTERNS: dict[str, re.Pattern[str]] = {
    "email": re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"),
    # UK numbers (+44 / 0 prefixed, 10-11 digits, spaces or dashes allowed) and long digit runs.
    "phone": re.compile(r"(?:\+44\s?|\b0)(?:\d[\s-]?){9,10}\b|\b\d{10,}\b"),
    "postcode": re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b"),
    # Current plates (AB12 CDE, any case); prefix (A123 BCD) and suffix (ABC 123D) in capitals.
    "plate": re.compile(
        r"\b(?i:[A-Z]{2}\d{2}\s?[A-Z]{3})\b|\b[A-Z]\d{1,3}\s?[A-Z]{3}\b|\b[A-Z]{3}\s?\d{1,3}[A-Z]\b"
    ),
    "card_or_account": re.compile(r"\b(?:\d[ -]?){12,19}\b"),
}
REDACTED = "[redacted]"

# Field paths whose values are machine-made (ids, pseudonyms, timestamps, versions) and may
# legitimately look like digits or codes; an event class adds its own (EventBase.PII_EXEMPT).
BASE_PII_EXEMPT = r"event_id|schema_version|[a-z_]+_event_id|[a-z_]+_id_hash|[a-z_]+_at"


def find_pii(text: str) -> list[str]:
    """Names of the PII patterns found in ``text`` (empty when clean)."""
    return [kind for kind, pattern in _PII_PATTERNS.items() if pattern.search(text)]


def scrub_text(text: str) -> str:
    """Replace everything shaped like an e-mail, phone, postcode, plate or card number."""
    for pattern in _PII_PATTERNS.values():
        text = pattern.sub(REDACTED, text)
    return text


def _strings(value: Any, path: str = "") -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, Mapping):
        out: list[tuple[str, str]] = []
        for k, v in value.items():
            out += _strings(str(k), f"{path}.<key>")
            out += _strings(v, f"{path}.{k}" if path else str(k))
        return out
    if isinstance(value, list | tuple):
        out = []
        for i, v in enumerate(value):
            out += _strings(v, f"{path}[{i}]")
        return out
    return []


def _exempt_pattern(extra: str = "") -> re.Pattern[str]:
    return re.compile(f"^({BASE_PII_EXEMPT}{'|' + extra if extra else ''})$")


def assert_no_pii(event: BaseModel | Mapping[str, Any], exempt: str | None = None) -> None:
    """Raise :class:`PiiError` naming the field if any string in the event looks like PII.

    ``exempt``: a regex of further machine-made field paths (an event class's ``PII_EXEMPT``,
    used by default for an :class:`EventBase`).
    """
    if exempt is None and isinstance(event, EventBase):
        exempt = type(event).PII_EXEMPT
    skip = _exempt_pattern(exempt or "")
    data = event.model_dump(mode="json") if isinstance(event, BaseModel) else event
    for path, text in _strings(data):
        if skip.match(path):
            continue
        kinds = find_pii(text)
        if kinds:
            raise PiiError(
                f"field {path!r} looks like personal data ({', '.join(kinds)})",
                fix="send codes and numbers only; pseudonymise identifiers with "
                "mlops.events.pseudonymise and drop free text",
            )


# --- pseudonymisation ----------------------------------------------------------------------

_HASH_RE = r"^[0-9a-f]{64}$"


def pseudonymise(identifier: str, key: bytes | str) -> str:
    """Keyed, deterministic pseudonym (HMAC-SHA256, hex) for a case or handler identifier.

    Deterministic so that a decision and what follows it join in the warehouse; keyed so that
    nobody without the key can re-identify a case by hashing candidate ids.
    """
    if not identifier:
        raise PiiError("identifier to pseudonymise is empty", fix="pass the case or handler id")
    raw_key = key.encode() if isinstance(key, str) else key
    if len(raw_key) < 16:
        raise PiiError(
            "pseudonymisation key is shorter than 16 bytes",
            fix="use the platform's analytics pseudonymisation secret (32 random bytes)",
        )
    return hmac.new(raw_key, identifier.encode(), hashlib.sha256).hexdigest()


# --- shared field types ---------------------------------------------------------------------


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamp must carry a timezone (use UTC)")
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]
Hash = Annotated[str, Field(pattern=_HASH_RE, description="HMAC-SHA256 hex pseudonym")]
Code = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]{1,63}$")]
# Short catalogue values (makes, regions, segments, ...): letters, digits, a little punctuation.
Label = Annotated[str, Field(min_length=1, max_length=48, pattern=r"^[A-Za-z0-9 _.&+/'()-]+$")]
Money = Annotated[float, Field(ge=0, le=10_000_000)]
Prob = Annotated[float, Field(ge=0, le=1)]
EventId = Annotated[str, Field(pattern=r"^[0-9a-f-]{36}$")]
UsecaseName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,31}$")]


class StrictModel(BaseModel):
    """Frozen, unknown fields forbidden: the base of every event part and flat row."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class EventBase(StrictModel):
    """What every analytics event carries. A use case's event adds ``event_type`` (a
    ``Literal`` with a default), narrows ``schema_version`` to its ``Literal`` and adds fields."""

    PII_EXEMPT: ClassVar[str] = ""
    """Regex alternatives of machine-made field paths besides :data:`BASE_PII_EXEMPT`."""

    schema_version: Annotated[str, Field(pattern=r"^\d+\.\d+$")]
    event_id: EventId = Field(default_factory=lambda: str(uuid.uuid4()))
    usecase: UsecaseName

    @model_validator(mode="after")
    def _no_pii(self) -> EventBase:
        # Events are frozen: checked once here, whether built in code or parsed from a log line.
        assert_no_pii(self)
        return self


# --- warehouse columns derived from row models ----------------------------------------------


@dataclass(frozen=True)
class SqlType:
    """``Annotated[int, SqlType("BIGINT")]``: the column type when the default does not fit."""

    name: str


_SQL_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "BOOLEAN"),  # before int: bool is an int
    (int, "INTEGER"),
    (float, "DOUBLE"),
    (datetime, "TIMESTAMP"),
    (date, "DATE"),
    (str, "VARCHAR"),
)
SQL_TYPE_NAMES = frozenset({t for _, t in _SQL_TYPES} | {"BIGINT"})


def _sql_type(name: str, annotation: Any, metadata: list[Any]) -> str:
    for m in metadata:
        if isinstance(m, SqlType):
            return m.name
    tp = annotation
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            found = [m for m in tp.__metadata__ if isinstance(m, SqlType)]
            if found:
                return found[0].name
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(tp) if a is not type(None)]
            if len(args) != 1:
                raise EventSchemaError(
                    f"column {name!r}: a union of {args} has no SQL type",
                    fix="give the row field one type (and None)",
                )
            tp = args[0]
        elif origin is Literal:
            tp = type(get_args(tp)[0])
        else:
            break
    for py, sql in _SQL_TYPES:
        if isinstance(tp, type) and issubclass(tp, py):
            return sql
    raise EventSchemaError(
        f"column {name!r}: no SQL type for {tp!r}",
        fix="use str, int, float, bool, datetime or date, or annotate with SqlType",
    )


def sql_columns(row: type[BaseModel]) -> dict[str, str]:
    """Column name → SQL type (portable between DuckDB and Snowflake) of a flat row model."""
    return {
        name: _sql_type(name, f.annotation, list(f.metadata))
        for name, f in row.model_fields.items()
    }


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat()


# --- the table registry ----------------------------------------------------------------------


@dataclass(frozen=True)
class EventTable:
    """One event type and the warehouse table it flattens into."""

    event: type[EventBase]
    table: str
    row: type[StrictModel]
    """The flat row: its fields are the table's columns (``sql_columns``)."""
    flatten: Callable[[Any], dict[str, Any]]
    """Event → the row's values (validated against ``row`` by :meth:`EventRegistry.flatten`)."""
    time_field: str
    """The event's timestamp (also a column): the partition date and the Firehose key."""

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", self.table):
            raise EventSchemaError(
                f"table name {self.table!r} is not snake_case",
                fix="name tables like decision_events",
            )
        field = self.event.model_fields.get("event_type")
        if field is None or not isinstance(field.default, str):
            raise EventSchemaError(
                f"{self.event.__name__} has no event_type default",
                fix='declare event_type: Literal["<type>"] = "<type>"',
            )
        for name in ("event_id", "schema_version", self.time_field):
            if name not in self.row.model_fields:
                raise EventSchemaError(
                    f"{self.row.__name__} lacks the column {name!r}",
                    fix=f"add {name} to the row model",
                )

    @property
    def event_type(self) -> str:
        return str(self.event.model_fields["event_type"].default)

    @cached_property
    def columns(self) -> dict[str, str]:
        return sql_columns(self.row)

    def row_values(self, event: EventBase) -> dict[str, Any]:
        values = self.row.model_validate(self.flatten(event)).model_dump()
        for column, sql_type in self.columns.items():
            if sql_type == "TIMESTAMP" and isinstance(values[column], datetime):
                values[column] = _timestamp(values[column])
        return values


@dataclass(frozen=True)
class EventRegistry:
    """A use case's analytics schema: its event tables and, optionally, its SQL views."""

    schema_version: str
    tables: tuple[EventTable, ...]
    views_dir: Path | None = None
    """Folder of ``<view>.sql`` files over the tables (:mod:`mlops.analytics.views`)."""
    module: str = ""
    """The importable module that defines this registry as ``REGISTRY``; the Firehose
    transformation Lambda packages that module and imports it."""

    def __post_init__(self) -> None:
        if not self.tables:
            raise EventSchemaError(
                "an event registry needs at least one table",
                fix="list the use case's EventTable objects",
            )
        types_ = [t.event_type for t in self.tables]
        names = [t.table for t in self.tables]
        if len(set(types_)) != len(types_) or len(set(names)) != len(names):
            raise EventSchemaError(
                f"event types {types_} / tables {names} repeat", fix="one table per event type"
            )

    @property
    def event_types(self) -> tuple[str, ...]:
        return tuple(t.event_type for t in self.tables)

    def _find(self, attr: str, label: str, value: str) -> EventTable:
        known = [getattr(t, attr) for t in self.tables]
        if value not in known:
            raise EventSchemaError(
                f"unknown {label} {value!r}", fix=f"use one of: {', '.join(known)}"
            )
        return self.tables[known.index(value)]

    def by_type(self, event_type: str) -> EventTable:
        return self._find("event_type", "event type", event_type)

    def by_table(self, table: str) -> EventTable:
        return self._find("table", "table", table)

    @property
    def subscription_filter_pattern(self) -> str:
        """CloudWatch Logs subscription filter selecting these events among the log lines."""
        return "{ " + " || ".join(f'($.event_type = "{t}")' for t in self.event_types) + " }"

    def selected_by_filter(self, message: str) -> bool:
        """What the subscription filter selects, for paths (moto) that do not apply it."""
        try:
            data = json.loads(message)
        except (json.JSONDecodeError, TypeError):
            return False
        return isinstance(data, dict) and data.get("event_type") in self.event_types

    @property
    def partition_query(self) -> str:
        """JQ for Firehose's partition keys when no transformation Lambda runs: the event type
        and the date of the event's own timestamp."""
        times = " // ".join(f".{f}" for f in dict.fromkeys(t.time_field for t in self.tables))
        return f"{{event_type: .event_type, dt: (({times}) | .[0:10])}}"

    @cached_property
    def _adapter(self) -> TypeAdapter[Any]:
        events = tuple(t.event for t in self.tables)
        if len(events) == 1:
            return TypeAdapter(events[0])
        return TypeAdapter(Annotated[Union[events], Field(discriminator="event_type")])  # noqa: UP007

    def parse(self, data: str | bytes | Mapping[str, Any]) -> Any:
        """Parse one event from JSON or a dict, dispatching on ``event_type``."""
        if isinstance(data, str | bytes):
            return self._adapter.validate_json(data)
        return self._adapter.validate_python(data)

    def flatten(self, event: EventBase) -> tuple[str, dict[str, Any]]:
        """``(table, row)`` for the warehouse; the row's keys are that table's columns."""
        table = self.by_type(str(getattr(event, "event_type", "")))
        return table.table, table.row_values(event)

    def json_schemas(self) -> dict[str, dict[str, Any]]:
        """JSON Schema of each event, keyed by event type."""
        return {t.event_type: t.event.model_json_schema() for t in self.tables}

    def write_json_schemas(self, directory: str | Path) -> list[str]:
        """Write ``<event_type>.v<major>.schema.json`` files; returns the paths written."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        major = self.schema_version.split(".")[0]
        paths = []
        for name, schema in self.json_schemas().items():
            path = out / f"{name}.v{major}.schema.json"
            path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
            paths.append(str(path))
        return paths


def to_log_line(event: EventBase) -> str:
    """The single JSON line a decision service writes to its log group (events are PII-checked
    when they are created, and frozen)."""
    return event.model_dump_json(exclude_none=False)


# Names the registry's module in the Firehose transformation Lambda's environment.
REGISTRY_ENV = "MLOPS_EVENT_REGISTRY"


def load_registry(module: str) -> EventRegistry:
    """``REGISTRY`` of an importable module (the transformation Lambda's entry point)."""
    import importlib

    registry = getattr(importlib.import_module(module), "REGISTRY", None)
    if not isinstance(registry, EventRegistry):
        raise EventSchemaError(
            f"{module} defines no REGISTRY (an EventRegistry)",
            fix="define REGISTRY = EventRegistry(...) in that module",
        )
    return registry
