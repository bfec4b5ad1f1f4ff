"""The one database layer: declarative base, engines, sessions and migrations.

SQLite (WAL, in the data directory) is the embedded default; PostgreSQL via
asyncpg is the production database. Alembic under `migrations/` is the only
source of the schema: nothing here calls `create_all`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import DateTime, MetaData, String, event, func
from sqlalchemy.engine import Connection, Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

INT64_MAX = 2**63 - 1
"""The largest integer both databases store (SQLite INTEGER, PostgreSQL BIGINT): the upper
bound of every integer a client sends that reaches a query (cursors, offsets)."""


class Base(DeclarativeBase):
    """The declarative base of every table in the project (registry and hub)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database.

    SQLite keeps no offset, so values are normalised to UTC on the way in and
    given back their UTC offset on the way out; naive datetimes are refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store timezone-aware UTC timestamps")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class NotMigratedError(RuntimeError):
    """The database is not at the latest schema revision; run the migrations."""


def async_url(url: str) -> str:
    """Name the async driver: `postgresql://` becomes asyncpg, `sqlite://` aiosqlite."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url.split("://", 1)[1]
    return url


def _unicode_lower(value: str | None) -> str | None:
    return value.lower() if isinstance(value, str) else value


def lowered(dialect: str, text: Any) -> ColumnElement[str]:
    """`text` in lower case, every letter (Python's `str.lower`, PostgreSQL's `lower`):
    SQLite's own `lower` folds ASCII only, so its connections carry `unicode_lower`."""
    if dialect == "postgresql":
        return func.lower(text, type_=String)
    return func.unicode_lower(text, type_=String)


def _set_sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    # SQLite's lower() folds ASCII letters only ("Ủy" stays "Ủy"); searches use this one
    dbapi_connection.create_function("unicode_lower", 1, _unicode_lower, deterministic=True)
    # The driver's own implicit BEGIN is deferred; `_begin_immediate` emits ours.
    dbapi_connection.isolation_level = None


def _begin_immediate(connection: Connection) -> None:
    """Take SQLite's write lock when a transaction starts, not at its first write.

    A deferred transaction that reads and then writes fails at once with
    "database is locked" when another connection committed in between (WAL
    cannot upgrade a stale snapshot, and busy_timeout does not apply). Taking
    the lock up front makes concurrent transactions wait their turn instead.
    An AUTOCOMMIT connection (checkpoints, VACUUM) begins nothing.
    """
    if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine; for SQLite, create the file's directory and use WAL."""
    url = async_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
            # One connection, handed out in turn: SQLite has one writer, and
            # connections of one process contending for its lock wait in the
            # busy handler, which is unfair (a waiter can starve until
            # "database is locked"). The pool's queue is first come, first served.
            kwargs.setdefault("pool_size", 1)
            kwargs.setdefault("max_overflow", 0)
            kwargs.setdefault("pool_timeout", 60)
        engine = _create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _set_sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _begin_immediate)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return _create_async_engine(url, **kwargs)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """The project's one way of making sessions; objects stay usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


MIGRATIONS = "migrations:"
"""Where the Alembic scripts live, as Alembic's `package:path` resource name. Named, not
imported: the migrations gather every package's tables (the hub's too), and the registry
must not depend on the hub."""


def alembic_config(url: str | None = None, location: str | Path = MIGRATIONS) -> Config:
    """Alembic's configuration, built in code so it works from an installed package."""
    config = Config()
    config.set_main_option("script_location", str(location))
    if url is not None:
        config.set_main_option("sqlalchemy.url", async_url(url).replace("%", "%%"))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _run_upgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def _run_downgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


async def migrate(target: str | AsyncEngine, revision: str = "head") -> None:
    """Upgrade the database (a URL or an engine) to `revision`."""
    engine = create_engine(target) if isinstance(target, str) else target
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run_upgrade, revision)
    finally:
        if isinstance(target, str):
            await engine.dispose()


async def downgrade(target: str | AsyncEngine, revision: str = "base") -> None:
    """Downgrade the database to `revision` (tests and operators undoing a release)."""
    engine = create_engine(target) if isinstance(target, str) else target
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run_downgrade, revision)
    finally:
        if isinstance(target, str):
            await engine.dispose()


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(_current_revision)


async def assert_migrated(engine: AsyncEngine) -> None:
    """Refuse to run on a database that is not at the head revision."""
    head = head_revision()
    current = await current_revision(engine)
    if current != head:
        raise NotMigratedError(
            f"the database is at revision {current or 'none'}, the code needs {head}: "
            "run `lienthong hub migrate` (or `lienthong registry migrate`)"
        )
