"""The network launcher: a CA, a registry of members, a hub and N nodes, up and down.

Two placements, one API:

- `inprocess`: the hub and every node are ASGI apps in the caller's event
  loop, wired by `httpx.ASGITransport` (no sockets; fast tests).
- `processes`: the hub (`lienthong hub serve`) and every node are real
  processes on free loopback ports, started together and awaited until
  healthy.

    async with launch(data_dir, specs, placement="processes") as network:
        async with network.client("000.00.00.H62") as hub:
            await hub.send([...], header)

The placements are `inprocess` and `spawned`; the running network is
`network.Network` (re-exported here with its helpers).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from member_node.simulation.inprocess import start_inprocess
from member_node.simulation.network import (
    Network,
    NetworkPlan,
    Placement,
    hub_environment,
    hub_settings_for,
)
from member_node.simulation.provision import NodeSpec, Provisioned
from member_node.simulation.spawned import start_processes
from registry.national import NationalUnit

__all__ = ["Network", "Placement", "hub_environment", "hub_settings_for", "launch"]


@asynccontextmanager
async def launch(
    data_dir: Path,
    specs: Sequence[NodeSpec],
    *,
    placement: Placement = "inprocess",
    hub_settings: Mapping[str, Any] | None = None,
    hub_id: str = "lienthong-hub",
    poll_interval: float = 1.0,
    ready_timeout: float = 180.0,
    prepare: Callable[[Provisioned], None] | None = None,
    hub_concurrency: int | None = None,
    database_url: str | None = None,
    hub_port: int | None = None,
    registry: Sequence[NationalUnit] = (),
) -> AsyncIterator[Network]:
    """Provision a fresh network in `data_dir`, run it, and tear it all down on exit.

    `prepare` runs once everything is provisioned and before any process
    starts (the demo issues and revokes certificates there, so the hub loads
    a CRL that already lists them). `hub_concurrency` bounds the requests
    inside an in-process hub at once (see `hubgate`); a hub process has its server.
    `database_url`: the hub's database (migrated here); unset, SQLite in `data_dir`.
    `hub_port` is the hub process's port (default: a free one). `registry`: more
    members without a node (see `provision`).
    """
    by_code = {spec.code: spec for spec in specs}
    if len(by_code) != len(specs):
        raise ValueError("two node specs share a code")
    plan = NetworkPlan(
        data_dir, by_code, hub_settings, hub_id, poll_interval, prepare, database_url, registry
    )
    async with AsyncExitStack() as stack:
        if placement == "inprocess":
            network = await start_inprocess(stack, plan, hub_concurrency)
        else:
            network = await start_processes(stack, plan, ready_timeout, hub_port)
        stack.push_async_callback(network._http.aclose)
        yield network
