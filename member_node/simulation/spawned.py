"""The `processes` placement: the hub (`lienthong hub serve`) and every node as real
processes on free loopback ports, started together and awaited until healthy.

The children run in sessions of their own (a Ctrl-C in the terminal reaches
only the launcher), so the launcher stops them however it ends.
"""

from __future__ import annotations

import atexit
import contextlib
import sys
from contextlib import AsyncExitStack
from pathlib import Path

from hub.settings import HubSettings
from member_node.simulation.network import (
    Network,
    NetworkPlan,
    hub_environment,
    hub_settings_for,
    node_config,
    provision_network,
)
from member_node.simulation.nodeconfig import node_config_json
from member_node.simulation.processes import ChildProcess, free_ports, start_all

__all__ = ["start_processes"]


async def start_processes(
    stack: AsyncExitStack, plan: NetworkPlan, ready_timeout: float, hub_port: int | None
) -> Network:
    """Start the hub and node processes, the hub on `hub_port` (default: a free one);
    `stack` stops them (SIGTERM, then SIGKILL)."""
    specs, data_dir = plan.specs, plan.data_dir
    free_hub_port, *node_ports = free_ports(1 + len(specs))
    hub_port = hub_port or free_hub_port
    ports = dict(zip(specs, node_ports, strict=True))
    node_urls = {code: f"http://127.0.0.1:{port}" for code, port in ports.items()}
    provisioned = await provision_network(plan, node_urls)
    settings = hub_settings_for(provisioned, plan.hub_settings)
    hub_url = f"http://127.0.0.1:{hub_port}"
    logs = data_dir / "logs"
    hub = _hub_child(settings, hub_port, hub_url, logs)
    nodes: dict[str, ChildProcess] = {}
    for code, spec in specs.items():
        config_path = data_dir / "nodes" / code / "node.json"
        config = node_config(provisioned, spec, hub_url, plan.poll_interval)
        config_path.write_text(node_config_json(config, ports[code]), encoding="utf-8")
        nodes[code] = ChildProcess(
            code,
            [sys.executable, "-m", "member_node.simulation.node_process", str(config_path)],
            health_url=f"{node_urls[code]}/healthz",
            log_path=logs / f"{code}.log",
        )
    network = Network(
        "processes",
        provisioned,
        specs,
        hub_url,
        settings,
        node_urls,
        _hub_process=hub,
        _node_processes=nodes,
    )
    children = [hub, *nodes.values()]
    _stop_on_exit(stack, children)
    await start_all(children, timeout=ready_timeout, client=network._http)
    return network


def _hub_child(settings: HubSettings, port: int, url: str, logs: Path) -> ChildProcess:
    """`lienthong hub serve` on `port`, configured by `settings` through its environment."""
    return ChildProcess(
        "hub",
        [
            sys.executable,
            "-m",
            "lienthong",
            "hub",
            "serve",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        health_url=f"{url}/healthz",
        log_path=logs / "hub.log",
        env=hub_environment(settings),
    )


def _stop_on_exit(stack: AsyncExitStack, children: list[ChildProcess]) -> None:
    """Stop `children` when `stack` closes, on any exception or cancellation, and at
    interpreter exit if it never closes."""

    async def stop_all() -> None:
        for child in children:  # SIGTERM everyone first, then wait
            if child.running and child.process is not None:
                with contextlib.suppress(ProcessLookupError):
                    child.process.terminate()
        for child in children:
            await child.stop()

    def kill_remaining() -> None:
        """SIGKILL whoever outlived `stop_all` (a second Ctrl-C or SIGTERM cut it short)."""
        atexit.unregister(kill_remaining)
        for child in children:
            child.kill()

    atexit.register(kill_remaining)
    stack.callback(kill_remaining)
    stack.push_async_callback(stop_all)
