"""`lienthong hub purge`: apply the retention policy now, from a shell or a cron job."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from hub.ops.terminal import fail

__all__ = ["purge"]

# The database modules are imported inside the command: `--help` stays fast.


def purge(
    body_days: Annotated[
        int | None,
        typer.Option(help="Purge bodies older than this (default LIENTHONG_RETENTION_BODY_DAYS)."),
    ] = None,
    metadata_days: Annotated[
        int | None,
        typer.Option(
            help="Remove documents older than this (default LIENTHONG_RETENTION_METADATA_DAYS)."
        ),
    ] = None,
) -> None:
    """Apply the retention policy now: purge old bodies, then old metadata and statistics."""
    import json

    from hub.retention.purge import purge as run_purge
    from hub.settings import HubSettings
    from registry.db import NotMigratedError, assert_migrated, create_engine, session_factory

    settings = HubSettings()
    body_days = body_days if body_days is not None else settings.retention_body_days
    metadata_days = metadata_days if metadata_days is not None else settings.retention_metadata_days
    if body_days is None and metadata_days is None:
        raise fail(
            "no retention policy: set LIENTHONG_RETENTION_BODY_DAYS or "
            "LIENTHONG_RETENTION_METADATA_DAYS, or pass --body-days / --metadata-days"
        )

    async def run() -> dict[str, object]:
        engine = create_engine(settings.resolved_database_url())
        try:
            await assert_migrated(engine)
            result = await run_purge(
                session_factory(engine), body_days=body_days, metadata_days=metadata_days
            )
            return result.as_dict()
        finally:
            await engine.dispose()

    try:
        typer.echo(json.dumps(asyncio.run(run()), ensure_ascii=False))
    except NotMigratedError as exc:
        raise fail(str(exc)) from exc
