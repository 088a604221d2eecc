"""Analytics views written once in SQL and translated with sqlglot to DuckDB and Snowflake.

Each view is one ``<name>.sql`` file holding a single SELECT in sqlglot's neutral dialect over a
use case's flat event tables; a use case keeps its views next to its events and names the folder
in its :class:`mlops.events.EventRegistry` (``views_dir``; Remedy's are in ``remedy_core/sql``).
The local warehouse runs the DuckDB translation; the Snowflake component creates the Snowflake
translation. Nothing else writes view SQL by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import sqlglot
from sqlglot import exp

from mlops.errors import MlopsError

Dialect = Literal["duckdb", "snowflake"]
DIALECTS: tuple[Dialect, ...] = ("duckdb", "snowflake")


class ViewError(MlopsError):
    """A view's SQL is missing or does not parse."""


@dataclass(frozen=True)
class View:
    name: str
    source: str  # neutral-dialect SELECT
    description: str
    path: Path | None = None

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
                fix=f"fix {self.path or self.name + '.sql'}",
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


def load_views(directory: Path | None) -> tuple[View, ...]:
    """The views in ``directory`` (a registry's ``views_dir``), sorted by name; none for None."""
    return () if directory is None else _load(Path(directory).resolve())


@cache
def _load(directory: Path) -> tuple[View, ...]:
    files = sorted(directory.glob("*.sql"))
    if not files:
        raise ViewError(
            f"no view SQL found in {directory}",
            fix="point the registry's views_dir at the use case's sql folder",
        )
    views = []
    for path in files:
        text = path.read_text()
        statements = [s for s in sqlglot.parse(text, read=None) if s is not None]
        if len(statements) != 1 or not isinstance(statements[0], exp.Query):
            raise ViewError(f"{path.name} must hold exactly one SELECT", fix=f"split or fix {path}")
        views.append(View(name=path.stem, source=text, description=_description(text), path=path))
    return tuple(views)


def get_view(name: str, directory: Path | None) -> View:
    views = load_views(directory)
    for view in views:
        if view.name == name:
            return view
    known = ", ".join(v.name for v in views) or "none (the registry has no views)"
    raise ViewError(f"unknown view {name!r}", fix=f"use one of: {known}")


def create_statements(
    dialect: Dialect, directory: Path | None, schema: str | None = None
) -> list[str]:
    """``CREATE OR REPLACE VIEW`` statements for every view in ``directory``, in ``dialect``."""
    return [
        v.create_statement(dialect, f"{schema}.{v.name}" if schema else None)
        for v in load_views(directory)
    ]
