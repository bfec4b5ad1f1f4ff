"""Many members at once: submissions, pull polls, acks and statuses interleaved.

On SQLite a transaction that read and then wrote used to fail with "database
is locked" (a 500) when another connection committed in between; every call
here must get its ordinary answer on both databases.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from tests.hub.conftest import Hub
from tests.hub.helpers import body_of

SENDER = "000.00.00.H26"
PULLERS = [f"000.00.00.G{n:02d}" for n in range(10, 18)]


@pytest.fixture
def hub_overrides() -> dict[str, bool]:
    """The background delivery worker and event-log sealer write alongside the requests."""
    return {"delivery_worker": True, "eventlog_sealer": True}


async def test_interleaved_submissions_polls_acks_and_statuses_all_succeed(hub: Hub) -> None:
    sender = await hub.agencies.add(SENDER)
    pullers = [await hub.agencies.add(code) for code in PULLERS]
    headers = {**sender.headers, "Content-Type": "application/json"}
    answers: Counter[int] = Counter()

    async def submit() -> None:
        for _ in range(6):
            package = sender.package(PULLERS[:4])
            response = await hub.client.post(
                "/v1/documents", content=body_of(package), headers=headers
            )
            answers[response.status_code] += 1

    async def poll(puller_index: int) -> None:
        puller = pullers[puller_index]
        for _ in range(6):
            response = await hub.client.get("/v1/inbox?limit=10", headers=puller.headers)
            answers[response.status_code] += 1
            for delivery in response.json().get("deliveries", []):
                ack = await hub.client.post(
                    f"/v1/inbox/{delivery['delivery_id']}/ack", json={}, headers=puller.headers
                )
                answers[ack.status_code] += 1
                status = await hub.client.post(
                    f"/v1/documents/{delivery['package']['id']}/status",
                    json={"code": "01"},
                    headers=puller.headers,
                )
                answers[status.status_code] += 1
            updates = await hub.client.get("/v1/status-updates", headers=sender.headers)
            answers[updates.status_code] += 1
            await asyncio.sleep(0)

    await asyncio.gather(submit(), submit(), *(poll(i) for i in range(len(pullers))))
    assert set(answers) <= {200, 202}, answers
    assert answers[202] == 12
