"""Many rows in one statement: the ingest writer's inserts, the event log's sealing updates.

On PostgreSQL the rows go as one array per column to
`INSERT … SELECT * FROM unnest($1::type[], …)` (or `UPDATE … FROM unnest(…)`),
sent by asyncpg itself: one
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
from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert, Update


def sends_arrays(session: AsyncSession) -> bool:
    """Whether rows go as arrays (PostgreSQL through asyncpg): only then is `then` allowed."""
    dialect = session.get_bind().dialect
    return dialect.name == "postgresql" and dialect.driver == "asyncpg"


async def insert_rows(
    session: AsyncSession,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    on_conflict: str = "",
    fallback: Insert | None = None,
    then: str = "",
) -> None:
    """Insert `rows` (all with the same keys) into `table` in the session's transaction.

    `on_conflict` is the PostgreSQL `ON CONFLICT …` clause to append, and
    `fallback` the same statement as SQLAlchemy Core for other databases
    (default: a plain insert). `then` (PostgreSQL only, see `sends_arrays`)
    is a statement over the inserted rows, run as part of the same one:
    `WITH inserted AS (INSERT … RETURNING *) {then}`.
    """
    if not rows:
        return
    if not sends_arrays(session):
        if then:
            raise ValueError("`then` needs PostgreSQL through asyncpg")
        await session.execute(fallback if fallback is not None else insert(table), list(rows))
        return
    names = tuple(rows[0])
    dialect = session.get_bind().dialect
    sql, processors = _unnest_insert(table, names, dialect, on_conflict)
    if then:
        sql = f"WITH inserted AS ({sql} RETURNING *) {then}"
    await _execute(session, sql, _columns(rows, names, processors))


async def update_rows(
    session: AsyncSession, table: Table, rows: Sequence[Mapping[str, Any]], *, key: str
) -> None:
    """Set the other columns of each row where `key` matches, in the session's transaction."""
    if not rows:
        return
    names = tuple(rows[0])
    dialect = session.get_bind().dialect
    if not sends_arrays(session):
        await session.execute(_core_update(table, names, key), [_keyed(row, key) for row in rows])
        return
    sql, processors = _unnest_update(table, names, dialect, key)
    await _execute(session, sql, _columns(rows, names, processors))


def _columns(
    rows: Sequence[Mapping[str, Any]], names: tuple[str, ...], processors: list[Any]
) -> list[list[Any]]:
    """One list per column, each value through its column type's bind processor."""
    columns = [[row[name] for row in rows] for name in names]
    return [
        column if process is None else [process(value) for value in column]
        for column, process in zip(columns, processors, strict=True)
    ]


async def _execute(session: AsyncSession, sql: str, arguments: list[list[Any]]) -> None:
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
    unnest, processors = _unnest(table, names, dialect)
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(name) for name in names)}) "
        f"SELECT * FROM {unnest} {on_conflict}"
    )
    return sql.rstrip(), processors


@functools.cache
def _unnest_update(
    table: Table, names: tuple[str, ...], dialect: Dialect, key: str
) -> tuple[str, list[Any]]:
    quote = dialect.identifier_preparer.quote
    unnest, processors = _unnest(table, names, dialect)
    settings = ", ".join(f"{quote(name)} = v.{quote(name)}" for name in names if name != key)
    sql = (
        f"UPDATE {quote(table.name)} AS t SET {settings} "
        f"FROM {unnest} AS v({', '.join(quote(name) for name in names)}) "
        f"WHERE t.{quote(key)} = v.{quote(key)}"
    )
    return sql, processors


def _unnest(table: Table, names: tuple[str, ...], dialect: Dialect) -> tuple[str, list[Any]]:
    """`unnest($1::type[], …)` for the columns `names`, and their bind processors."""
    casts = []
    processors = []
    for i, name in enumerate(names, start=1):
        column_type = table.c[name].type
        # no length in the cast: casting to VARCHAR(n) would silently truncate,
        # the column's own assignment refuses a value too long
        base_type = re.sub(r"\(.*?\)", "", column_type.compile(dialect=dialect))
        casts.append(f"${i}::{base_type}[]")
        processors.append(column_type.bind_processor(dialect))
    return f"unnest({', '.join(casts)})", processors


@functools.cache
def _core_update(table: Table, names: tuple[str, ...], key: str) -> Update:
    """`UPDATE … WHERE key = :_key` as an executemany for databases without arrays."""
    return (
        update(table)
        .where(table.c[key] == bindparam("_key"))
        .values({name: bindparam(name) for name in names if name != key})
    )


def _keyed(row: Mapping[str, Any], key: str) -> dict[str, Any]:
    return {("_key" if name == key else name): value for name, value in row.items()}
