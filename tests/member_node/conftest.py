"""Agencies with keys on disk (the `--keys DIR` layout), registered with a real hub app."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from member_node.app import create_node_app
from member_node.clerk import ClerkRules
from member_node.client import HubClient
from member_node.config import NodeConfig
from member_node.context import NodeContext
from member_node.identity import NodeIdentity, TokenKeys
from signing.certs import cert_to_pem
from signing.pki import IssuedCertificate
from tests.conftest import HUB_ID, PKIFixture
from tests.softhsm import (
    SoftHsm,
    softhsm,  # noqa: F401  (one session-wide token for this directory)
)

SENDER = "000.00.00.H26"
RECIPIENT = "000.00.00.G22"
OTHER = "000.00.00.H49"

HEADER: dict[str, Any] = {
    "code": {"number": "274", "notation": "QĐ-UBND"},
    "promulgation": {"place": "Hưng Yên", "date": "2024-03-12"},
    "type": "QD",
    "subject": "Về việc ban hành quy chế",
    "signer": {"name": "Nguyễn Văn A", "position": "Chủ tịch"},
}


@dataclass
class Agency:
    code: str
    keys: Path
    org: IssuedCertificate
    official: IssuedCertificate

    @property
    def identity(self) -> NodeIdentity:
        return NodeIdentity.load(self.keys, self.code)


MakeAgency = Callable[..., Coroutine[Any, Any, Agency]]


@pytest.fixture
def make_agency(
    hub_client: httpx.AsyncClient,
    operator_token: Callable[[str], Awaitable[dict[str, str]]],
    pki: PKIFixture,
    tmp_path: Path,
) -> MakeAgency:
    """`await make_agency(code, mode=..., endpoint=...)`: registered, keys written to disk
    (`org_key`/`official_key`: certify these keys, as a token holds them)."""

    async def make(
        code: str,
        *,
        mode: str = "pull",
        endpoint: str | None = None,
        org_key: Any = None,
        official_key: Any = None,
        **fields: Any,
    ) -> Agency:
        admin = await operator_token("admin")
        body = {"code": code, "name": f"Agency {code}", "delivery_mode": mode, **fields}
        if endpoint is not None:
            body["endpoint"] = endpoint
        response = await hub_client.post("/v1/admin/members", json=body, headers=admin)
        assert response.status_code == 201, response.text
        org = pki.ca.issue("organization", code, f"Agency {code}", key=org_key)
        official = pki.ca.issue(
            "official", code, "Nguyễn Văn A", title="Chủ tịch", key=official_key
        )
        response = await hub_client.post(
            f"/v1/admin/members/{code}/certificates",
            json={"certificate": cert_to_pem(org.cert).decode()},
            headers=admin,
        )
        assert response.status_code == 201, response.text
        keys = tmp_path / "nodes" / code / "keys"
        keys.mkdir(parents=True)
        org.save(keys / "org")
        official.save(keys / "official")
        shutil.copyfile(pki.directory / "hub.crt", keys / "hub.crt")
        shutil.copyfile(pki.directory / "ca.crt", keys / "ca.crt")
        return Agency(code, keys, org, official)

    return make


@pytest.fixture
def hub_transport(hub_app: Any) -> httpx.ASGITransport:
    return httpx.ASGITransport(app=hub_app)


@pytest.fixture
def connect(
    hub_transport: httpx.ASGITransport,
) -> Callable[[Agency], HubClient]:
    """`connect(agency)`: a `HubClient` talking to the in-process hub."""

    def make(agency: Agency) -> HubClient:
        return HubClient("http://hub", agency.identity, hub_id=HUB_ID, transport=hub_transport)

    return make


@pytest.fixture
async def sender(make_agency: MakeAgency) -> Agency:
    return await make_agency(SENDER)


@pytest.fixture
async def sender_client(
    sender: Agency, connect: Callable[[Agency], HubClient]
) -> AsyncIterator[HubClient]:
    async with connect(sender) as client:
        yield client


# -- nodes: real node apps, pushed to by the real hub, all in-process -------------------


class NodeRouter(httpx.AsyncBaseTransport):
    """The hub's push transport in tests: routes `http://HOST/...` to that node's app."""

    def __init__(self) -> None:
        self.nodes: dict[str, httpx.ASGITransport] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        node = self.nodes.get(request.url.host)
        if node is None:
            raise httpx.ConnectError(f"no node at {request.url.host}", request=request)
        return await node.handle_async_request(request)


@pytest.fixture
def node_router() -> NodeRouter:
    return NodeRouter()


@pytest.fixture
async def hub_app(hub_settings: Any, node_router: NodeRouter) -> AsyncIterator[Any]:
    """The hub app (overriding the shared fixture) pushing to in-process nodes, polling fast."""
    from hub.app import create_app

    app = create_app(
        hub_settings.model_copy(update={"delivery_poll_seconds": 0.05}), push_transport=node_router
    )
    async with app.router.lifespan_context(app):
        yield app


def endpoint_of(code: str) -> str:
    return "http://" + code.replace(".", "-").lower() + ".node"


FAST_CLERK = ClerkRules(steps=(("03", 0.01), ("04", 0.01), ("05", 0.01), ("06", 0.01)))
NO_CLERK = ClerkRules(enabled=False)


@dataclass
class RunningNode:
    agency: Agency
    app: Any
    http: httpx.AsyncClient
    """A client of the node itself (`/local/...`, `/v1/...`)."""

    @property
    def context(self) -> NodeContext:
        context: NodeContext = self.app.state.node
        return context


StartNode = Callable[..., Coroutine[Any, Any, RunningNode]]


@pytest.fixture
async def start_node(
    make_agency: MakeAgency,
    hub_transport: httpx.ASGITransport,
    node_router: NodeRouter,
    tmp_path: Path,
) -> AsyncIterator[StartNode]:
    """`await start_node(code, mode="push", clerk=...)`: registered, keys on disk, running."""
    async with AsyncExitStack() as stack:

        async def start(
            code: str,
            *,
            mode: str = "push",
            clerk: ClerkRules = NO_CLERK,
            registered_as: str | None = None,
            **fields: Any,
        ) -> RunningNode:
            """`registered_as="pull"` keeps the hub from pushing: the test pushes by hand."""
            hub_mode = registered_as or mode
            endpoint = endpoint_of(code) if hub_mode == "push" else None
            agency = await make_agency(code, mode=hub_mode, endpoint=endpoint, **fields)
            config = NodeConfig(
                code=code,
                hub_url="http://hub",
                keys_dir=agency.keys,
                data_dir=tmp_path / "nodes" / code,
                mode="push" if mode == "push" else "pull",
                poll_interval=0.05,
                hub_id=HUB_ID,
                clerk=clerk,
            )
            app = create_node_app(config, hub_transport=hub_transport)
            await stack.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app=app)
            node_router.nodes[httpx.URL(endpoint_of(code)).host] = transport
            http = await stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url=endpoint_of(code))
            )
            return RunningNode(agency, app, http)

        yield start


async def eventually(check: Callable[[], Awaitable[bool]], *, within: float = 10.0) -> None:
    """Wait until `check()` holds (background workers at work); fail after `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        if loop.time() > deadline:
            raise AssertionError("the condition did not hold in time")
        await asyncio.sleep(0.02)


@pytest.fixture
def token_agency(make_agency: MakeAgency, softhsm: SoftHsm) -> Callable[..., Awaitable[Path]]:  # noqa: F811
    """`await token_agency(code, org=label, official=label)`: registered, its keys on the
    token; the keys directory holds only certificates."""

    async def make(
        code: str, *, org: str = "org", official: str = "official", mode: str = "pull"
    ) -> Path:
        endpoint = endpoint_of(code) if mode == "push" else None
        agency = await make_agency(
            code,
            mode=mode,
            endpoint=endpoint,
            org_key=softhsm.keys[org],
            official_key=softhsm.keys[official],
        )
        (agency.keys / "org.key").unlink()  # the keys stay on the token
        (agency.keys / "official.key").unlink()
        return agency.keys

    return make


def tokens(hsm: SoftHsm, org: str = "org", official: str = "official") -> TokenKeys:
    return TokenKeys(
        module=hsm.module,
        token=hsm.token,
        org_key=org,
        official_key=official,
        pin=hsm.pin,
    )
