"""`lienthong registry …` and `lienthong operator …`: the registry from a shell.

Every command works on the database named by `LIENTHONG_DATABASE_URL` (or the
embedded SQLite in `LIENTHONG_DATA_DIR`). An embedded SQLite database is
created and migrated on first use; PostgreSQL must be migrated explicitly
(`lienthong registry migrate`). Refusals print `error [code]: detail` and
exit with status 1.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from registry.vocabulary import (
    AcceptancePolicy,
    DeliveryMode,
    MemberKind,
    MemberStatus,
    OperatorRole,
    WireFormat,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

# The registry's services (SQLAlchemy) are imported inside the commands: `--help` stays fast.

T = TypeVar("T")
CLI_ACTOR = "cli"

registry_app = typer.Typer(
    help="Members of the hub: register, change, inspect.", no_args_is_help=True
)
operator_app = typer.Typer(help="Operator accounts and their API tokens.", no_args_is_help=True)

JsonOption = typer.Option(False, "--json", help="Print JSON instead of text.")


def _run(work: Callable[[AsyncSession], Awaitable[T]], *, write: bool = True) -> T:
    from registry.db import assert_migrated, create_engine, migrate, session_factory
    from registry.errors import RegistryError
    from registry.settings import StorageSettings

    settings = StorageSettings()
    url = settings.resolved_database_url()

    async def main() -> T:
        engine = create_engine(url)
        try:
            if engine.dialect.name == "sqlite":
                await migrate(engine)
            else:
                await assert_migrated(engine)
            sessions = session_factory(engine)
            if write:
                async with sessions.begin() as session:
                    return await work(session)
            async with sessions() as session:
                return await work(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except RegistryError as exc:
        typer.echo(f"error [{exc.code}]: {exc.detail}", err=True)
        raise typer.Exit(1) from exc


def _print_member(view: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(view, ensure_ascii=False, indent=2))
        return
    typer.echo(f"{view['code']}  {view['name']}")
    for key in ("kind", "parent", "status", "delivery_mode", "endpoint", "policy", "wire_format"):
        typer.echo(f"  {key}: {view[key]}")
    for cert in view["certificates"]:
        state = f"retired {cert['retired_at']}" if cert["retired_at"] else "current"
        uses = "+".join(u for u in ("signing", "auth") if cert[u])
        typer.echo(f"  certificate {cert['fingerprint']} ({uses}, {state})")


@registry_app.command("migrate")
def migrate_command() -> None:
    """Upgrade the database to the latest schema."""
    from registry.db import migrate
    from registry.settings import StorageSettings

    asyncio.run(migrate(StorageSettings().resolved_database_url()))
    typer.echo("database at the latest revision")


@registry_app.command("add")
def add(
    code: str,
    name: str = typer.Option(..., "--name"),
    kind: MemberKind = typer.Option("other", "--kind"),
    parent: str | None = typer.Option(None, "--parent", help="Implied by the code if omitted."),
    delivery_mode: DeliveryMode = typer.Option("pull", "--delivery-mode"),
    endpoint: str | None = typer.Option(
        None, "--endpoint", help="The node's base URL (push): the hub POSTs to ENDPOINT/v1/inbox."
    ),
    policy: AcceptancePolicy = typer.Option(
        "accept_all", "--policy", help="Which verdicts reach it."
    ),
    wire_format: WireFormat = typer.Option("json", "--format", help="What it receives."),
    as_json: bool = JsonOption,
) -> None:
    """Register a member."""
    from registry.members import MemberInput, create_member, member_view

    data = MemberInput(code, name, kind, parent, delivery_mode, endpoint, policy, wire_format)

    async def work(session: AsyncSession) -> dict[str, Any]:
        return member_view(await create_member(session, data, actor=CLI_ACTOR))

    _print_member(_run(work), as_json)


@registry_app.command("update")
def update(
    code: str,
    name: str | None = typer.Option(None, "--name"),
    kind: MemberKind | None = typer.Option(None, "--kind"),
    delivery_mode: DeliveryMode | None = typer.Option(None, "--delivery-mode"),
    endpoint: str | None = typer.Option(None, "--endpoint"),
    policy: AcceptancePolicy | None = typer.Option(None, "--policy"),
    wire_format: WireFormat | None = typer.Option(None, "--format", help="What it receives."),
    as_json: bool = JsonOption,
) -> None:
    """Change a member's name, kind, delivery mode, endpoint, policy or wire format."""
    from registry.members import member_view, update_member

    given = {
        "name": name,
        "kind": kind,
        "delivery_mode": delivery_mode,
        "endpoint": endpoint,
        "policy": policy,
        "wire_format": wire_format,
    }
    changes = {k: v for k, v in given.items() if v is not None}

    async def work(session: AsyncSession) -> dict[str, Any]:
        return member_view(await update_member(session, code, changes, actor=CLI_ACTOR))

    _print_member(_run(work), as_json)


def _status_command(action: str, help_text: str) -> None:
    def command(code: str, as_json: bool = JsonOption) -> None:
        from registry.members import change_status, member_view

        async def work(session: AsyncSession) -> dict[str, Any]:
            return member_view(await change_status(session, code, action, actor=CLI_ACTOR))

        _print_member(_run(work), as_json)

    command.__doc__ = help_text
    registry_app.command(action)(command)


_status_command("suspend", "Suspend a member: its tokens stop working at once.")
_status_command("reinstate", "Reinstate a suspended member.")
_status_command("revoke", "Revoke a member for good.")


