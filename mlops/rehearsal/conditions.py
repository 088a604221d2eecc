"""Condition operators, policy variables and context keys, as IAM evaluates them.

Sources (AWS IAM User Guide): "IAM JSON policy elements: Condition operators", "Creating a
condition with multiple context keys or values", "Single-valued vs. multivalued context keys",
"IAM policy elements: Variables and tags", "IAM JSON policy elements: Resource".

Rules implemented:
- condition *key names* are case-insensitive (``aws:principalarn`` is ``aws:PrincipalArn``);
  values are case-sensitive except with the ``...IgnoreCase`` operators;
- a block is the AND of its operators, an operator the AND of its keys, a key the OR of its values;
  a negated operator (``StringNotEquals``, ``ArnNotLike``, ``NotIpAddress``, ...) is true when the
  request value matches none of the policy values;
- a key missing from the request: positive operators are false, negated ones true, ``...IfExists``
  true, ``ForAllValues:`` true (empty set), ``ForAnyValue:`` false; ``Null`` tests presence;
- a multivalued request key (a list) with a plain operator counts as matched when any value
  matches (undocumented by AWS; the negated operator is its negation);
- ``${var}`` policy variables (only in policies of Version ``2012-10-17``) in String, ARN and
  Bool values and in Resource/NotResource; ``${key, 'default'}``; ``${*}``, ``${?}``, ``${$}``; a
  variable whose key is missing (or multivalued) has no value: positive operators do not match
  it, negated operators do, a Resource entry containing it matches nothing;
- ``ArnLike`` matches each of the six colon-separated ARN parts separately; in a Resource element a
  ``*`` that ends one of the first five parts may run across colons ("Using wildcards in resource
  ARNs").
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

from mlops.errors import MlopsError

__all__ = [
    "MISSING",
    "ConditionOutcome",
    "PolicyError",
    "RequestContext",
    "arn_matches",
    "evaluate_condition",
    "expand",
    "parse_operator",
    "resource_arn_matches",
    "string_like",
]

VARIABLES_VERSION = "2012-10-17"


class PolicyError(MlopsError, ValueError):
    """A policy document AWS would reject (unknown operator, bad value, malformed statement)."""


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class RequestContext:
    """The context keys of one request, looked up case-insensitively by key name."""

    def __init__(self, values: Mapping[str, Any] | None = None) -> None:
        self._values: dict[str, tuple[str, Any]] = {}
        for key, value in (values or {}).items():
            self.set(key, value)

    def set(self, key: str, value: Any) -> None:
        self._values[key.lower()] = (key, value)

    def setdefault(self, key: str, value: Any) -> None:
        if key.lower() not in self._values:
            self.set(key, value)

    def get(self, key: str) -> Any:
        entry = self._values.get(key.lower())
        return MISSING if entry is None else entry[1]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._values

    def keys_with_prefix(self, prefix: str) -> list[str]:
        p = prefix.lower()
        return [orig for low, (orig, _) in self._values.items() if low.startswith(p)]

    def as_dict(self) -> dict[str, Any]:
        return {orig: value for orig, value in self._values.values()}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- policy variables and wildcard patterns --------------------------------------------------
Piece = tuple[Literal["lit", "star", "q"], str]
"""A pattern as pieces: literal text, ``*`` or ``?`` (wildcards only outside substituted text)."""

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_DEFAULT = re.compile(r"^\s*([^,]+?)\s*,\s*'([^']*)'\s*$")
_SPECIAL = {"*": "*", "?": "?", "$": "$"}


def _wild(text: str) -> list[Piece]:
    out: list[Piece] = []
    buf = ""
    for c in text:
        if c in "*?":
            if buf:
                out.append(("lit", buf))
                buf = ""
            out.append(("star" if c == "*" else "q", c))
        else:
            buf += c
    if buf:
        out.append(("lit", buf))
    return out


def expand(text: str, ctx: RequestContext, *, variables: bool) -> tuple[Piece, ...] | None:
    """A policy string as pattern pieces, with ``${...}`` substituted from the request context.

    Returns None when a variable has no value (missing key, or a multivalued key) and no default:
    the policy value then matches nothing (and negated operators match).
    """
    if not variables or "${" not in text:
        return tuple(_wild(text))
    out: list[Piece] = []
    pos = 0
    for m in _VARIABLE.finditer(text):
        out += _wild(text[pos : m.start()])
        pos = m.end()
        inner = m.group(1)
        if inner in _SPECIAL:
            out.append(("lit", _SPECIAL[inner]))
            continue
        default = None
        d = _DEFAULT.match(inner)
        key = inner.strip()
        if d:
            key, default = d.group(1), d.group(2)
        value = ctx.get(key)
        if value is MISSING or isinstance(value, list | tuple):
            if default is None:
                return None
            out.append(("lit", default))
        else:
            out.append(("lit", _text(value)))
    out += _wild(text[pos:])
    return tuple(out)


def _literal(pieces: Iterable[Piece]) -> str:
    return "".join(text for _, text in pieces)


@lru_cache(maxsize=4096)
def _like_regex(pieces: tuple[Piece, ...], ignore_case: bool) -> re.Pattern[str]:
    rx = "".join(
        ".*" if kind == "star" else "." if kind == "q" else re.escape(text) for kind, text in pieces
    )
    return re.compile(rx, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def string_like(pieces: tuple[Piece, ...], value: str, *, ignore_case: bool = False) -> bool:
    return _like_regex(pieces, ignore_case).fullmatch(value) is not None


def _arn_segments(pieces: Sequence[Piece]) -> list[list[Piece]]:
    """Split pattern pieces at the first five literal colons (the sixth part may hold colons)."""
    segments: list[list[Piece]] = [[]]
    for kind, text in pieces:
        if kind != "lit":
            segments[-1].append((kind, text))
            continue
        while ":" in text and len(segments) < 6:
            head, text = text.split(":", 1)
            if head:
                segments[-1].append(("lit", head))
            segments.append([])
        if text:
            segments[-1].append(("lit", text))
    return segments


@lru_cache(maxsize=4096)
def _arn_regex(pieces: tuple[Piece, ...], mode: Literal["condition", "resource"]) -> re.Pattern:
    segments = _arn_segments(pieces)
    parts: list[str] = []
    for i, seg in enumerate(segments):
        rx = ""
        for j, (kind, text) in enumerate(seg):
            if kind == "lit":
                rx += re.escape(text)
            elif i == 5:
                rx += ".*" if kind == "star" else "."
            elif kind == "q":
                rx += "[^:]"
            elif mode == "resource" and j == len(seg) - 1:
                rx += ".*"  # a trailing * of a part may run across colons (Resource element)
            else:
                rx += "[^:]*"
        parts.append(rx)
    return re.compile(":".join(parts), re.DOTALL)


def arn_matches(pieces: tuple[Piece, ...], value: str) -> bool:
    """``ArnLike``/``ArnEquals``: each of the six colon-separated parts matched separately."""
    if value.count(":") < 5:
        return False
    if len(_arn_segments(pieces)) < 6:
        return False
    return _arn_regex(pieces, "condition").fullmatch(value) is not None


def resource_arn_matches(pieces: tuple[Piece, ...], arn: str) -> bool:
    """The Resource/NotResource element: ``*`` alone is everything; wildcards per ARN part, a
    part's trailing ``*`` may expand across colons; case-sensitive."""
    if pieces == (("star", "*"),):
        return True
    return _arn_regex(pieces, "resource").fullmatch(arn) is not None


