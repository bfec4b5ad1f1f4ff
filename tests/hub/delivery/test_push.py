"""The push outbox: delivery with the hub's JWT and the member's receipt, retries, failure,
redrive, lease takeover after a crash, and no double claim across workers."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from hub.db.models import Delivery
from hub.delivery.outbox import RetryPolicy, claim_deliveries
from registry.db import utcnow
from signing.jose import verify_compact, verify_token
from tests.hub.conftest import Hub
from tests.hub.helpers import Agency

SENDER, PUSHED, OTHER = "000.00.00.H26", "000.00.00.G22", "000.00.00.H49"


@pytest.fixture
async def sender(hub: Hub) -> Agency:
    return await hub.add(SENDER)


@pytest.fixture
async def pushed(hub: Hub) -> Agency:
    return await hub.add(PUSHED, mode="push")


async def _submit(hub: Hub, sender: Agency, *recipients: str) -> str:
    pkg = sender.package(list(recipients))
    response = await hub.submit(sender, pkg)
    assert response.status_code == 202, response.text
    return pkg.id


async def _line(hub: Hub, sender: Agency, document_id: str, recipient: str) -> dict[str, Any]:
    trace = (await hub.trace(sender, document_id)).json()
    return next(d for d in trace["deliveries"] if d["recipient"] == recipient)


async def test_a_push_delivers_the_package_with_the_hub_token_and_keeps_the_receipt(
    hub: Hub, sender: Agency, pushed: Agency
) -> None:
    document_id = await _submit(hub, sender, PUSHED)
    assert await hub.worker().run_once() == 1
    [received] = hub.members.received
    assert received.kind == "inbox" and received.body["document_id"] == document_id
    token = (received.authorization or "").removeprefix("Bearer ")
    claims = verify_token(token, hub.context.identity.certificate, audience=PUSHED)
    assert claims["iss"] == hub.settings.hub_id
    # the pushed package is byte-for-byte what the sender signed: its manifest matches
    from signing.package import manifest_digest, parse_package

    pkg = parse_package(received.body["package"])
    assert manifest_digest(pkg) == received.body["verdict"]["manifest_sha256"]
    line = await _line(hub, sender, document_id, PUSHED)
    assert line["state"] == "delivered" and line["delivered_at"]
    async with hub.context.sessions() as session:
        receipt = await session.scalar(select(Delivery.member_receipt))
    assert receipt is not None
    assert verify_compact(receipt, pushed.org.cert)["document_id"] == document_id
    assert await hub.worker().run_once() == 0  # nothing left to push


async def test_failures_back_off_then_fail_and_a_redrive_delivers(
    hub: Hub, sender: Agency, pushed: Agency
) -> None:
    document_id = await _submit(hub, sender, PUSHED)
    hub.members.failures[PUSHED] = 3
    worker = hub.worker(push_max_attempts=3)
    before = utcnow()
    assert await worker.run_once() == 1
    line = await _line(hub, sender, document_id, PUSHED)
    assert line["state"] == "queued" and line["attempts"] == 1
    async with hub.context.sessions() as session:
        next_at = await session.scalar(select(Delivery.next_attempt_at))
    assert next_at is not None and next_at > before  # backed off
    assert await worker.run_once() == 0  # not due yet
    for _ in range(2):
        await hub.make_due()
        assert await worker.run_once() == 1
    line = await _line(hub, sender, document_id, PUSHED)
    assert line["state"] == "failed" and line["attempts"] == 3
    assert [a["outcome"] for a in line["attempt_log"]] == ["error", "error", "failed"]

    listed = await hub.client.get("/v1/admin/deliveries", headers=hub.admin)
    assert [d["delivery_id"] for d in listed.json()["deliveries"]] == [line["delivery_id"]]
    response = await hub.client.post(
        f"/v1/admin/deliveries/{line['delivery_id']}/redrive", headers=hub.admin
    )
    assert response.status_code == 200 and response.json()["state"] == "queued"
    assert await worker.run_once() == 1
    assert (await _line(hub, sender, document_id, PUSHED))["state"] == "delivered"


async def test_redrive_refuses_what_is_not_failed_and_needs_an_admin(
    hub: Hub, sender: Agency, pushed: Agency
) -> None:
    document_id = await _submit(hub, sender, PUSHED)
    line = await _line(hub, sender, document_id, PUSHED)
    url = f"/v1/admin/deliveries/{line['delivery_id']}/redrive"
    response = await hub.client.post(url, headers=hub.admin)
    assert response.status_code == 409 and response.json()["code"] == "delivery_not_failed"
    response = await hub.client.post("/v1/admin/deliveries/nope/redrive", headers=hub.admin)
    assert response.status_code == 404 and response.json()["code"] == "delivery_not_found"
    assert (await hub.client.post(url, headers=sender.headers)).status_code == 401


async def test_an_endpoint_answering_404_fails_with_the_reason(hub: Hub, sender: Agency) -> None:
    await hub.add(PUSHED, mode="push", endpoint="http://members/gone/away")
    document_id = await _submit(hub, sender, PUSHED)
    await hub.worker(push_max_attempts=1).run_once()
    line = await _line(hub, sender, document_id, PUSHED)
    assert line["state"] == "failed"
    assert "HTTP 404" in str(line["attempt_log"][0]["detail"])


async def test_a_crashed_workers_lease_runs_out_and_another_worker_delivers(
    hub: Hub, sender: Agency, pushed: Agency
) -> None:
    document_id = await _submit(hub, sender, PUSHED)
    async with hub.context.sessions.begin() as session:  # "crashed": claimed, never finished
        assert len(await claim_deliveries(session, "dead", utcnow(), 60, 10)) == 1
    survivor = hub.worker("survivor")
    assert await survivor.run_once() == 0  # still leased
    async with hub.context.sessions.begin() as session:
        await session.execute(update(Delivery).values(leased_until=utcnow() - timedelta(seconds=1)))
    assert await survivor.run_once() == 1
    line = await _line(hub, sender, document_id, PUSHED)
    assert line["state"] == "delivered" and line["attempts"] == 2


async def test_concurrent_claims_never_share_a_job(
    hub: Hub, sender: Agency, pushed: Agency
) -> None:
    for _ in range(12):
        await _submit(hub, sender, PUSHED)
    sessions = hub.context.sessions

    async def claim(owner: str) -> list[str]:
        async with sessions.begin() as session:
            return await claim_deliveries(session, owner, utcnow(), 60, 5)

    if hub.context.engine.dialect.name == "sqlite":  # one writer: claims run one by one
        batches = [await claim(f"w{i}") for i in range(4)]
    else:
        batches = list(await asyncio.gather(*(claim(f"w{i}") for i in range(4))))
    claimed = [job for batch in batches for job in batch]
    assert len(claimed) == len(set(claimed)) == 12


async def test_two_workers_deliver_each_document_exactly_once(
    hub: Hub, sender: Agency, pushed: Agency
) -> None:
    ids = {await _submit(hub, sender, PUSHED) for _ in range(10)}
    first, second = hub.worker("a", push_batch_size=3), hub.worker("b", push_batch_size=3)
    for _ in range(5):
        if hub.context.engine.dialect.name == "sqlite":
            await first.run_once()
            await second.run_once()
        else:
            await asyncio.gather(first.run_once(), second.run_once())
    delivered = [body["document_id"] for body in hub.members.of(PUSHED)]
    assert sorted(delivered) == sorted(ids)


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    policy = RetryPolicy(max_attempts=5, max_age_seconds=60, base_seconds=2, max_seconds=30)
    import random

    rng = random.Random(1)
    delays = [policy.delay(attempt, rng) for attempt in range(1, 8)]
    for attempt, delay in enumerate(delays, start=1):
        cap = min(30, 2 * 2 ** (attempt - 1))
        assert cap / 2 <= delay <= cap
    assert len({round(d, 6) for d in delays}) == len(delays)  # jittered
    now = utcnow()
    assert policy.exhausted(5, now, now)
    assert not policy.exhausted(4, now, now)
    assert policy.exhausted(1, now - timedelta(seconds=61), now)


async def test_the_background_worker_delivers_without_being_driven(
    hub_settings: object, pki: object
) -> None:
    """The worker the app starts in its lifespan picks up a submission promptly."""
    import httpx

    from hub.app import create_app
    from registry.operators import create_operator
    from tests.hub.helpers import Agencies, FakeMembers

    settings = hub_settings.model_copy(  # type: ignore[attr-defined]
        update={"eventlog_sealer": False, "delivery_poll_seconds": 0.05}
    )
    members = FakeMembers()
    app = create_app(settings, push_transport=members.transport())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            async with app.state.hub.sessions.begin() as session:
                _, token = await create_operator(session, "admin-1", "admin")
            agencies = Agencies(client, {"Authorization": f"Bearer {token}"}, pki)  # type: ignore[arg-type]
            sender = await agencies.add(SENDER)
            members.agencies[PUSHED] = await agencies.add(
                PUSHED, mode="push", endpoint=members.endpoint(PUSHED)
            )
            pkg = sender.package([PUSHED])
            response = await client.post(
                "/v1/documents",
                content=pkg.model_dump_json(exclude_unset=True),
                headers=sender.headers,
            )
            assert response.status_code == 202
            for _ in range(100):
                if members.of(PUSHED):
                    break
                await asyncio.sleep(0.05)
            assert [b["document_id"] for b in members.of(PUSHED)] == [pkg.id]


async def test_a_failed_status_push_is_redriven_and_its_age_counts_from_the_redrive(
    hub: Hub, pushed: Agency
) -> None:
    """The push member sends; the pull member's statuses are pushed back to it."""
    from hub.db.models import StatusUpdateRow

    puller = await hub.add(SENDER)
    document_id = await _submit(hub, pushed, SENDER)
    assert (await hub.status(puller, document_id, "01")).status_code == 200
    hub.members.failures[PUSHED] = 2
    worker = hub.worker(push_max_attempts=1)
    assert await worker.run_once() == 1
    async with hub.context.sessions.begin() as session:
        row = await session.scalar(select(StatusUpdateRow))
        assert row is not None and row.push_state == "failed"
        row.recorded_at = utcnow() - timedelta(days=10)  # far past the age limit

    url = "/v1/admin/status-pushes/redrive"
    response = await hub.client.post(url, params={"audience": PUSHED}, headers=hub.admin)
    assert response.status_code == 200 and response.json() == {"requeued": 1}
    retrying = hub.worker(push_max_attempts=5)
    assert await retrying.run_once() == 1  # fails again (503), but the round is young
    async with hub.context.sessions() as session:
        assert await session.scalar(select(StatusUpdateRow.push_state)) == "pending"
    await hub.make_due()
    async with hub.context.sessions.begin() as session:
        await session.execute(update(StatusUpdateRow).values(next_attempt_at=utcnow()))
    assert await retrying.run_once() == 1
    [update_] = hub.members.of(PUSHED, "status")
    assert update_["document_id"] == document_id and update_["code"] == "01"
    again = await hub.client.post(url, headers=hub.admin)
    assert again.json() == {"requeued": 0}


