"""Pull inbox and acks, statuses and their rules, recall, the trace's visibility, OpenAPI."""

from __future__ import annotations

import pytest

from tests.hub.conftest import Hub
from tests.hub.helpers import Agency

SENDER, PULLER, OTHER, STRANGER = (
    "000.00.00.H26",
    "000.00.00.G22",
    "000.00.00.H49",
    "000.00.00.K01",
)


@pytest.fixture
async def sender(hub: Hub) -> Agency:
    return await hub.add(SENDER)


@pytest.fixture
async def puller(hub: Hub) -> Agency:
    return await hub.add(PULLER)


async def _submit(hub: Hub, sender: Agency, *recipients: str) -> str:
    pkg = sender.package(list(recipients))
    response = await hub.submit(sender, pkg)
    assert response.status_code == 202, response.text
    return pkg.id


async def _state(hub: Hub, who: Agency, document_id: str, recipient: str) -> str:
    trace = (await hub.trace(who, document_id)).json()
    return str(next(d["state"] for d in trace["deliveries"] if d["recipient"] == recipient))


# -- pull inbox ------------------------------------------------------------------------


async def _expire_leases(hub: Hub) -> None:
    """Let every lease run out now, as if `inbox_lease_seconds` had passed."""
    from datetime import timedelta

    from sqlalchemy import update

    from hub.db.models import Delivery
    from registry.db import utcnow

    async with hub.context.sessions.begin() as session:
        await session.execute(
            update(Delivery)
            .where(Delivery.leased_until.is_not(None))
            .values(leased_until=utcnow() - timedelta(seconds=1))
        )


async def test_pull_leases_acks_and_an_unacked_lease_comes_back(
    hub: Hub, sender: Agency, puller: Agency
) -> None:
    document_id = await _submit(hub, sender, PULLER)
    first = await hub.client.get("/v1/inbox?limit=5", headers=puller.headers)
    assert first.status_code == 200
    [item] = first.json()["deliveries"]
    assert item["document_id"] == document_id and item["lease_expires_at"]
    from signing.package import manifest_digest, parse_package

    assert manifest_digest(parse_package(item["package"])) == item["verdict"]["manifest_sha256"]
    assert (await hub.client.get("/v1/inbox", headers=puller.headers)).json()["deliveries"] == []
    await _expire_leases(hub)
    again = (await hub.client.get("/v1/inbox", headers=puller.headers)).json()["deliveries"]
    assert [d["delivery_id"] for d in again] == [item["delivery_id"]]
    assert again[0]["attempt"] == 2

    ack = f"/v1/inbox/{item['delivery_id']}/ack"
    response = await hub.client.post(ack, json={"receipt": "r"}, headers=puller.headers)
    assert response.status_code == 200 and response.json()["state"] == "delivered"
    assert (await hub.client.post(ack, headers=puller.headers)).json()["state"] == "delivered"
    await _expire_leases(hub)
    assert (await hub.client.get("/v1/inbox", headers=puller.headers)).json()["deliveries"] == []
    assert await _state(hub, sender, document_id, PULLER) == "delivered"


async def test_only_the_recipient_can_ack(hub: Hub, sender: Agency, puller: Agency) -> None:
    await _submit(hub, sender, PULLER)
    [item] = (await hub.client.get("/v1/inbox", headers=puller.headers)).json()["deliveries"]
    response = await hub.client.post(f"/v1/inbox/{item['delivery_id']}/ack", headers=sender.headers)
    assert response.status_code == 404 and response.json()["code"] == "delivery_not_found"


async def test_an_ack_after_the_first_status_is_still_recorded(
    hub: Hub, sender: Agency, puller: Agency
) -> None:
    """The node's clerk may post 01 before its poller acknowledges: both count."""
    document_id = await _submit(hub, sender, PULLER)
    [item] = (await hub.client.get("/v1/inbox", headers=puller.headers)).json()["deliveries"]
    assert (await hub.status(puller, document_id, "01")).status_code == 200
    ack = f"/v1/inbox/{item['delivery_id']}/ack"
    response = await hub.client.post(ack, json={"receipt": "r"}, headers=puller.headers)
    assert response.status_code == 200 and response.json()["state"] == "arrived"
    assert (await hub.client.post(ack, headers=puller.headers)).status_code == 200
    [delivery] = (await hub.trace(sender, document_id)).json()["deliveries"]
    assert [a["outcome"] for a in delivery["attempt_log"]] == ["leased", "acknowledged"]


