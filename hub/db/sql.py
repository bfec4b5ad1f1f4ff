"""Small SQL helpers that differ between SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import String, cast, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.elements import ColumnElement

from registry.db import Base
from registry.db import lowered as lowered  # the searches of hub/ take it from here


def insert_ignoring_duplicates(
    session: AsyncSession, table: type[Base], rows: Sequence[dict[str, Any]], key: Sequence[str]
) -> Insert:
    """`INSERT … ON CONFLICT (key) DO NOTHING` in the session's dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return (
            postgresql.insert(table)
            .values(list(rows))
            .on_conflict_do_nothing(index_elements=list(key))
        )
    return sqlite.insert(table).values(list(rows)).on_conflict_do_nothing(index_elements=list(key))


def json_text(dialect: str, column: Any, *path: str | int) -> ColumnElement[str]:
    """The text at `path` inside a JSON document stored as text (NULL when absent)."""
    if dialect == "postgresql":
        document = cast(column, postgresql.JSONB)
        return func.jsonb_extract_path_text(document, *(str(p) for p in path), type_=String)
    steps = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
    return func.json_extract(column, f"${steps}", type_=String)
