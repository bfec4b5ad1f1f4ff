"""End to end: a push member (a real server on loopback) and a pull member exchange
documents, statuses and a recall through a hub whose own delivery worker does the pushing."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
import uvicorn

from hub.app import create_app
from hub.ingest.receipts import verify_receipt
from registry.operators import create_operator
from signing.jose import verify_compact
from tests.conftest import PKIFixture
from tests.hub.helpers import Agencies, FakeMembers, body_of

PUSHER, PULLER = "000.00.00.H26", "000.00.00.G22"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def loopback_members() -> AsyncIterator[tuple[FakeMembers, str]]:
    """The fake members' app served by uvicorn on a free loopback port."""
    members = FakeMembers()
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(members.app(), host="127.0.0.1", port=port, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        yield members, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def _eventually(check: Callable[[], Awaitable[bool]], seconds: float = 10) -> None:
    for _ in range(int(seconds / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the condition never held")


async def test_push_and_pull_members_exchange_documents_statuses_and_a_recall(
    hub_settings: Any, pki: PKIFixture, loopback_members: tuple[FakeMembers, str]
) -> None:
    members, base = loopback_members
    settings = hub_settings.model_copy(update={"delivery_poll_seconds": 0.05})
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as hub:
            async with app.state.hub.sessions.begin() as session:
                _, token = await create_operator(session, "admin", "admin")
            agencies = Agencies(hub, {"Authorization": f"Bearer {token}"}, pki)
            pusher = await agencies.add(PUSHER, mode="push", endpoint=f"{base}/{PUSHER}")
            puller = await agencies.add(PULLER)
            members.agencies[PUSHER] = pusher
            hub_cert = app.state.hub.identity.certificate

            async def submit(agency: Any, recipients: list[str]) -> str:
                pkg = agency.package(recipients)
                response = await hub.post(
                    "/v1/documents", content=body_of(pkg), headers=agency.headers
                )
                assert response.status_code == 202, response.text
                assert verify_receipt(response.json()["receipt"], hub_cert).document_id == pkg.id
                return str(pkg.id)

            async def status(agency: Any, document_id: str, code: str) -> None:
                response = await hub.post(
                    f"/v1/documents/{document_id}/status",
                    json={"code": code},
                    headers=agency.headers,
                )
                assert response.status_code == 200, response.text

            async def updates(agency: Any, after: int = 0) -> list[dict[str, Any]]:
                response = await hub.get(
                    f"/v1/status-updates?after={after}", headers=agency.headers
                )
                result: list[dict[str, Any]] = response.json()["updates"]
                return result

            # 1. pull -> push: the hub's worker pushes over real HTTP; a signed receipt comes back
            to_pusher = await submit(puller, [PUSHER])

            async def pushed() -> bool:
                # the member has it, and the worker has recorded the 2xx (a moment later)
                trace = await hub.get(f"/v1/documents/{to_pusher}", headers=puller.headers)
                return any(b["document_id"] == to_pusher for b in members.of(PUSHER)) and (
                    trace.json()["deliveries"][0]["state"] == "delivered"
                )

            await _eventually(pushed)
            await status(pusher, to_pusher, "01")
            await status(pusher, to_pusher, "03")
            assert [u["code"] for u in await updates(puller)] == ["01", "03"]

            # 2. push -> pull: the pull member leases, acknowledges with its receipt, answers
            to_puller = await submit(pusher, [PULLER])
            [item] = (await hub.get("/v1/inbox", headers=puller.headers)).json()["deliveries"]
            assert item["document_id"] == to_puller
            response = await hub.post(
                f"/v1/inbox/{item['delivery_id']}/ack",
                json={"receipt": "signed-by-puller"},
                headers=puller.headers,
            )
            assert response.json()["state"] == "delivered"
            await status(puller, to_puller, "01")

            async def status_pushed() -> bool:
                return any(
                    u["document_id"] == to_puller and u["code"] == "01"
                    for u in members.of(PUSHER, "status")
                )

            await _eventually(status_pushed)

            # 3. recall of a document the pull member has not accepted: recalled at once
            await hub.post(f"/v1/documents/{to_puller}/recall", headers=pusher.headers)
            codes = [(u["document_id"], u["code"]) for u in await updates(puller)]
            assert (to_puller, "13") in codes
            trace = (await hub.get(f"/v1/documents/{to_puller}", headers=pusher.headers)).json()
            assert trace["deliveries"][0]["state"] == "recalled"

            # 4. recall of a document the push member accepted: 13 is pushed, it refuses (16)
            await hub.post(f"/v1/documents/{to_pusher}/recall", headers=puller.headers)

            async def recall_pushed() -> bool:
                return any(
                    u["document_id"] == to_pusher and u["code"] == "13"
                    for u in members.of(PUSHER, "status")
                )

            await _eventually(recall_pushed)
            await status(pusher, to_pusher, "16")
            assert [u["code"] for u in await updates(puller)][-1] == "16"

            # the push member's delivery receipt is verifiable with its certificate
            from sqlalchemy import select

            from hub.db.models import Delivery

            async with app.state.hub.sessions() as session:
                receipt = await session.scalar(
                    select(Delivery.member_receipt).where(Delivery.document_id == to_pusher)
                )
            assert receipt is not None
            assert verify_compact(receipt, pusher.org.cert)["document_id"] == to_pusher
