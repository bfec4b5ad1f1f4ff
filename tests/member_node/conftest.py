"""Agencies with keys on disk (the `--keys DIR` layout), registered with a real hub app."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from member_node.client import HubClient
from member_node.identity import NodeIdentity
from signing.certs import cert_to_pem
from signing.pki import IssuedCertificate
from tests.conftest import HUB_ID, PKIFixture

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
    """`await make_agency(code, mode=..., endpoint=...)`: registered, keys written to disk."""

    async def make(
        code: str, *, mode: str = "pull", endpoint: str | None = None, **fields: Any
    ) -> Agency:
        admin = await operator_token("admin")
        body = {"code": code, "name": f"Agency {code}", "delivery_mode": mode, **fields}
        if endpoint is not None:
            body["endpoint"] = endpoint
        response = await hub_client.post("/v1/admin/members", json=body, headers=admin)
        assert response.status_code == 201, response.text
        org = pki.ca.issue("organization", code, f"Agency {code}")
        official = pki.ca.issue("official", code, "Nguyễn Văn A", title="Chủ tịch")
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
