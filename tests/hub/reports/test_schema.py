"""The reports migration builds exactly the `report_facts` table of the model, and unwinds."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

import hub.reports.models  # noqa: F401  (registers the table)
from registry.db import Base, create_engine, downgrade, migrate


def _mentions_report_facts(diff: Any) -> bool:
    return "report_facts" in repr(diff)


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [d for d in compare_metadata(context, Base.metadata) if _mentions_report_facts(d)]


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_the_migration_matches_the_model_and_unwinds(empty_database_url: str) -> None:
    engine = create_engine(empty_database_url)
    try:
        await migrate(engine)
        async with engine.connect() as connection:
            assert "report_facts" in await connection.run_sync(_tables)
            assert await connection.run_sync(_diff) == []
        await downgrade(engine, "0003_eventlog")
        async with engine.connect() as connection:
            assert "report_facts" not in await connection.run_sync(_tables)
    finally:
        await engine.dispose()
