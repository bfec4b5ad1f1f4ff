"""Long polls: `GET /v1/inbox?wait=S` and `GET /v1/status-updates?wait=S` answer as soon as
something arrives; idle ones cost no database connection and hold no one up; on
PostgreSQL a commit in another hub process wakes them (LISTEN/NOTIFY)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from hub.app import create_app
from tests.hub.conftest import Hub
from tests.hub.helpers import Agency

SENDER, PULLER = "000.00.00.H26", "000.00.00.G22"
HANG_GUARD = 30  # seconds: only so that a broken wake-up fails instead of hanging


async def _until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(400):
        if condition():
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"never happened: {what}")


async def _submit(hub: Hub, sender: Agency, *recipients: str) -> str:
    pkg = sender.package(list(recipients))
    response = await hub.submit(sender, pkg)
    assert response.status_code == 202, response.text
    return pkg.id


def _get(client: httpx.AsyncClient, agency: Agency, path: str) -> Awaitable[httpx.Response]:
    return client.get(path, headers=agency.headers, timeout=HANG_GUARD + 30)


async def test_a_waiting_inbox_answers_when_a_document_is_accepted(hub: Hub) -> None:
    sender, puller = await hub.add(SENDER), await hub.add(PULLER)
    poll = asyncio.create_task(_get(hub.client, puller, "/v1/inbox?wait=55"))
    await _until(lambda: hub.context.arrivals.waiting == 1, "the poll is waiting")
    document_id = await _submit(hub, sender, PULLER)
    answer = await asyncio.wait_for(poll, HANG_GUARD)
    assert answer.status_code == 200
    assert [d["document_id"] for d in answer.json()["deliveries"]] == [document_id]
    assert hub.context.arrivals.waiting == 0


@pytest.mark.parametrize("hub_overrides", [{"inbox_lease_seconds": 1}])
async def test_a_waiting_inbox_answers_when_a_lease_runs_out(hub: Hub) -> None:
    """No commit announces a lease running out (a member that never acknowledged, a
    hub restarted mid-delivery): the poll takes the delivery then, not at its end."""
    sender, puller = await hub.add(SENDER), await hub.add(PULLER)
    document_id = await _submit(hub, sender, PULLER)
    first = await _get(hub.client, puller, "/v1/inbox")
    assert [d["document_id"] for d in first.json()["deliveries"]] == [document_id]
    poll = asyncio.create_task(_get(hub.client, puller, "/v1/inbox?wait=55"))
    answer = await asyncio.wait_for(poll, HANG_GUARD)  # the wait would end after 55 s
    assert [d["document_id"] for d in answer.json()["deliveries"]] == [document_id]
    assert answer.json()["deliveries"][0]["attempt"] == 2


async def test_a_waiting_status_page_answers_when_a_status_is_posted(hub: Hub) -> None:
    sender, puller = await hub.add(SENDER), await hub.add(PULLER)
    document_id = await _submit(hub, sender, PULLER)
    poll = asyncio.create_task(_get(hub.client, sender, "/v1/status-updates?wait=55"))
    await _until(lambda: hub.context.arrivals.waiting == 1, "the poll is waiting")
    assert (await hub.status(puller, document_id, "01")).status_code == 200
    answer = await asyncio.wait_for(poll, HANG_GUARD)
    assert answer.status_code == 200
    assert [u["code"] for u in answer.json()["updates"]] == ["01"]


async def test_an_empty_wait_ends_empty_and_a_wait_over_60_is_refused(hub: Hub) -> None:
    puller = await hub.add(PULLER)
    answer = await _get(hub.client, puller, "/v1/inbox?wait=0.3")
    assert answer.status_code == 200 and answer.json()["deliveries"] == []
    refused = await _get(hub.client, puller, "/v1/inbox?wait=61")
    assert refused.status_code == 422
    refused = await _get(hub.client, puller, "/v1/status-updates?wait=61")
    assert refused.status_code == 422


async def test_idle_polls_hold_no_connection_and_submissions_go_through(hub: Hub) -> None:
    """Many more polls wait than the database pool has connections; submissions still
    answer, each poll answers for its own member only, and the rest keep waiting."""
    sender = await hub.add(SENDER)
    idle = [await hub.add(f"000.00.{n:02d}.H26") for n in range(1, 31)]
    puller = await hub.add(PULLER)
    polls = [asyncio.create_task(_get(hub.client, a, "/v1/inbox?wait=55")) for a in idle]
    mine = asyncio.create_task(_get(hub.client, puller, "/v1/inbox?wait=55"))
    await _until(lambda: hub.context.arrivals.waiting == 31, "31 polls waiting")
    ids = [await _submit(hub, sender, PULLER) for _ in range(3)]
    answer = await asyncio.wait_for(mine, HANG_GUARD)
    assert answer.json()["deliveries"][0]["document_id"] == ids[0]
    assert hub.context.arrivals.waiting == 30 and not any(p.done() for p in polls)
    hub.context.arrivals.announce(None)  # let them go: each finds nothing and waits again
    await asyncio.sleep(0.2)
    assert not any(p.done() for p in polls)
    for poll in polls:
        poll.cancel()
    await asyncio.gather(*polls, return_exceptions=True)


async def test_a_commit_in_another_hub_process_wakes_the_poll(hub: Hub) -> None:
    """Two hubs on one database: the poll waits on the first, the document is submitted
    to the second. On PostgreSQL the notification crosses; SQLite is one process's."""
    if hub.context.engine.dialect.name != "postgresql":
        return
    sender, puller = await hub.add(SENDER), await hub.add(PULLER)
    other: Any = create_app(hub.settings)
    async with other.router.lifespan_context(other):
        transport = httpx.ASGITransport(app=other)
        async with httpx.AsyncClient(transport=transport, base_url="http://other") as client:
            poll = asyncio.create_task(_get(hub.client, puller, "/v1/inbox?wait=55"))
            await _until(lambda: hub.context.arrivals.waiting == 1, "the poll is waiting")
            pkg = sender.package([PULLER])
            response = await client.post(
                "/v1/documents",
                content=pkg.model_dump_json(exclude_unset=True),
                headers={**sender.headers, "Content-Type": "application/json"},
            )
            assert response.status_code == 202, response.text
            answer = await asyncio.wait_for(poll, HANG_GUARD)
            assert [d["document_id"] for d in answer.json()["deliveries"]] == [pkg.id]
