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
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import hashlib
import sys
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

from hub.app import create_app
from hub.ingest.pdfs import PdfReader
from hub.settings import HubSettings
from member_node.app import create_node_app
from member_node.client import HubClient
from member_node.config import NodeConfig
from member_node.identity import NodeIdentity
from member_node.receiver import PdfReader as NodePdfReader
from member_node.simulation.hubgate import HubGate
from member_node.simulation.nodeconfig import node_config_json
from member_node.simulation.nodehost import NodeHost
from member_node.simulation.processes import ChildProcess, free_ports, start_all
from member_node.simulation.provision import NodeSpec, Provisioned, provision
from registry.national import NationalUnit
from signing.pades.validate import PdfLimits, PdfReading

Placement = Literal["inprocess", "processes"]
HUB_ORIGIN = "http://hub.sim"
NODES_ORIGIN = "http://nodes.sim"


@dataclass
class Network:
    """A running network: its hub URL, its members, and handles to poke at them."""

    placement: Placement
    provisioned: Provisioned
    specs: dict[str, NodeSpec]
    hub_url: str
    hub_settings: HubSettings
    node_urls: dict[str, str]
    """Each node's own base URL (its `/local` API and `/healthz`)."""
    _hub_transport: httpx.AsyncBaseTransport | None = None
    _node_transport: httpx.AsyncBaseTransport | None = None
    _host: NodeHost | None = None
    hub_app: Any = None
    """The in-process hub's ASGI app (its lifespan already running); None for processes."""
    _hub_process: ChildProcess | None = None
    _node_processes: dict[str, ChildProcess] = field(default_factory=dict)
    _http: httpx.AsyncClient = field(default_factory=httpx.AsyncClient)

    @property
    def codes(self) -> list[str]:
        return list(self.specs)

    def identity(self, code: str) -> NodeIdentity:
        return NodeIdentity.load(self.provisioned.nodes[code].keys_dir, code)

    def client(self, code: str, *, timeout: float = 30.0) -> HubClient:
        """A `HubClient` acting as member `code` (what its DMS would hold)."""
        return HubClient(
            self.hub_url,
            self.identity(code),
            hub_id=self.provisioned.hub_id,
            transport=self._hub_transport,
            timeout=timeout,
        )

    def hub_http(self) -> httpx.AsyncClient:
        """A plain HTTP client on the hub (operators: reports, admin)."""
        return httpx.AsyncClient(base_url=self.hub_url, transport=self._hub_transport, timeout=60)

    def operator_headers(self, role: Literal["admin", "auditor"] = "auditor") -> dict[str, str]:
        token = self.provisioned.admin_token if role == "admin" else self.provisioned.auditor_token
        return {"Authorization": f"Bearer {token}"}

    def node_http(self, code: str) -> httpx.AsyncClient:
        """A plain HTTP client on node `code` (its DMS-side `/local` API)."""
        return httpx.AsyncClient(
            base_url=self.node_urls[code], transport=self._node_transport, timeout=60
        )

    # -- failures ----------------------------------------------------------------

    async def take_down(self, code: str) -> None:
        """Make node `code` unreachable (its process stops; in-process it answers 503)."""
        if self._host is not None:
            self._host.offline.add(code)
        else:
            await self._node_processes[code].stop()

    async def bring_up(self, code: str, timeout: float = 60.0) -> None:
        if self._host is not None:
            self._host.offline.discard(code)
            return
        child = self._node_processes[code]
        child.start()
        await child.wait_ready(self._http, timeout)

    def kill_hub(self) -> None:
        """SIGKILL the hub process (processes placement only)."""
        if self._hub_process is None:
            raise RuntimeError("kill_hub needs the processes placement")
        self._hub_process.kill()

    async def restart_hub(self, timeout: float = 60.0) -> None:
        if self._hub_process is None:
            raise RuntimeError("restart_hub needs the processes placement")
        await self._hub_process.stop()
        self._hub_process.start()
        await self._hub_process.wait_ready(self._http, timeout)


def hub_settings_for(
    provisioned: Provisioned, overrides: Mapping[str, Any] | None = None
) -> HubSettings:
    return HubSettings(
        data_dir=provisioned.data_dir,
        database_url=provisioned.database_url,
        pki_dir=provisioned.pki_dir,
        hub_id=provisioned.hub_id,
        **dict(overrides or {}),
    )


