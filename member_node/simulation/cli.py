"""`lienthong network up` and `lienthong demo`."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from member_node.simulation.launcher import Placement

# The launcher (the hub, the nodes) is imported inside the commands: `--help` stays fast.


def run_until_stopped(work: Callable[[], Awaitable[None]]) -> None:
    """Run `work` on a fresh event loop until it ends, Ctrl-C or SIGTERM.

    Either signal cancels it, so its `async with launch(...)` tears down the hub and
    every node (whose processes run in sessions of their own and see neither).
    """

    async def main() -> None:
        task = asyncio.current_task()
        assert task is not None
        # SIGINT: asyncio.run already cancels the main task.
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        await work()

    try:
        asyncio.run(main())
    except (KeyboardInterrupt, asyncio.CancelledError):
        typer.echo("stopped: the hub and the nodes are down", err=True)


network_app = typer.Typer(
    help="Simulated networks of a hub and member nodes.", no_args_is_help=True
)


@network_app.command("up")
def up(
    members: Annotated[
        int, typer.Option(min=1, max=94, help="Nodes to start (national units).")
    ] = 5,
    processes: Annotated[
        bool, typer.Option("--processes", help="Real processes on loopback (default: in-process).")
    ] = False,
    data_dir: Annotated[
        Path | None, typer.Option(help="Where to provision (wiped). Default: a fresh temp dir.")
    ] = None,
    seconds: Annotated[
        float | None, typer.Option(help="Tear down after this long (default: until Ctrl-C).")
    ] = None,
) -> None:
    """Provision a CA and N members, start a hub and N nodes, keep them up, tear them down."""
    from member_node.simulation.launcher import launch
    from member_node.simulation.provision import NodeSpec
    from registry.national import load_national_units

    units = load_national_units()[:members]
    specs = [
        NodeSpec(u.code, u.name, u.kind, "push" if i % 2 == 0 else "pull")
        for i, u in enumerate(units)
    ]
    placement: Placement = "processes" if processes else "inprocess"

    async def run(directory: Path) -> None:
        import shutil

        shutil.rmtree(directory, ignore_errors=True)
        async with launch(directory, specs, placement=placement) as network:
            typer.echo(f"hub       {network.hub_url}  ({placement}, data in {directory})")
            typer.echo(f"auditor   {network.operator_headers()['Authorization']}")
            for code in network.codes:
                mode = network.specs[code].mode
                typer.echo(f"{code}  {mode:<5} {network.node_urls[code]}")
            typer.echo("up; Ctrl-C tears everything down" if seconds is None else "up")
            await asyncio.sleep(seconds if seconds is not None else 10**9)
        typer.echo("torn down")

    with contextlib.ExitStack() as stack:
        directory = data_dir or Path(stack.enter_context(tempfile.TemporaryDirectory())) / "net"
        run_until_stopped(lambda: run(directory))


def demo(
    documents: Annotated[
        int | None, typer.Option(min=2, help="Documents to send (default: the scenario's).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the traffic and the node modes.")] = 2019,
    serve: Annotated[
        bool, typer.Option("--serve", help="Keep the hub running and print the dashboard URL.")
    ] = False,
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="With --serve: the hub's loopback port [a free one]"),
    ] = None,
    scenario: Annotated[
        Path | None, typer.Option(help="A scenario TOML file (default: the shipped one).")
    ] = None,
    data_dir: Annotated[Path, typer.Option(help="The demo's data dir, wiped at start.")] = Path(
        "var/demo"
    ),
    processes: Annotated[
        bool, typer.Option("--processes", help="The hub and each node as a real process.")
    ] = False,
    communes: Annotated[
        int,
        typer.Option(
            "--communes",
            min=0,
            max=12_000,
            help="Register the whole national tree (about 12,000 members) and give this"
            " many communes a node [0: the 94 units only]",
        ),
    ] = 0,
) -> None:
    """The national demo: 94 units, the 2019 traffic shape, the compliance figures."""
    from member_node.simulation.demo import DemoOptions, run_demo
    from member_node.simulation.scenario import ScenarioError, load_scenario

    try:
        loaded = load_scenario(scenario)
    except ScenarioError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    if documents is not None:
        loaded = loaded.with_documents(documents)
    options = DemoOptions(
        loaded,
        seed=seed,
        data_dir=data_dir,
        placement="processes" if processes else "inprocess",
        serve=serve,
        port=port,
        communes=communes,
    )
    run_until_stopped(lambda: run_demo(options))
