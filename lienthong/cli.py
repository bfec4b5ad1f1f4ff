"""The one console script, `lienthong`: it gathers each package's commands.

This is one of the two places allowed to see every package (DESIGN section 2);
each package keeps its own commands in its own `cli` module.
"""

import typer

from hub import cli as hub_cli
from hub.reports import cli as report_cli
from member_node import cli as node_cli
from member_node.simulation import cli as simulation_cli
from registry import cli as registry_cli
from signing import cli as signing_cli
from signing.edxml import cli as edxml_cli

app = typer.Typer(
    name="lienthong",
    help="National document-interconnection hub.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
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


def main() -> None:
    app()