def hub_environment(settings: HubSettings) -> dict[str, str]:
    """The `LIENTHONG_*` variables that make a `lienthong hub serve` use `settings`."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump(exclude_unset=True).items():
        if value is not None:
            env[f"LIENTHONG_{name.upper()}"] = (
                str(value).lower() if isinstance(value, bool) else str(value)
            )
    return env


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
    async with AsyncExitStack() as stack:
        if placement == "inprocess":
            network = await _start_inprocess(
                stack,
                data_dir,
                by_code,
                hub_settings,
                hub_id,
                poll_interval,
                prepare,
                hub_concurrency,
                database_url,
                registry,
            )
        else:
            network = await _start_processes(
                stack,
                data_dir,
                by_code,
                hub_settings,
                hub_id,
                poll_interval,
                ready_timeout,
                prepare,
                database_url,
                hub_port,
                registry,
            )
        stack.push_async_callback(network._http.aclose)
        yield network


def _prepare(provisioned: Provisioned, prepare: Callable[[Provisioned], None] | None) -> None:
    if prepare is not None:
        prepare(provisioned)
        provisioned.publish_crl()


def _node_config(
    network_files: Provisioned,
    spec: NodeSpec,
    hub_url: str,
    poll_interval: float,
    flush_each_commit: bool = True,
) -> NodeConfig:
    """One node's configuration. In-process nodes share one event loop, whose every
    synchronous disk flush of one node's store would stall the hub and all the others:
    they commit without waiting for the disk (`NodeConfig.flush_each_commit`)."""
    files = network_files.nodes[spec.code]
    return NodeConfig(
        code=spec.code,
        hub_url=hub_url,
        keys_dir=files.keys_dir,
        data_dir=files.data_dir,
        mode=spec.mode,
        poll_interval=poll_interval,
        hub_id=network_files.hub_id,
        clerk=spec.clerk,
        flush_each_commit=flush_each_commit,
    )


async def _start_inprocess(
    stack: AsyncExitStack,
    data_dir: Path,
    specs: dict[str, NodeSpec],
    overrides: Mapping[str, Any] | None,
    hub_id: str,
    poll_interval: float,
    prepare: Callable[[Provisioned], None] | None,
    hub_concurrency: int | None,
    database_url: str | None = None,
    registry: Sequence[NationalUnit] = (),
) -> Network:
    host = NodeHost()
    endpoints = {code: host.base_url(NODES_ORIGIN, code) for code in specs}
    provisioned = await provision(
        data_dir,
        list(specs.values()),
        endpoints,
        hub_id=hub_id,
        database_url=database_url,
        registry=registry,
    )
    _prepare(provisioned, prepare)
    settings = hub_settings_for(provisioned, overrides)
    hub_app = create_app(
        settings, push_transport=httpx.ASGITransport(app=host, raise_app_exceptions=False)
    )
    await stack.enter_async_context(hub_app.router.lifespan_context(hub_app))
    hub_transport = httpx.ASGITransport(
        app=HubGate(hub_app, hub_concurrency), raise_app_exceptions=False
    )
    read_pdf = _shared_reader(hub_app.state.hub.ingest.pdfs)

    for spec in specs.values():
        config = _node_config(provisioned, spec, HUB_ORIGIN, poll_interval, False)
        app = create_node_app(config, hub_transport=hub_transport, pdf_reader=read_pdf)
        await stack.enter_async_context(app.router.lifespan_context(app))
        host.apps[spec.code] = app
    return Network(
        "inprocess",
        provisioned,
        specs,
        HUB_ORIGIN,
        settings,
        endpoints,
        _hub_transport=hub_transport,
        _node_transport=httpx.ASGITransport(app=host, raise_app_exceptions=False),
        _host=host,
        hub_app=hub_app,
    )


def _shared_reader(hub_pdfs: PdfReader, keep: int = 256) -> NodePdfReader:
    """How the in-process nodes read the PDFs they receive: in the hub's worker processes
    (not each in a thread holding this process's one GIL), and once per PDF for all the
    nodes here. Reading is pyHanko's part only, a function of the bytes: each node still
    judges the signers with its own trust store and gives its own verdict. With
    `--processes` every node reads for itself."""
    readings: OrderedDict[str, asyncio.Task[PdfReading]] = OrderedDict()

    async def read(data: bytes, limits: PdfLimits) -> PdfReading:
        key = hashlib.sha256(data).hexdigest()
        reading = readings.get(key)
        if reading is None:
            reading = readings[key] = asyncio.ensure_future(hub_pdfs.read(data))
            while len(readings) > keep:
                readings.popitem(last=False)
        return await asyncio.shield(reading)

    return read


async def _start_processes(
    stack: AsyncExitStack,
    data_dir: Path,
    specs: dict[str, NodeSpec],
    overrides: Mapping[str, Any] | None,
    hub_id: str,
    poll_interval: float,
    ready_timeout: float,
    prepare: Callable[[Provisioned], None] | None,
    database_url: str | None = None,
    hub_port: int | None = None,
    registry: Sequence[NationalUnit] = (),
) -> Network:
    free_hub_port, *node_ports = free_ports(1 + len(specs))
    hub_port = hub_port or free_hub_port
    ports = dict(zip(specs, node_ports, strict=True))
    node_urls = {code: f"http://127.0.0.1:{port}" for code, port in ports.items()}
    provisioned = await provision(
        data_dir,
        list(specs.values()),
        node_urls,
        hub_id=hub_id,
        database_url=database_url,
        registry=registry,
    )
    _prepare(provisioned, prepare)
    settings = hub_settings_for(provisioned, overrides)
    hub_url = f"http://127.0.0.1:{hub_port}"
    logs = data_dir / "logs"
    hub = ChildProcess(
        "hub",
        [
            sys.executable,
            "-m",
            "lienthong",
            "hub",
            "serve",
            "--port",
            str(hub_port),
            "--log-level",
            "warning",
        ],
        health_url=f"{hub_url}/healthz",
        log_path=logs / "hub.log",
        env=hub_environment(settings),
    )
    nodes: dict[str, ChildProcess] = {}
    for code, spec in specs.items():
        config_path = data_dir / "nodes" / code / "node.json"
        config = _node_config(provisioned, spec, hub_url, poll_interval)
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

    # The children run in sessions of their own (a Ctrl-C in the terminal reaches only
    # the launcher), so the launcher must stop them however it ends: the stack does on
    # any exception or cancellation, `atexit` if the interpreter exits past it.
    atexit.register(kill_remaining)
    stack.callback(kill_remaining)
    stack.push_async_callback(stop_all)
    await start_all(children, timeout=ready_timeout, client=network._http)
    return network