async def test_status_push_redrive_needs_an_admin_and_a_known_member(hub: Hub) -> None:
    url = "/v1/admin/status-pushes/redrive"
    assert (await hub.client.post(url)).status_code == 401
    response = await hub.client.post(url, params={"audience": "000.00.00.Z99"}, headers=hub.admin)
    assert response.status_code == 404 and response.json()["code"] == "member_not_found"
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_receipt_the_member_did_not_sign_is_not_kept_but_the_push_counts(
    hub: Hub, sender: Agency, pushed: Agency
) -> None:
    hub.members.forged.add(PUSHED)
    document_id = await _submit(hub, sender, PUSHED)
    assert await hub.worker().run_once() == 1
    line = await _line(hub, sender, document_id, PUSHED)
    assert line["state"] == "delivered"
    [attempt] = line["attempt_log"]
    assert attempt["outcome"] == "delivered"
    assert attempt["detail"].startswith("delivery receipt refused")
    async with hub.context.sessions() as session:
        assert await session.scalar(select(Delivery.member_receipt)) is None


async def test_a_push_answered_2xx_is_delivered_even_when_the_first_record_fails(
    hub: Hub, sender: Agency, pushed: Agency, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hub.delivery import worker as worker_module
    from hub.delivery.worker import DeliveryWorker

    document_id = await _submit(hub, sender, PUSHED)
    real = DeliveryWorker._record
    calls = 0

    async def failing_once(self: DeliveryWorker, *args: Any) -> list[str]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionResetError("the database went away mid-write")
        return await real(self, *args)

    monkeypatch.setattr(DeliveryWorker, "_record", failing_once)
    monkeypatch.setattr(worker_module, "RECORD_RETRY_FIRST_SECONDS", 0.01)
    assert await hub.worker().run_once() == 1
    assert calls == 2 and len(hub.members.received) == 1
    line = await _line(hub, sender, document_id, PUSHED)
    assert line["state"] == "delivered" and line["attempts"] == 1
    assert [a["outcome"] for a in line["attempt_log"]] == ["delivered"]
