"""The one console script, `lienthong`: it gathers each package's commands.

This is one of the two places allowed to see every package (DESIGN section 2);
each package keeps its own commands in its own `cli` module.
"""

import typer

from hub import cli as hub_cli
from hub.reports import cli as report_cli
from member_node import cli as node_cli
from member_node import member_cli
from member_node.simulation import cli as simulation_cli
from registry import cli as registry_cli
from signing import cli as signing_cli
from signing.edxml import cli as edxml_cli

app = typer.Typer(
    name="lienthong",
    help="National document-interconnection hub.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
)

app.add_typer(signing_cli.pki_app, name="pki")
app.add_typer(hub_cli.hub_app, name="hub")
app.add_typer(hub_cli.log_app, name="log")
app.add_typer(report_cli.report_app, name="report")
app.add_typer(node_cli.node_app, name="node")
app.command("sign")(signing_cli.sign)
app.command("sign-pdf")(signing_cli.sign_pdf)
app.command("verify")(signing_cli.verify)
app.command("demo")(simulation_cli.demo)
signing_cli.pki_app.command("walkthrough")(signing_cli.walkthrough)
app.add_typer(simulation_cli.network_app, name="network")
app.add_typer(registry_cli.registry_app, name="registry")
app.add_typer(registry_cli.operator_app, name="operator")
app.add_typer(edxml_cli.edxml_app, name="edxml")
hub_cli.log_app.command("prove")(member_cli.prove)
for command in (member_cli.token, member_cli.trace, member_cli.status, member_cli.recall):
    app.command()(command)


def main() -> None:
    """The console script: a bad `LIENTHONG_*` setting is one line on stderr and exit 2."""
    try:
        app()
    except Exception as exc:
        message = settings_problem(exc)
        if message is not None:
            typer.echo(f"error: {message}", err=True)
            raise SystemExit(2) from None
        message = environment_problem(exc)
        if message is None:
            raise
        typer.echo(f"error: {message}", err=True)
        raise SystemExit(1) from None


def environment_problem(exc: BaseException) -> str | None:
    """One line for a file, a database or a network that failed us; None for anything else."""
    import socket

    module = type(exc).__module__
    if isinstance(exc, ConnectionError | socket.gaierror | TimeoutError) or module.startswith(
        ("sqlalchemy.exc", "asyncpg")
    ):
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return f"{detail} (is the database up? check LIENTHONG_DATABASE_URL)"
    if isinstance(exc, OSError):
        return f"{exc.strerror}: {exc.filename}" if exc.filename else str(exc)
    return None


def settings_problem(exc: BaseException) -> str | None:
    """What is wrong with the environment's settings, if `exc` says so; else None."""
    from pydantic import ValidationError

    if not isinstance(exc, ValidationError) or not exc.title.endswith("Settings"):
        return None
    problems = []
    for error in exc.errors():
        name = "LIENTHONG_" + "_".join(str(part) for part in error["loc"]).upper()
        secret = any(word in name for word in ("URL", "SECRET", "KEY"))  # may hold a password
        given = "" if secret else f"={error['input']!r}"
        problems.append(f"{name}{given}: {error['msg'].removeprefix('Value error, ')}")
    return "bad setting " + "; ".join(problems)
