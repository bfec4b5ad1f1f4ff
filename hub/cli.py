"""`lienthong hub ...` (init, serve, migrate, redrive, purge, backup) and `lienthong log ...`.

The entry for the hub's commands: setting up, serving and migrating live here; the
others sit with their capability (`hub.delivery.cli` redrive, `hub.retention.cli`
purge, `hub.eventlog.cli` the log) and are gathered onto `hub_app` below.
"""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hub.delivery.cli import redrive
from hub.eventlog.cli import log_app
from hub.ops.terminal import fail, shown_url
from hub.retention.cli import purge

if TYPE_CHECKING:
    from fastapi import FastAPI

    from hub.settings import HubSettings

__all__ = ["app_factory", "hub_app", "log_app", "preflight", "tune_gc"]

# The hub's modules (FastAPI, SQLAlchemy, the PKI) are imported inside each command, so
# `lienthong --help` and every other command's start stay fast.

hub_app = typer.Typer(help="Run and operate the hub.", no_args_is_help=True)


def app_factory() -> FastAPI:
    """The uvicorn app factory: each worker builds its app from the environment."""
    from hub.app import create_app
    from hub.settings import HubSettings

    settings = HubSettings()
    app = create_app(settings)
    tune_gc(settings.gc_gen0_threshold)
    return app


def tune_gc(gen0_threshold: int) -> None:
    """Collect garbage for a server's pace, not a script's.

    A submission allocates thousands of short-lived objects, so with Python's
    default (a young collection every 700 allocations, a full one every 100
    of those) the collector ran many times per request and its full passes
    over everything the worker loaded stalled requests: about a tenth of the
    worker's CPU, and most of the latency tail under load (p99 240-270 ms
    against 110-130 with this). What the worker loaded before serving is
    frozen out of the collector's sight; refcounting still frees what dies.
    """
    if gen0_threshold <= 0:
        return
    gc.freeze()
    gc.set_threshold(gen0_threshold, 50, 100)


async def _preflight(settings: HubSettings) -> None:
    from registry.db import assert_migrated, create_engine

    engine = create_engine(settings.resolved_database_url())
    try:
        await assert_migrated(engine)
    finally:
        await engine.dispose()


def preflight(settings: HubSettings) -> None:
    """Refuse to serve on an unmigrated database or without an identity, saying what to run."""
    from hub.identity import HubIdentity, IdentityError
    from registry.db import NotMigratedError

    url = settings.resolved_database_url()
    try:
        asyncio.run(_preflight(settings))
    except NotMigratedError as exc:
        raise fail(f"the database {shown_url(url)} is not ready: {exc}") from exc
    except OSError as exc:
        raise fail(f"the database {shown_url(url)} is unreachable: {exc}") from exc
    try:
        HubIdentity.load(settings)
    except IdentityError as exc:
        raise fail(str(exc)) from exc


@hub_app.command()
def init(
    ca: Annotated[
        Path | None,
        typer.Option(
            "--ca",
            help="An existing CA directory (ca.key, ca.crt). Default: DATA_DIR/ca, created once.",
        ),
    ] = None,
    hub_code: Annotated[str, typer.Option(help="The agency code in the hub's certificate.")] = (
        "000.00.00.G00"
    ),
    name: Annotated[str, typer.Option(help="The organisation name in the hub's certificate.")] = (
        "lienthong hub"
    ),
    operator: Annotated[str, typer.Option(help="The admin operator to create.")] = "admin",
) -> None:
    """Set a hub up in one go: CA, hub certificate, CRL, database, an admin operator token.

    Idempotent: what exists is kept (keys are never overwritten), and a second run says
    that nothing changed. Paths follow the `LIENTHONG_*` settings (the PKI in DATA_DIR/pki).
    """
    from hub.ops.bootstrap import BootstrapError, initialise
    from hub.settings import HubSettings

    settings = HubSettings()
    try:
        done = initialise(settings, ca_dir=ca, hub_code=hub_code, hub_name=name, operator=operator)
    except BootstrapError as exc:
        raise fail(str(exc)) from exc
    except OSError as exc:
        raise fail(f"cannot set the hub up: {exc}") from exc
    for step in done.steps:
        typer.echo(f"{step.what:<16}{step.detail}")
    if done.admin_token is not None:
        typer.echo(f"admin token     {done.admin_token}")
        typer.echo("(shown once: keep it; more with `lienthong operator create`)", err=True)
    if not done.changed:
        typer.echo("nothing changed: this hub was already set up")
    else:
        typer.echo("next: lienthong hub serve")


@hub_app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8080,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (uvicorn).")] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn's log level.")] = "info",
) -> None:
    """Run the hub's HTTP service (settings from `LIENTHONG_*`, listed in the README)."""
    import uvicorn

    from hub.settings import HubSettings

    preflight(HubSettings())
    uvicorn.run(
        "hub.cli:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,
        proxy_headers=False,
    )


@hub_app.command()
def migrate() -> None:
    """Upgrade the database to the schema this code needs (creates it on first use)."""
    from hub.settings import HubSettings
    from registry.db import create_engine, current_revision
    from registry.db import migrate as migrate_database

    url = HubSettings().resolved_database_url()

    async def run() -> str | None:
        await migrate_database(url)
        engine = create_engine(url)
        try:
            return await current_revision(engine)
        finally:
            await engine.dispose()

    try:
        revision = asyncio.run(run())
    except OSError as exc:
        raise fail(f"the database {shown_url(url)} is unreachable: {exc}") from exc
    typer.echo(f"{shown_url(url)} is at revision {revision}")


hub_app.command()(redrive)
hub_app.command()(purge)


@hub_app.command()
def backup(
    out: Annotated[Path, typer.Option("--out", help="The backup file to write.")],
) -> None:
    """Copy the embedded SQLite database while the hub runs (SQLite's online backup API).

    PostgreSQL is backed up with `pg_dump` (docs/OPERATIONS.md)."""
    import sqlite3

    from sqlalchemy.engine import make_url

    from hub.settings import HubSettings

    url = make_url(HubSettings().resolved_database_url())
    if not url.drivername.startswith("sqlite") or not url.database:
        raise fail("`hub backup` copies a SQLite database; back PostgreSQL up with pg_dump")
    source_path = Path(url.database)
    if not source_path.exists():
        raise fail(f"no database at {source_path}")
    if out.exists():
        raise fail(f"{out} exists; choose a new file")
    source = sqlite3.connect(source_path)
    try:
        target = sqlite3.connect(out)
        try:
            source.backup(target)
        finally:
            target.close()
    finally:
        source.close()
    check = sqlite3.connect(out)
    try:
        ok = check.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        check.close()
    if ok != "ok":
        raise fail(f"the copy {out} fails its integrity check: {ok}", code=1)
    typer.echo(f"backed up {source_path} to {out} ({out.stat().st_size} bytes)")
