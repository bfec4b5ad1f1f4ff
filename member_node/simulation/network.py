"""A running simulated network, whatever its placement: the handles the tests and the
demo poke at, and what both placements share to set one up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

from hub.settings import HubSettings
from member_node.client import HubClient
from member_node.config import NodeConfig
from member_node.identity import NodeIdentity
from member_node.simulation.nodehost import NodeHost
from member_node.simulation.processes import ChildProcess
from member_node.simulation.provision import NodeSpec, Provisioned, provision
from registry.national import NationalUnit

__all__ = [
    "Network",
    "NetworkPlan",
    "Placement",
    "hub_environment",
    "hub_settings_for",
    "node_config",
    "provision_network",
]

Placement = Literal["inprocess", "processes"]


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


@dataclass(frozen=True)
class NetworkPlan:
    """What `launch` was asked for, whatever the placement that starts it."""

    data_dir: Path
    specs: dict[str, NodeSpec]
    hub_settings: Mapping[str, Any] | None
    hub_id: str
    poll_interval: float
    prepare: Callable[[Provisioned], None] | None
    database_url: str | None
    registry: Sequence[NationalUnit]


async def provision_network(plan: NetworkPlan, endpoints: dict[str, str]) -> Provisioned:
    """Provision the CA, the registry and the nodes' files, then let `plan.prepare` add to
    them (its CRL republished) before anything starts."""
    provisioned = await provision(
        plan.data_dir,
        list(plan.specs.values()),
        endpoints,
        hub_id=plan.hub_id,
        database_url=plan.database_url,
        registry=plan.registry,
    )
    if plan.prepare is not None:
        plan.prepare(provisioned)
        provisioned.publish_crl()
    return provisioned


def node_config(
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
