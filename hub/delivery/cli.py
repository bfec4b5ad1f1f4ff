"""`lienthong hub redrive`: requeue failed deliveries and status pushes from a shell."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated

import typer

from hub.ops.terminal import fail

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

__all__ = ["redrive"]

# The database modules are imported inside the command: `--help` stays fast.


def redrive(
    delivery_ids: Annotated[list[str] | None, typer.Argument(help="Deliveries to requeue.")] = None,
    all_failed: Annotated[
        bool, typer.Option("--all-failed", help="Requeue every failed delivery.")
    ] = False,
    recipient: Annotated[
        str | None,
        typer.Option(help="With --all-failed or --statuses: only this member's."),
    ] = None,
    status_pushes: Annotated[
        bool, typer.Option("--statuses", help="Requeue failed status pushes too.")
    ] = False,
) -> None:
    """Requeue failed deliveries (and status pushes) for a fresh round of attempts."""
    if not delivery_ids and not all_failed and not status_pushes:
        raise fail("name the deliveries to redrive, or pass --all-failed or --statuses")
    from hub.settings import HubSettings
    from registry.db import NotMigratedError, assert_migrated, create_engine, session_factory

    settings = HubSettings()

    async def run() -> int:
        engine = create_engine(settings.resolved_database_url())
        sessions = session_factory(engine)
        try:
            await assert_migrated(engine)
            return await _redrive(
                sessions, delivery_ids or [], all_failed, recipient, status_pushes
            )
        finally:
            await engine.dispose()

    try:
        errors = asyncio.run(run())
    except NotMigratedError as exc:
        raise fail(str(exc)) from exc
    if errors:
        raise typer.Exit(1)


async def _redrive(
    sessions: async_sessionmaker[AsyncSession],
    delivery_ids: list[str],
    all_failed: bool,
    recipient: str | None,
    status_pushes: bool,
) -> int:
    """Requeue and report each; the number of errors."""
    import getpass

    from hub.delivery import redrive as redriving
    from registry.problems import Problem

    try:  # the event log names who redrove: from the command line, the shell's user
        actor = f"cli:{getpass.getuser()}"
    except OSError:
        actor = "cli"
    errors = 0
    for delivery_id in delivery_ids:
        try:
            requeued = await redriving.redrive(sessions, delivery_id, actor=actor)
        except Problem as problem:
            typer.secho(f"{delivery_id}: {problem.detail}", fg=typer.colors.RED, err=True)
            errors += 1
        else:
            typer.echo(f"{delivery_id}: requeued for {requeued.recipient}")
    if all_failed:
        try:
            redriven = (
                await redriving.redrive_failed(sessions, actor=actor)
                if recipient is None
                else await redriving.redrive_recipient(sessions, recipient, actor=actor)
            )
        except Problem as problem:  # an unknown recipient
            typer.secho(problem.detail, fg=typer.colors.RED, err=True)
            return errors + 1
        for delivery in redriven:
            typer.echo(f"{delivery.id}: requeued for {delivery.recipient}")
        if not redriven and not delivery_ids:
            typer.echo("no failed delivery")
    if status_pushes:
        try:
            count = await redriving.redrive_status_pushes(sessions, recipient, actor=actor)
        except Problem as problem:
            typer.secho(problem.detail, fg=typer.colors.RED, err=True)
            errors += 1
        else:
            typer.echo(f"{count} failed status push(es) requeued")
    return errors
