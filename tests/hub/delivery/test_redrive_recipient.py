"""Bulk redrive of one recipient's failed deliveries through the admin API."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from hub.eventlog.chain import EventLogEntry
from registry.operators import create_operator
from tests.hub.conftest import Hub
from tests.hub.helpers import Agency

SENDER, PUSHED, OTHER = "000.00.00.H26", "000.00.00.G22", "000.00.00.H49"
URL = "/v1/admin/deliveries/redrive"


@pytest.fixture
async def sender(hub: Hub) -> Agency:
    return await hub.add(SENDER)


async def _fail_pushes(hub: Hub, sender: Agency, recipient: str, documents: int) -> None:
    """`documents` packages to `recipient`, each push refused once with a limit of one try."""
    for _ in range(documents):
        response = await hub.submit(sender, sender.package([recipient]))
        assert response.status_code == 202, response.text
    hub.members.failures[recipient] = documents


async def _failed(hub: Hub, recipient: str) -> list[str]:
    listed = await hub.client.get(
        "/v1/admin/deliveries", params={"recipient": recipient}, headers=hub.admin
    )
    assert listed.status_code == 200, listed.text
    return [d["delivery_id"] for d in listed.json()["deliveries"]]


async def test_a_recipients_failed_deliveries_are_requeued_and_others_left(
    hub: Hub, sender: Agency
) -> None:
    await hub.add(PUSHED, mode="push")
    await hub.add(OTHER, mode="push")
    await _fail_pushes(hub, sender, PUSHED, 2)
    await _fail_pushes(hub, sender, OTHER, 1)
    assert await hub.worker(push_max_attempts=1).run_once() == 3
    failed = await _failed(hub, PUSHED)
    assert len(failed) == 2 and len(await _failed(hub, OTHER)) == 1

    response = await hub.client.post(URL, params={"recipient": PUSHED}, headers=hub.admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["recipient"] == PUSHED and body["requeued"] == 2
    assert sorted(d["delivery_id"] for d in body["deliveries"]) == sorted(failed)
    assert {d["state"] for d in body["deliveries"]} == {"queued"}
    assert await _failed(hub, PUSHED) == []
    assert len(await _failed(hub, OTHER)) == 1  # another recipient's failure stays

    async with hub.context.sessions() as session:
        entries = (
            await session.scalars(
                select(EventLogEntry).where(EventLogEntry.kind == "delivery.redriven")
            )
        ).all()
    logged = [json.loads(e.data) for e in entries]
    assert sorted(e["delivery_id"] for e in logged) == sorted(failed)
    assert {e["actor"] for e in logged} == {"operator:admin-1"}

    assert await hub.worker(push_max_attempts=1).run_once() == 2
    again = await hub.client.post(URL, params={"recipient": PUSHED}, headers=hub.admin)
    assert again.json() == {"recipient": PUSHED, "requeued": 0, "deliveries": []}


async def test_bulk_redrive_refuses_bad_input_and_non_admins(hub: Hub, sender: Agency) -> None:
    missing = await hub.client.post(URL, headers=hub.admin)
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "recipient"
    malformed = await hub.client.post(URL, params={"recipient": "G22"}, headers=hub.admin)
    assert malformed.status_code == 422
    unknown = await hub.client.post(URL, params={"recipient": "000.00.00.A99"}, headers=hub.admin)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "member_not_found")
    assert (await hub.client.post(URL, params={"recipient": SENDER})).status_code == 401
    member = await hub.client.post(URL, params={"recipient": SENDER}, headers=sender.headers)
    assert member.status_code == 401
    async with hub.context.sessions.begin() as session:
        _, token = await create_operator(session, "auditor-1", "auditor")
    auditor = await hub.client.post(
        URL, params={"recipient": SENDER}, headers={"Authorization": f"Bearer {token}"}
    )
    assert (auditor.status_code, auditor.json()["code"]) == (403, "forbidden_role")