async def test_an_ack_keeps_a_receipt_the_member_signed_and_drops_any_other(
    hub: Hub, sender: Agency, puller: Agency
) -> None:
    from sqlalchemy import select

    from hub.db.models import Delivery
    from signing.jose import sign_compact

    kept_id, dropped_id = await _submit(hub, sender, PULLER), await _submit(hub, sender, PULLER)
    leased = (await hub.client.get("/v1/inbox", headers=puller.headers)).json()["deliveries"]
    by_document = {d["document_id"]: d["delivery_id"] for d in leased}
    org = puller.org
    for document_id, receipt in (
        (kept_id, {"document_id": kept_id, "delivery_id": by_document[kept_id]}),
        (dropped_id, {"document_id": kept_id, "delivery_id": by_document[kept_id]}),
    ):
        token = sign_compact({"iss": PULLER, **receipt}, org.key, org.full_chain)
        url = f"/v1/inbox/{by_document[document_id]}/ack"
        response = await hub.client.post(url, json={"receipt": token}, headers=puller.headers)
        assert response.status_code == 200, response.text
    async with hub.context.sessions() as session:
        stored = dict(
            (await session.execute(select(Delivery.document_id, Delivery.member_receipt))).all()
        )
    assert stored[kept_id] is not None and stored[dropped_id] is None
    [line] = (await hub.trace(sender, dropped_id)).json()["deliveries"]
    assert "names another document" in line["attempt_log"][-1]["detail"]


# -- statuses --------------------------------------------------------------------------


async def test_the_workflow_moves_forward_and_the_sender_reads_it_by_cursor(
    hub: Hub, sender: Agency, puller: Agency
) -> None:
    document_id = await _submit(hub, sender, PULLER)
    for code in ("01", "03", "05", "04", "06"):  # 04 arrives late: kept, no regression
        response = await hub.status(puller, document_id, code)
        assert response.status_code == 200, response.text
    assert await _state(hub, sender, document_id, PULLER) == "completed"
    page = (await hub.client.get("/v1/status-updates", headers=sender.headers)).json()
    assert [u["code"] for u in page["updates"]] == ["01", "03", "05", "04", "06"]
    after = page["updates"][1]["cursor"]
    rest = await hub.client.get(f"/v1/status-updates?after={after}", headers=sender.headers)
    assert [u["code"] for u in rest.json()["updates"]] == ["05", "04", "06"]
    assert rest.json()["next_cursor"] == page["next_cursor"]
    trace = (await hub.trace(sender, document_id)).json()
    assert len(trace["deliveries"][0]["statuses"]) == 5


@pytest.mark.parametrize(
    ("before", "code", "body", "status", "problem"),
    [
        ([], "06", {}, 409, "status_before_arrival"),
        (["01"], "02", {}, 422, "reason_required"),
        (["01", "02"], "03", {}, 409, "status_after_rejection"),
        (["01", "03"], "02", {"reason": "late"}, 409, "already_accepted"),
        (["01"], "15", {}, 409, "no_recall_pending"),
        ([], "13", {}, 422, "status_not_allowed"),
        ([], "99", {}, 422, "validation_error"),
    ],
)
async def test_statuses_that_make_no_sense_are_refused(
    hub: Hub,
    sender: Agency,
    puller: Agency,
    before: list[str],
    code: str,
    body: dict[str, str],
    status: int,
    problem: str,
) -> None:
    document_id = await _submit(hub, sender, PULLER)
    for earlier in before:
        reply = await hub.status(puller, document_id, earlier, reason="bad")
        assert reply.status_code == 200, reply.text
    response = await hub.status(puller, document_id, code, **body)
    assert response.status_code == status, response.text
    assert response.json()["code"] == problem


async def test_only_a_recipient_may_post_a_status(hub: Hub, sender: Agency, puller: Agency) -> None:
    stranger = await hub.add(STRANGER)
    document_id = await _submit(hub, sender, PULLER)
    response = await hub.status(sender, document_id, "01")
    assert response.status_code == 403 and response.json()["code"] == "not_a_recipient"
    response = await hub.status(stranger, document_id, "01")
    assert response.status_code == 404 and response.json()["code"] == "document_not_found"


async def test_statuses_are_pushed_to_a_push_sender(hub: Hub, puller: Agency) -> None:
    push_sender = await hub.add(SENDER, mode="push")
    document_id = await _submit(hub, push_sender, PULLER)
    await hub.status(puller, document_id, "01", at="2024-03-12T09:00:00+07:00")
    await hub.worker().run_once()
    [update] = hub.members.of(SENDER, "status")
    assert update["document_id"] == document_id and update["code"] == "01"
    assert update["at"].startswith("2024-03-12T02:00:00")
    assert await hub.worker().run_once() == 0  # sent once


# -- recall ----------------------------------------------------------------------------