# --- operators ------------------------------------------------------------------------------
Family = Literal["string", "numeric", "date", "bool", "binary", "ip", "arn", "null"]


@dataclass(frozen=True)
class Operator:
    name: str
    family: Family
    test: str
    """``eq``, ``like``, ``lt``, ``le``, ``gt``, ``ge``, ``in``."""
    negated: bool = False
    ignore_case: bool = False
    if_exists: bool = False
    qualifier: Literal["", "ForAllValues", "ForAnyValue"] = ""

    @property
    def uses_variables(self) -> bool:
        return self.family in ("string", "arn", "bool")


_BASE: dict[str, tuple[Family, str, bool, bool]] = {
    "stringequals": ("string", "eq", False, False),
    "stringnotequals": ("string", "eq", True, False),
    "stringequalsignorecase": ("string", "eq", False, True),
    "stringnotequalsignorecase": ("string", "eq", True, True),
    "stringlike": ("string", "like", False, False),
    "stringnotlike": ("string", "like", True, False),
    "numericequals": ("numeric", "eq", False, False),
    "numericnotequals": ("numeric", "eq", True, False),
    "numericlessthan": ("numeric", "lt", False, False),
    "numericlessthanequals": ("numeric", "le", False, False),
    "numericgreaterthan": ("numeric", "gt", False, False),
    "numericgreaterthanequals": ("numeric", "ge", False, False),
    "dateequals": ("date", "eq", False, False),
    "datenotequals": ("date", "eq", True, False),
    "datelessthan": ("date", "lt", False, False),
    "datelessthanequals": ("date", "le", False, False),
    "dategreaterthan": ("date", "gt", False, False),
    "dategreaterthanequals": ("date", "ge", False, False),
    "bool": ("bool", "eq", False, False),
    "binaryequals": ("binary", "eq", False, False),
    "ipaddress": ("ip", "in", False, False),
    "notipaddress": ("ip", "in", True, False),
    "arnequals": ("arn", "like", False, False),
    "arnlike": ("arn", "like", False, False),
    "arnnotequals": ("arn", "like", True, False),
    "arnnotlike": ("arn", "like", True, False),
    "null": ("null", "eq", False, False),
}


