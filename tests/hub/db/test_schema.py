"""The hub's migration builds exactly the tables `hub.db.models` describes, and unwinds."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

import hub.db.models
from registry.db import Base, create_engine, downgrade, migrate

HUB_TABLES = {
    hub.db.models.Document.__tablename__,
    hub.db.models.AttachmentBlob.__tablename__,
    hub.db.models.Delivery.__tablename__,
    hub.db.models.DeliveryAttempt.__tablename__,
    hub.db.models.StatusUpdateRow.__tablename__,
    hub.db.models.StatusCounter.__tablename__,
}


def _table_of(diff: Any) -> str | None:
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:]:
        table = getattr(part, "table", None)
        if table is not None:
            return str(table.name)
        name = getattr(part, "name", None)
        if isinstance(part, str):
            return part if part in HUB_TABLES else None
        if name in HUB_TABLES:
            return str(name)
    return None


def _hub_diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [d for d in compare_metadata(context, Base.metadata) if _table_of(d) in HUB_TABLES]


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_the_migration_matches_the_models(empty_database_url: str) -> None:
    engine = create_engine(empty_database_url)
    try:
        await migrate(engine)
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) >= HUB_TABLES
            assert await connection.run_sync(_hub_diff) == []
    finally:
        await engine.dispose()


async def test_downgrade_to_the_registry_drops_the_hub_tables(empty_database_url: str) -> None:
    engine = create_engine(empty_database_url)
    try:
        await migrate(engine)
        await downgrade(engine, "0001_registry")
        async with engine.connect() as connection:
            assert not HUB_TABLES & await connection.run_sync(_tables)
        await migrate(engine)
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) >= HUB_TABLES
    finally:
        await engine.dispose()


_COMPRESSION = text(
    "SELECT attrelid::regclass::text || '.' || attname, attcompression FROM pg_attribute"
    " WHERE (attrelid::regclass::text, attname) IN (('documents', 'package'),"
    " ('documents', 'receipt'), ('attachment_blobs', 'content'),"
    " ('deliveries', 'member_receipt'))"
)
_LARGE_COLUMNS = [
    "documents.package",
    "documents.receipt",
    "attachment_blobs.content",
    "deliveries.member_receipt",
]


async def _compression(engine: Any) -> dict[str, str]:
    """Each large column's compression method: `l` for lz4, `` for the server's default."""
    async with engine.connect() as connection:
        rows = (await connection.execute(_COMPRESSION)).all()
    return {name: bytes(method or b"").strip(b"\0").decode() for name, method in rows}


async def test_postgresql_compresses_large_values_with_lz4_when_it_can(
    empty_database_url: str,
) -> None:
    if not empty_database_url.startswith("postgresql"):
        pytest.skip("SQLite does not compress values")
    engine = create_engine(empty_database_url)
    try:
        async with engine.connect() as connection:
            try:  # a server built without lz4 refuses it, and the migration keeps pglz
                await connection.execute(text("SET default_toast_compression = 'lz4'"))
                expected = "l"
            except DBAPIError:
                expected = ""
        await migrate(engine)
        assert await _compression(engine) == dict.fromkeys(_LARGE_COLUMNS, expected)
        await downgrade(engine, "0006_status_push_redrive")
        assert await _compression(engine) == dict.fromkeys(_LARGE_COLUMNS, "")
    finally:
        await engine.dispose()
