"""A hub with its background workers running stops cleanly after a burst of work.

Regression: the delivery worker and the event-log sealer only stopped when a
cancellation reached them; one that landed inside a database call was
swallowed and the lifespan never returned.
"""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI

from hub.app import create_app
from hub.settings import HubSettings
from registry.operators import create_operator
from tests.conftest import PKIFixture
from tests.hub.helpers import Agencies, body_of


async def _burst(app: FastAPI, pki: PKIFixture) -> None:
    """Twenty concurrent submissions, then twenty concurrent 01 statuses."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
        async with app.state.hub.sessions.begin() as session:
            _, token = await create_operator(session, "admin-1", "admin")
        agencies = Agencies(client, {"Authorization": f"Bearer {token}"}, pki)
        sender = await agencies.add("000.00.00.H26")
        recipient = await agencies.add("000.00.00.G22")
        packages = [sender.package(["000.00.00.G22"]) for _ in range(20)]
        headers = {**sender.headers, "Content-Type": "application/json"}
        submitted = await asyncio.gather(
            *(client.post("/v1/documents", content=body_of(p), headers=headers) for p in packages)
        )
        assert [r.status_code for r in submitted] == [202] * 20
        arrived = await asyncio.gather(
            *(
                client.post(
                    f"/v1/documents/{p.id}/status", json={"code": "01"}, headers=recipient.headers
                )
                for p in packages
            )
        )
        assert [r.status_code for r in arrived] == [200] * 20


async def test_lifespan_exits_after_concurrent_submissions_and_statuses(
    hub_settings: HubSettings, pki: PKIFixture
) -> None:
    settings = hub_settings.model_copy(
        update={"delivery_worker": True, "eventlog_sealer": True, "log_level": "ERROR"}
    )
    app = create_app(settings)
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    try:
        await _burst(app, pki)
    finally:
        # Waited on without cancelling it (the bug swallowed cancellations). A hang
        # detector, not a speed limit: stopping takes well under a second when it works.
        exiting = asyncio.create_task(lifespan.__aexit__(None, None, None))
        done, _ = await asyncio.wait({exiting}, timeout=30)
    assert exiting in done, "the hub's lifespan did not return: a background worker kept running"
    names = {task.get_name() for task in asyncio.all_tasks()}
    assert not any(name.startswith(("delivery-", "eventlog-sealer")) for name in names)