@registry_app.command("show")
def show(code: str, as_json: bool = JsonOption) -> None:
    """One member with its certificates."""
    from registry.members import get_member, member_view

    async def work(session: AsyncSession) -> dict[str, Any]:
        return member_view(await get_member(session, code))

    _print_member(_run(work, write=False), as_json)


@registry_app.command("list")
def list_command(
    kind: MemberKind | None = typer.Option(None, "--kind"),
    status: MemberStatus | None = typer.Option(None, "--status"),
    parent: str | None = typer.Option(None, "--parent"),
    limit: int = typer.Option(1000, "--limit"),
    offset: int = typer.Option(0, "--offset"),
    as_json: bool = JsonOption,
) -> None:
    """Members in code order."""
    from registry.members import MemberFilter, list_members, member_view

    async def work(session: AsyncSession) -> tuple[list[dict[str, Any]], int]:
        rows, total = await list_members(
            session, MemberFilter(kind, status, parent), limit=limit, offset=offset
        )
        return [member_view(m) for m in rows], total

    items, total = _run(work, write=False)
    if as_json:
        typer.echo(json.dumps({"items": items, "total": total}, ensure_ascii=False, indent=2))
        return
    for view in items:
        typer.echo(f"{view['code']}  {view['status']:<9}  {view['kind']:<18}  {view['name']}")
    typer.echo(f"{len(items)} of {total} members")


@registry_app.command("load-national")
def load_national(
    communes: bool = typer.Option(
        False,
        "--communes",
        help="Also the generated tree under the provinces: departments, districts, communes"
        " (about 12,000 members).",
    ),
    seed: int = typer.Option(2019, "--seed", help="The tree's seed (with --communes)."),
    as_json: bool = JsonOption,
) -> None:
    """Register the 94 national units shipped with the package (idempotent)."""
    from registry.national import load_national_units
    from registry.national_load import LoadResult, load_units

    if communes:
        from registry.national_tree import national_tree

        units = national_tree(seed)
    else:
        units = sorted(load_national_units(), key=lambda u: (u.parent is not None, u.code))

    async def work(session: AsyncSession) -> LoadResult:
        return await load_units(session, units, actor="cli:load-national")

    result = _run(work)
    if as_json:
        typer.echo(json.dumps({"added": result.added, "already_present": result.already_present}))
    else:
        typer.echo(f"{result.added} units added, {result.already_present} already present")


def _certificate_command(name: str, rotate: bool, help_text: str) -> None:
    def command(
        code: str,
        certificate: Path = typer.Argument(..., exists=True, dir_okay=False),
        ca: Path | None = typer.Option(None, "--ca", help="Default: {data_dir}/pki/ca.crt"),
        signing: bool = typer.Option(True, "--signing/--no-signing"),
        auth: bool = typer.Option(True, "--auth/--no-auth"),
        as_json: bool = JsonOption,
    ) -> None:
        from registry.certificates import add_certificate
        from registry.members import get_member, member_view
        from registry.settings import StorageSettings
        from signing.certs import load_certificates

        ca_path = ca or StorageSettings().data_dir / "pki" / "ca.crt"
        try:
            roots = load_certificates(ca_path.read_bytes())
        except (OSError, ValueError) as exc:
            typer.echo(f"error [ca_unreadable]: cannot read the CA from {ca_path}: {exc}", err=True)
            raise typer.Exit(1) from exc
        pem = certificate.read_bytes()

        async def work(session: AsyncSession) -> dict[str, Any]:
            await add_certificate(
                session,
                code,
                pem,
                roots=roots,
                actor=CLI_ACTOR,
                signing=signing,
                auth=auth,
                rotate=rotate,
            )
            return member_view(await get_member(session, code))

        _print_member(_run(work), as_json)

    command.__doc__ = help_text
    registry_app.command(name)(command)


_certificate_command("add-cert", False, "Add an organisation certificate to a member.")
_certificate_command(
    "rotate-cert", True, "Add a certificate and retire the current ones it replaces."
)


@operator_app.command("create")
def operator_create(
    name: str = typer.Option(..., "--name"),
    role: OperatorRole = typer.Option(..., "--role"),
    as_json: bool = JsonOption,
) -> None:
    """Create an operator and print its API token (shown only this once)."""
    from registry.operators import create_operator, operator_view

    async def work(session: AsyncSession) -> tuple[dict[str, Any], str]:
        operator, token = await create_operator(session, name, role)
        return operator_view(operator), token

    view, token = _run(work)
    if as_json:
        typer.echo(json.dumps({**view, "token": token}))
    else:
        typer.echo(token)
        typer.echo(
            f"(operator {view['name']}, role {view['role']}; keep it: it is not stored)", err=True
        )


@operator_app.command("list")
def operator_list(as_json: bool = JsonOption) -> None:
    """Operators and their roles (never their tokens)."""
    from registry.operators import list_operators, operator_view

    async def work(session: AsyncSession) -> list[dict[str, Any]]:
        return [operator_view(o) for o in await list_operators(session)]

    views = _run(work, write=False)
    if as_json:
        typer.echo(json.dumps(views))
        return
    for view in views:
        state = "disabled" if view["disabled_at"] else "active"
        typer.echo(f"{view['name']}  {view['role']}  {state}")


@operator_app.command("disable")
def operator_disable(name: str = typer.Option(..., "--name")) -> None:
    """Disable an operator: its token stops working."""
    from registry.operators import disable_operator

    async def work(session: AsyncSession) -> None:
        await disable_operator(session, name)

    _run(work)
    typer.echo(f"operator {name} disabled")