async def test_recall_sends_13_and_accepted_recipients_answer(
    hub: Hub, sender: Agency, puller: Agency
) -> None:
    other = await hub.add(OTHER)
    third = await hub.add(STRANGER)
    document_id = await _submit(hub, sender, PULLER, OTHER, STRANGER)
    for code in ("01", "03"):
        await hub.status(other, document_id, code)
        await hub.status(third, document_id, code)
    response = await hub.client.post(f"/v1/documents/{document_id}/recall", headers=sender.headers)
    assert response.status_code == 200, response.text
    lines = {d["recipient"]: d for d in response.json()["deliveries"]}
    assert lines[PULLER]["state"] == "recalled"
    assert lines[OTHER]["state"] == "accepted" and lines[OTHER]["recall_pending"]
    for code in (PULLER, OTHER, STRANGER):
        page = await hub.client.get("/v1/status-updates", headers=hub.agencies.made[code].headers)
        assert [u["code"] for u in page.json()["updates"]] == ["13"]
    # the recalled pull delivery is no longer handed out
    assert (await hub.client.get("/v1/inbox", headers=puller.headers)).json()["deliveries"] == []
    assert (await hub.status(other, document_id, "15")).status_code == 200
    assert (await hub.status(third, document_id, "16")).status_code == 200
    assert await _state(hub, sender, document_id, OTHER) == "recalled"
    assert await _state(hub, sender, document_id, STRANGER) == "accepted"
    response = await hub.status(puller, document_id, "01")
    assert response.status_code == 409 and response.json()["code"] == "document_recalled"
    response = await hub.status(third, document_id, "16")
    assert response.status_code == 409 and response.json()["code"] == "no_recall_pending"
    sender_updates = (await hub.client.get("/v1/status-updates", headers=sender.headers)).json()
    assert {(u["recipient"], u["code"]) for u in sender_updates["updates"]} >= {
        (OTHER, "15"),
        (STRANGER, "16"),
    }


async def test_only_the_sender_may_recall(hub: Hub, sender: Agency, puller: Agency) -> None:
    stranger = await hub.add(STRANGER)
    document_id = await _submit(hub, sender, PULLER)
    url = f"/v1/documents/{document_id}/recall"
    response = await hub.client.post(url, headers=puller.headers)
    assert response.status_code == 403 and response.json()["code"] == "not_the_sender"
    response = await hub.client.post(url, headers=stranger.headers)
    assert response.status_code == 404


async def test_a_recalled_queued_push_is_never_sent(hub: Hub, sender: Agency) -> None:
    await hub.add(OTHER, mode="push")
    document_id = await _submit(hub, sender, OTHER)
    await hub.client.post(f"/v1/documents/{document_id}/recall", headers=sender.headers)
    await hub.worker().run_once()
    assert hub.members.of(OTHER) == []
    assert [u["code"] for u in hub.members.of(OTHER, "status")] == ["13"]


# -- trace -----------------------------------------------------------------------------


async def test_the_trace_shows_each_party_what_it_may_see(
    hub: Hub, sender: Agency, puller: Agency
) -> None:
    other = await hub.add(OTHER)
    stranger = await hub.add(STRANGER)
    document_id = await _submit(hub, sender, PULLER, OTHER)
    everyone = (await hub.trace(sender, document_id)).json()
    assert {d["recipient"] for d in everyone["deliveries"]} == {PULLER, OTHER}
    mine = (await hub.trace(other, document_id)).json()
    assert [d["recipient"] for d in mine["deliveries"]] == [OTHER]
    assert mine["verdict"]["compliant"]
    for response in (
        await hub.trace(stranger, document_id),
        await hub.trace(sender, "not-a-uuid"),
        await hub.trace(sender, "3f0c0000-0000-4000-8000-000000000000"),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "document_not_found"


async def test_openapi_describes_the_messaging_endpoints(hub: Hub) -> None:
    spec = (await hub.client.get("/openapi.json")).json()
    paths = spec["paths"]
    submit = paths["/v1/documents"]["post"]
    assert {"200", "202", "409", "413", "422"} <= set(submit["responses"])
    body_ref = submit["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body_ref.rsplit("/", 1)[-1] in spec["components"]["schemas"]
    assert "application/problem+json" in submit["responses"]["413"]["content"]
    for path, method in [
        ("/v1/documents/{document_id}", "get"),
        ("/v1/documents/{document_id}/recall", "post"),
        ("/v1/documents/{document_id}/status", "post"),
        ("/v1/inbox", "get"),
        ("/v1/inbox/{delivery_id}/ack", "post"),
        ("/v1/status-updates", "get"),
        ("/v1/admin/deliveries/{delivery_id}/redrive", "post"),
    ]:
        assert "200" in paths[path][method]["responses"], (path, method)
        assert "$ref" in str(paths[path][method]["responses"]["200"]), (path, method)
