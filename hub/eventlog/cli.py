"""`lienthong log export|verify`: the hash-chained event log, for the hub's operator and anyone
holding an export (`lienthong log prove` is the member's, from `member_node.member_cli`)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from hub.ops.terminal import fail

__all__ = ["export_command", "log_app", "verify_command"]

# The log's modules (SQLAlchemy, the PKI) are imported inside each command: `--help` stays fast.

log_app = typer.Typer(
    help="The hash-chained event log: export and verify; a member proves an entry.",
    no_args_is_help=True,
)


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
