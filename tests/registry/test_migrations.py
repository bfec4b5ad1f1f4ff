"""Alembic is the one source of the schema: it builds, matches the models, and unwinds."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from migrations.metadata import include_object, metadata
from registry.db import (
    NotMigratedError,
    assert_migrated,
    create_engine,
    downgrade,
    head_revision,
    migrate,
)


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_object": include_object}
    )
    return list(compare_metadata(context, metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_upgrade_to_head_matches_the_models(empty_database_url: str) -> None:
    engine = create_engine(empty_database_url)
    try:
        with pytest.raises(NotMigratedError):
            await assert_migrated(engine)
        await migrate(engine)
        await assert_migrated(engine)
        async with engine.connect() as connection:
            assert await connection.run_sync(_diff) == []
    finally:
        await engine.dispose()


async def test_downgrade_to_base_and_upgrade_again(empty_database_url: str) -> None:
    engine = create_engine(empty_database_url)
    try:
        await migrate(engine)
        await downgrade(engine, "base")
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) <= {"alembic_version"}
        await migrate(engine)
        async with engine.connect() as connection:
            assert {"members", "member_certificates", "operators"} <= await connection.run_sync(
                _tables
            )
        await assert_migrated(engine)
    finally:
        await engine.dispose()


def test_first_revision_is_named_for_the_registry() -> None:
    assert head_revision() is not None
    from alembic.script import ScriptDirectory

    from registry.db import alembic_config

    base = ScriptDirectory.from_config(alembic_config()).get_base()
    assert base == "0001_registry"
