"""Small SQL helpers that differ between SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert

from registry.db import Base


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
