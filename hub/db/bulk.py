"""Many rows in one statement: the ingest writer's inserts, the event log's sealing updates.

On PostgreSQL the rows go as one array per column to
`INSERT … SELECT * FROM unnest($1::type[], …)` (or `UPDATE … FROM unnest(…)`),
sent by asyncpg itself: one statement and one execution on the server
whatever the number of rows (and of tables, for `insert_all`), and no
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
from dataclasses import dataclass
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert, Update


def sends_arrays(session: AsyncSession) -> bool:
    """Whether rows go as arrays (PostgreSQL through asyncpg): only then is `insert_all`'s
    `then` allowed."""
    dialect = session.get_bind().dialect
    return dialect.name == "postgresql" and dialect.driver == "asyncpg"


@dataclass(frozen=True)
class Inserts:
    """Rows for one table (all with the same keys), and what a conflict does.

    `on_conflict` is the PostgreSQL `ON CONFLICT …` clause to append, and
    `fallback` the same statement as SQLAlchemy Core for other databases
    (default: a plain insert).
    """

    table: Table
    rows: Sequence[Mapping[str, Any]]
    on_conflict: str = ""
    fallback: Insert | None = None


async def insert_rows(
    session: AsyncSession,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    on_conflict: str = "",
    fallback: Insert | None = None,
) -> None:
    """Insert `rows` into `table` in the session's transaction (`Inserts` says how)."""
    await insert_all(session, [Inserts(table, rows, on_conflict, fallback)])


async def insert_all(session: AsyncSession, inserts: Sequence[Inserts], *, then: str = "") -> None:
    """Several tables' rows, parents first, in the session's transaction.

    One statement on PostgreSQL, each table's INSERT a step of one `WITH`
    (foreign keys are checked at the end of the statement, so children may
    follow their parents in it): one round trip to the database for the lot.
    `then` (PostgreSQL only, see `sends_arrays`) is a statement over the rows
    the last INSERT stored, which it reads as `inserted`. Other databases get
    one executemany per table.
    """
    inserts = [each for each in inserts if each.rows]
    if not inserts:
        return
    if not sends_arrays(session):
        if then:
            raise ValueError("`then` needs PostgreSQL through asyncpg")
        for each in inserts:
            statement = each.fallback if each.fallback is not None else insert(each.table)
            await session.execute(statement, list(each.rows))
        return
    shapes = tuple((each.table, tuple(each.rows[0]), each.on_conflict) for each in inserts)
    sql, processors = _combined_insert(shapes, session.get_bind().dialect, then)
    arguments = [
        column
        for each, (_, names, _), column_processors in zip(inserts, shapes, processors, strict=True)
        for column in _columns(each.rows, names, column_processors)
    ]
    await _execute(session, sql, arguments)


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
    except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:  # e.g. "connection is closed"
        raise DBAPIError(sql, None, exc) from exc


@functools.cache
def _combined_insert(
    shapes: tuple[tuple[Table, tuple[str, ...], str], ...], dialect: Dialect, then: str
) -> tuple[str, list[list[Any]]]:
    """The SQL of `insert_all` and each table's bind processors, made once per shape."""
    quote = dialect.identifier_preparer.quote
    steps: list[str] = []
    processors: list[list[Any]] = []
    first = 1
    for table, names, on_conflict in shapes:
        unnest, column_processors = _unnest(table, names, dialect, first)
        first += len(names)
        columns = ", ".join(quote(name) for name in names)
        step = f"INSERT INTO {quote(table.name)} ({columns}) SELECT * FROM {unnest} {on_conflict}"
        steps.append(step.rstrip())
        processors.append(column_processors)
    if then:
        *earlier, last = steps
        ctes = [f"step{i} AS ({step})" for i, step in enumerate(earlier)]
        ctes.append(f"inserted AS ({last} RETURNING *)")
        final = then
    else:
        *earlier, final = steps
        ctes = [f"step{i} AS ({step})" for i, step in enumerate(earlier)]
    sql = f"WITH {', '.join(ctes)} {final}" if ctes else final
    return sql, processors


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


def _unnest(
    table: Table, names: tuple[str, ...], dialect: Dialect, first: int = 1
) -> tuple[str, list[Any]]:
    """`unnest($first::type[], …)` for the columns `names`, and their bind processors."""
    casts = []
    processors = []
    for i, name in enumerate(names, start=first):
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
