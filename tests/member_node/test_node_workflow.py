"""Nodes at work: pushed and pulled deliveries, the clerk's statuses, recalls, the local API."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx

from hub.protocol import StatusCode
from member_node.app import create_node_app
from member_node.clerk import ClerkRules
from member_node.config import NodeConfig
from signing.pades.document import make_pdf
from tests.conftest import HUB_ID
from tests.member_node.conftest import (
    FAST_CLERK,
    HEADER,
    OTHER,
    RECIPIENT,
    SENDER,
    Agency,
    MakeAgency,
    RunningNode,
    StartNode,
    eventually,
)

PDF = {
    "name": "qd.pdf",
    "media_type": "application/pdf",
    "content": base64.b64encode(make_pdf(pages=1)).decode(),
}


def send_body(**changes: Any) -> dict[str, Any]:
    return {"recipients": [RECIPIENT], "header": HEADER, "files": [PDF], **changes}


async def statuses_at_sender(sender: RunningNode, document_id: str) -> list[str]:
    trace = await sender.context.client.trace(document_id)
    return [s.code.value for s in trace.deliveries[0].statuses]


async def test_a_pushed_document_walks_through_the_clerks_statuses(
    start_node: StartNode,
) -> None:
    sender = await start_node(SENDER)
    recipient = await start_node(RECIPIENT, clerk=FAST_CLERK)
    sent = await sender.http.post("/local/documents", json=send_body())
    assert sent.status_code == 202, sent.text
    document_id = sent.json()["document_id"]

    async def completed() -> bool:
        return await statuses_at_sender(sender, document_id) == ["01", "03", "04", "05", "06"]

    await eventually(completed)
    received = (await recipient.http.get(f"/local/documents/{document_id}")).json()
    assert received["via"] == "push"
    assert [s["code"] for s in received["statuses"]] == ["01", "03", "04", "05", "06"]

    async def heard_by_sender() -> bool:  # pushed to the sender's /v1/status
        local = (await sender.http.get(f"/local/documents/{document_id}")).json()
        return [s["code"] for s in local["statuses"]] == ["01", "03", "04", "05", "06"]

    await eventually(heard_by_sender)
    local = (await sender.http.get(f"/local/documents/{document_id}")).json()
    assert local["direction"] == "out"
    assert local["trace"]["deliveries"][0]["state"] == "completed"
    trace = await sender.context.client.trace(document_id)
    assert trace.deliveries[0].delivered_at is not None
    # the node's signed delivery receipt was checked and kept by the hub
    assert not any(a.detail for a in trace.deliveries[0].attempt_log)


async def test_the_clerk_rejects_what_breaks_its_rules_with_a_reason(
    start_node: StartNode,
) -> None:
    sender = await start_node(SENDER)
    await start_node(RECIPIENT, clerk=ClerkRules(require_compliant=True, steps=()))
    sent = await sender.http.post("/local/documents", json=send_body(personal=False))
    document_id = sent.json()["document_id"]

    async def rejected() -> bool:
        return await statuses_at_sender(sender, document_id) == ["01", "02"]

    await eventually(rejected)
    trace = await sender.context.client.trace(document_id)
    reason = trace.deliveries[0].statuses[1].reason
    assert reason is not None and "NO_PERSONAL_SIGNATURE" in reason


async def test_a_recall_is_answered_15_and_the_document_deleted(start_node: StartNode) -> None:
    sender = await start_node(SENDER)
    recipient = await start_node(RECIPIENT, clerk=ClerkRules(steps=(("03", 0.01),)))
    document_id = (await sender.http.post("/local/documents", json=send_body())).json()[
        "document_id"
    ]
    await eventually(lambda: _has(sender, document_id, "03"))
    await sender.context.client.recall(document_id)
    await eventually(lambda: _has(sender, document_id, StatusCode.RECALL_AGREED.value))
    assert (await recipient.http.get("/local/inbox")).json()["documents"] == []
    kept = (await recipient.http.get("/local/inbox?include_recalled=true")).json()["documents"]
    assert kept[0]["recalled_at"] is not None
    assert (await recipient.http.get(f"/local/documents/{document_id}")).json()["package"] is None


async def test_a_clerk_may_refuse_a_recall_with_16(start_node: StartNode) -> None:
    sender = await start_node(SENDER)
    recipient = await start_node(
        RECIPIENT, clerk=ClerkRules(steps=(("03", 0.01),), recall_answer="refuse")
    )
    document_id = (await sender.http.post("/local/documents", json=send_body())).json()[
        "document_id"
    ]
    await eventually(lambda: _has(sender, document_id, "03"))
    await sender.context.client.recall(document_id)
    await eventually(lambda: _has(sender, document_id, StatusCode.RECALL_REFUSED.value))
    listing = (await recipient.http.get("/local/inbox")).json()["documents"]
    assert [d["id"] for d in listing] == [document_id]


async def _has(sender: RunningNode, document_id: str, code: str) -> bool:
    return code in await statuses_at_sender(sender, document_id)


async def test_a_pull_node_polls_acknowledges_and_answers(start_node: StartNode) -> None:
    sender = await start_node(SENDER, mode="pull")
    recipient = await start_node(RECIPIENT, mode="pull", clerk=FAST_CLERK)
    document_id = (await sender.http.post("/local/documents", json=send_body())).json()[
        "document_id"
    ]

    async def done() -> bool:
        local = (await sender.http.get(f"/local/documents/{document_id}")).json()
        return [s["code"] for s in local["statuses"]] == ["01", "03", "04", "05", "06"]

    await eventually(done)  # the sender heard them by polling /v1/status-updates
    received = (await recipient.http.get(f"/local/documents/{document_id}")).json()
    assert received["via"] == "pull"
    trace = await sender.context.client.trace(document_id)
    assert trace.deliveries[0].attempt_log[-1].outcome == "acknowledged"
    assert not any(a.detail for a in trace.deliveries[0].attempt_log)  # receipt kept


async def test_local_send_bad_inputs_are_problems(start_node: StartNode) -> None:
    sender = await start_node(SENDER)
    cases: list[tuple[dict[str, Any], int, str]] = [
        (send_body(recipients=[]), 422, "validation_error"),
        (send_body(header={"subject": "x"}), 422, "validation_error"),
        (send_body(files=[{**PDF, "content": "***"}]), 422, "validation_error"),
        (send_body(recipients=["G22"]), 422, "invalid_package"),
        (send_body(id="not-a-uuid"), 422, "invalid_package"),
    ]
    for body, status, code in cases:
        response = await sender.http.post("/local/documents", json=body)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert (response.status_code, response.json()["code"]) == (status, code), body
    response = await sender.http.post(
        "/local/documents", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422


async def test_local_reads_bad_inputs_are_problems(start_node: StartNode) -> None:
    node = await start_node(SENDER)
    response = await node.http.get("/local/inbox?limit=0")
    assert (response.status_code, response.json()["code"]) == (422, "validation_error")
    response = await node.http.get("/local/documents/0f0f0f0f-0000-4000-8000-000000000000")
    assert (response.status_code, response.json()["code"]) == (404, "document_not_found")


async def test_an_unreachable_hub_is_a_502_not_a_crash(
    make_agency: MakeAgency, tmp_path: Path
) -> None:
    agency: Agency = await make_agency(OTHER)
    config = NodeConfig(
        code=OTHER,
        hub_url="http://127.0.0.1:9",
        keys_dir=agency.keys,
        data_dir=tmp_path / "offline",
        hub_id=HUB_ID,
    )
    app = create_node_app(config)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://node") as http:
            response = await http.post(
                "/local/documents", json={**send_body(), "recipients": [RECIPIENT]}
            )
    assert response.status_code == 502
    assert response.json()["code"] == "hub_unreachable"
