"""Many rows into one table in one statement: the ingest writer's inserts.

On PostgreSQL the rows go as one array per column to
`INSERT … SELECT * FROM unnest($1::type[], …)`, sent by asyncpg itself: one
statement and one execution on the server whatever the number of rows, and no
per-row parameter handling in SQLAlchemy. (An executemany runs the statement
once per row on the server and builds every row's parameters in Python; at
ingest rates that was most of the hub's database cost.) Other databases get
SQLAlchemy Core's executemany. Both run in the session's transaction, and a
failure surfaces as SQLAlchemy's `IntegrityError` or `DBAPIError`, whichever
way the rows went.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert


async def insert_rows(
    session: AsyncSession,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    on_conflict: str = "",
    fallback: Insert | None = None,
) -> None:
    """Insert `rows` (all with the same keys) into `table` in the session's transaction.

    `on_conflict` is the PostgreSQL `ON CONFLICT …` clause to append, and
    `fallback` the same statement as SQLAlchemy Core for other databases
    (default: a plain insert).
    """
    if not rows:
        return
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql" or dialect.driver != "asyncpg":
        await session.execute(fallback if fallback is not None else insert(table), list(rows))
        return
    names = tuple(rows[0])
    sql, processors = _unnest_insert(table, names, dialect, on_conflict)
    columns = [[row[name] for row in rows] for name in names]
    arguments = [
        column if process is None else [process(value) for value in column]
        for column, process in zip(columns, processors, strict=True)
    ]
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    if driver is None:
        raise RuntimeError("the session's connection is closed")
    if not driver.is_in_transaction():
        # SQLAlchemy's asyncpg adapter opens the transaction with its first statement
        await connection.exec_driver_sql("SELECT 1")
    try:
        await driver.execute(sql, *arguments)
    except asyncpg.IntegrityConstraintViolationError as exc:
        raise IntegrityError(sql, None, exc) from exc
    except asyncpg.PostgresError as exc:
        raise DBAPIError(sql, None, exc) from exc


@functools.cache
def _unnest_insert(
    table: Table, names: tuple[str, ...], dialect: Dialect, on_conflict: str
) -> tuple[str, list[Any]]:
    """The SQL and each column's bind processor (types' own conversions), made once."""
    quote = dialect.identifier_preparer.quote
    casts = []
    processors = []
    for i, name in enumerate(names, start=1):
        column_type = table.c[name].type
        # no length in the cast: casting to VARCHAR(n) would silently truncate,
        # the column's own assignment refuses a value too long
        base_type = re.sub(r"\(.*?\)", "", column_type.compile(dialect=dialect))
        casts.append(f"${i}::{base_type}[]")
        processors.append(column_type.bind_processor(dialect))
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(name) for name in names)}) "
        f"SELECT * FROM unnest({', '.join(casts)}) {on_conflict}"
    )
    return sql.rstrip(), processors
