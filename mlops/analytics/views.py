"""Analytics views written once in SQL and translated with sqlglot to DuckDB and Snowflake.

Each view is one ``sql/<name>.sql`` file holding a single SELECT in sqlglot's neutral dialect over
the flat event tables (``decision_events``, ``handler_actions``, ``claim_outcomes``; columns in
:mod:`mlops.events`). The local warehouse runs the DuckDB translation; the Snowflake component
creates the Snowflake translation. Nothing else writes view SQL by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import sqlglot
from sqlglot import exp

from mlops.errors import MlopsError

SQL_DIR = Path(__file__).parent / "sql"
Dialect = Literal["duckdb", "snowflake"]
DIALECTS: tuple[Dialect, ...] = ("duckdb", "snowflake")


class ViewError(MlopsError):
    """A view's SQL is missing or does not parse."""


@dataclass(frozen=True)
class View:
    name: str
    source: str  # neutral-dialect SELECT
    description: str

    def translate(self, dialect: Dialect, qualify: tuple[str, str] | None = None) -> str:
        """The SELECT in ``dialect`` (raises ViewError naming the view if it does not parse).

        ``qualify=(database, schema)`` prefixes every base table (Snowflake views).
        """
        try:
            tree = sqlglot.parse_one(self.source, read=None)
            if qualify:
                ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
                for table in tree.find_all(exp.Table):
                    if table.name not in ctes:
                        table.set("db", exp.to_identifier(qualify[1]))
                        table.set("catalog", exp.to_identifier(qualify[0]))
            sql = tree.sql(dialect=dialect, pretty=True)
        except (sqlglot.errors.ParseError, ValueError) as exc:
            raise ViewError(
                f"view {self.name!r} does not translate to {dialect}: {exc}",
                fix=f"fix {SQL_DIR / (self.name + '.sql')}",
            ) from exc
        return sql

    def create_statement(self, dialect: Dialect, qualified_name: str | None = None) -> str:
        target = qualified_name or self.name
        return f"CREATE OR REPLACE VIEW {target} AS\n{self.translate(dialect)}"

    def tables(self) -> set[str]:
        """Base tables the view reads (CTE names excluded)."""
        tree = sqlglot.parse_one(self.source)
        ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
        return {t.name for t in tree.find_all(exp.Table)} - ctes


def _description(sql: str) -> str:
    lines = [ln[2:].strip() for ln in sql.splitlines() if ln.startswith("--")]
    return " ".join(lines)


@cache
def load_views() -> tuple[View, ...]:
    """All views, sorted by name."""
    files = sorted(SQL_DIR.glob("*.sql"))
    if not files:
        raise ViewError(f"no view SQL found in {SQL_DIR}", fix="reinstall the mlops package")
    views = []
    for path in files:
        text = path.read_text()
        statements = [s for s in sqlglot.parse(text, read=None) if s is not None]
        if len(statements) != 1 or not isinstance(statements[0], exp.Query):
            raise ViewError(f"{path.name} must hold exactly one SELECT", fix=f"split or fix {path}")
        views.append(View(name=path.stem, source=text, description=_description(text)))
    return tuple(views)


def get_view(name: str) -> View:
    for view in load_views():
        if view.name == name:
            return view
    known = ", ".join(v.name for v in load_views())
    raise ViewError(f"unknown view {name!r}", fix=f"use one of: {known}")


def create_statements(dialect: Dialect, schema: str | None = None) -> list[str]:
    """``CREATE OR REPLACE VIEW`` statements for every view in ``dialect``."""
    return [
        v.create_statement(dialect, f"{schema}.{v.name}" if schema else None) for v in load_views()
    ]