@lru_cache(maxsize=512)
def parse_operator(name: str) -> Operator:
    """``ForAnyValue:StringNotLikeIfExists`` -> Operator(string, like, negated, any, if_exists)."""
    rest = name
    qualifier: Literal["", "ForAllValues", "ForAnyValue"] = ""
    low = rest.lower()
    if low.startswith("forallvalues:"):
        qualifier, rest = "ForAllValues", rest[len("ForAllValues:") :]
    elif low.startswith("foranyvalue:"):
        qualifier, rest = "ForAnyValue", rest[len("ForAnyValue:") :]
    low = rest.lower()
    if_exists = low.endswith("ifexists") and low != "ifexists"
    if if_exists:
        low = low[: -len("ifexists")]
    base = _BASE.get(low)
    if base is None or (if_exists and low == "null"):
        raise PolicyError(
            f"unknown condition operator {name!r}",
            fix="use an IAM condition operator (StringEquals, ArnLike, Bool, NumericLessThan, "
            "DateGreaterThan, IpAddress, Null, ...), optionally with ForAllValues:/ForAnyValue: "
            "and ...IfExists (not on Null)",
        )
    family, test, negated, ignore_case = base
    return Operator(name, family, test, negated, ignore_case, if_exists, qualifier)


def _parse_date(value: str) -> datetime | None:
    v = value.strip()
    try:
        if re.fullmatch(r"-?\d+(\.\d+)?", v):
            return datetime.fromtimestamp(float(v), tz=UTC)
        dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _parse_number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def _compare(test: str, a: Any, b: Any) -> bool:
    if test == "eq":
        return a == b
    if test == "lt":
        return a < b
    if test == "le":
        return a <= b
    if test == "gt":
        return a > b
    return a >= b


