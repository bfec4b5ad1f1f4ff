"""`lienthong hub ...` (serve, migrate, redrive, purge, backup), `lienthong log ...` (export,
verify)."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from hub.settings import HubSettings

# The hub's modules (FastAPI, SQLAlchemy, the PKI) are imported inside each command, so
# `lienthong --help` and every other command's start stay fast.

hub_app = typer.Typer(help="Run and operate the hub.", no_args_is_help=True)
log_app = typer.Typer(
    help="The hash-chained event log: export and verify; a member proves an entry.",
    no_args_is_help=True,
)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print `message` to stderr as an error and give the exit to raise."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def shown_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


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


@hub_app.command()
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


@hub_app.command()
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


@log_app.command("export")
def export_command(
    out: Annotated[Path, typer.Option("--out", help="The JSON-lines file to write.")],
    seal: Annotated[
        bool,
        typer.Option(help="First seal pending entries and sign the head (needs the hub key)."),
    ] = True,
) -> None:
    """Export the sealed log (entries, signed heads, hub certificate chain) as JSON lines."""
    from hub.eventlog.export import export_log
    from hub.eventlog.sealer import hub_sealer
    from hub.identity import HubIdentity, IdentityError
    from hub.settings import HubSettings
    from registry.db import NotMigratedError, assert_migrated, create_engine, session_factory

    settings = HubSettings()
    try:
        identity = HubIdentity.load(settings)
    except IdentityError as exc:
        raise fail(str(exc)) from exc

    async def run() -> tuple[int, int]:
        engine = create_engine(settings.resolved_database_url())
        sessions = session_factory(engine)
        try:
            await assert_migrated(engine)
            if seal:
                sealer = hub_sealer(sessions, identity, settings)
                await sealer.seal_all()
                await sealer.seal_once(force_head=True)
            with out.open("w", encoding="utf-8") as stream:
                return await export_log(sessions, identity.chain, stream)
        finally:
            await engine.dispose()

    try:
        entries, heads = asyncio.run(run())
    except NotMigratedError as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"exported {entries} entries and {heads} signed heads to {out}")


@log_app.command("verify")
def verify_command(
    file: Annotated[Path, typer.Argument(help="A file written by `lienthong log export`.")],
    ca: Annotated[Path, typer.Option("--ca", help="The national root certificate(s), PEM.")],
    crl: Annotated[
        Path | None,
        typer.Option("--crl", help="The CA's CRL (PEM): heads signed after a revocation fail."),
    ] = None,
) -> None:
    """Prove an exported log offline: every hash link, every signed head, the hub's certificate."""
    from cryptography import x509

    from hub.eventlog.verify import verify_export
    from signing.certs import load_certificates

    try:
        roots = load_certificates(ca.read_bytes())
    except (OSError, ValueError) as exc:
        raise fail(f"cannot read the CA root {ca}: {exc}") from exc
    if not roots:
        raise fail(f"no certificate in {ca}")
    try:
        crls = [x509.load_pem_x509_crl(crl.read_bytes())] if crl else []
    except (OSError, ValueError) as exc:
        raise fail(f"cannot read the CRL {crl}: {exc}") from exc
    try:
        with file.open(encoding="utf-8", errors="strict") as lines:
            result = verify_export(lines, roots, crls)
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot read {file}: {exc}") from exc
    except ValueError as exc:  # a CRL no given root signed
        raise fail(f"{crl}: {exc}") from exc
    if crl is None:
        result.warnings.append("revocation not checked: give the CA's CRL with --crl")
    for warning in result.warnings:
        typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW, err=True)
    if result.problem is not None:
        raise fail(f"{file}: {result.problem}", code=1)
    typer.echo(
        f"OK: {result.entries} entries chained, {result.heads} signed heads verified, "
        f"the last signed head covers entry {result.last_signed_seq}"
    )