class _PolicyValue:
    """One policy value of one condition key, prepared for its operator."""

    def __init__(self, op: Operator, raw: Any, ctx: RequestContext, variables: bool, where: str):
        self.op = op
        self.raw = raw
        if isinstance(raw, dict | list):
            raise PolicyError(
                f"{where}: condition value {raw!r} of {op.name} must be a string, number or bool",
                fix="list several values as a JSON array of strings",
            )
        text = _text(raw)
        self.text = text
        self.pieces: tuple[Piece, ...] | None = None
        self.parsed: Any = None
        if op.family in ("string", "arn", "bool"):
            self.pieces = expand(text, ctx, variables=variables and op.uses_variables)
            if op.family == "bool" and self.pieces is not None:
                self.parsed = _literal(self.pieces).lower()
        elif op.family == "numeric":
            self.parsed = _parse_number(text)
            if self.parsed is None:
                raise PolicyError(f"{where}: {op.name} value {text!r} is not a number")
        elif op.family == "date":
            self.parsed = _parse_date(text)
            if self.parsed is None:
                raise PolicyError(
                    f"{where}: {op.name} value {text!r} is not a date",
                    fix="use ISO 8601 (2026-01-01T00:00:00Z) or epoch seconds",
                )
        elif op.family == "ip":
            try:
                self.parsed = ipaddress.ip_network(text, strict=False)
            except ValueError as exc:
                raise PolicyError(f"{where}: {op.name} value {text!r} is not a CIDR") from exc
        elif op.family == "binary":
            try:
                self.parsed = base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise PolicyError(f"{where}: BinaryEquals value {text!r} is not base64") from exc

    def matches(self, value: Any) -> bool:
        """Positive match of one request value (negation is applied by the caller)."""
        op = self.op
        if op.family in ("string", "arn"):
            if self.pieces is None:  # variable without a value: nothing equals it
                return False
            v = _text(value)
            if op.family == "arn":
                return arn_matches(self.pieces, v)
            if op.test == "like":
                return string_like(self.pieces, v)
            lit = _literal(self.pieces)
            return lit.lower() == v.lower() if op.ignore_case else lit == v
        if op.family == "bool":
            return self.parsed is not None and _text(value).lower() == self.parsed
        if op.family == "numeric":
            n = _parse_number(_text(value))
            return n is not None and _compare(op.test, n, self.parsed)
        if op.family == "date":
            d = _parse_date(_text(value))
            return d is not None and _compare(op.test, d, self.parsed)
        if op.family == "ip":
            try:
                return ipaddress.ip_address(_text(value).split("/")[0]) in self.parsed
            except ValueError:
                return False
        if op.family == "binary":
            try:
                return base64.b64decode(_text(value), validate=True) == self.parsed
            except (binascii.Error, ValueError):
                return _text(value).encode() == self.parsed
        return False


@dataclass(frozen=True)
class ConditionOutcome:
    met: bool
    failed: str = ""
    """When not met: the operator and key that failed and why, for the reader."""


def _describe(value: Any) -> str:
    if value is MISSING:
        return "is not in the request"
    if isinstance(value, list | tuple):
        return f"is {[_text(v) for v in value]!r}" if value else "is an empty list"
    return f"is {_text(value)!r}"


def _key_met(op: Operator, values: list[_PolicyValue], ctx_value: Any) -> bool:
    if op.family == "null":
        present = ctx_value is not MISSING and not (
            isinstance(ctx_value, list | tuple) and not ctx_value
        )
        wants_absent = [_text(v.raw).lower() == "true" for v in values]
        return any(w != present for w in wants_absent)
    if ctx_value is MISSING or (isinstance(ctx_value, list | tuple) and not ctx_value):
        if op.if_exists or op.qualifier == "ForAllValues":
            return True
        if op.qualifier == "ForAnyValue":
            return False
        return op.negated
    request_values = list(ctx_value) if isinstance(ctx_value, list | tuple) else [ctx_value]

    def one(v: Any) -> bool:
        hit = any(pv.matches(v) for pv in values)
        return not hit if op.negated else hit

    if op.qualifier == "ForAllValues":
        return all(one(v) for v in request_values)
    if op.qualifier == "ForAnyValue":
        return any(one(v) for v in request_values)
    hit = any(pv.matches(v) for v in request_values for pv in values)
    return not hit if op.negated else hit


def evaluate_condition(
    block: Mapping[str, Any] | None,
    ctx: RequestContext,
    *,
    variables: bool = True,
    where: str = "policy",
) -> ConditionOutcome:
    """Evaluate a statement's Condition element against the request context."""
    if not block:
        return ConditionOutcome(True)
    if not isinstance(block, Mapping):
        raise PolicyError(f"{where}: Condition must be an object of operators, got {block!r}")
    for op_name, keys in block.items():
        op = parse_operator(op_name)
        if not isinstance(keys, Mapping) or not keys:
            raise PolicyError(
                f"{where}: {op_name} must map condition keys to values, got {keys!r}",
                fix='write {"' + op_name + '": {"<condition key>": "<value>"}}',
            )
        for key, raw in keys.items():
            raws = raw if isinstance(raw, list | tuple) else [raw]
            if not raws:
                raise PolicyError(f"{where}: {op_name} {key} has no values")
            values = [_PolicyValue(op, r, ctx, variables, where) for r in raws]
            ctx_value = ctx.get(key)
            if not _key_met(op, values, ctx_value):
                wanted = raws[0] if len(raws) == 1 else list(raws)
                return ConditionOutcome(
                    False,
                    f"{op_name} {key} {wanted!r} is not met (the request's {key} "
                    f"{_describe(ctx_value)})",
                )
    return ConditionOutcome(True)
