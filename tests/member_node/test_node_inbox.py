"""A node's `/v1/inbox` and `/v1/status`: the hub's JWT, re-verification, dedup, receipts."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from hub.protocol import InboxDelivery
from member_node.client import HubClient
from signing.jose import mint_token, sign_compact, verify_compact
from signing.pades.document import make_pdf
from tests.conftest import HUB_ID, PKIFixture
from tests.member_node.conftest import (
    HEADER,
    OTHER,
    RECIPIENT,
    Agency,
    RunningNode,
    StartNode,
)

PDF = ("qd.pdf", "application/pdf", make_pdf(pages=1))


@pytest.fixture
async def node(start_node: StartNode) -> RunningNode:
    return await start_node(RECIPIENT, registered_as="pull")


@pytest.fixture
async def delivery(
    node: RunningNode, sender_client: HubClient, connect: Callable[[Agency], HubClient]
) -> InboxDelivery:
    """A real delivery for the node, leased from the hub (so the hub does not push it)."""
    await sender_client.send([RECIPIENT], HEADER, [PDF])
    async with connect(node.agency) as client:
        [leased] = (await client.inbox()).deliveries
    return leased


def hub_token(pki: PKIFixture, aud: str = RECIPIENT, iss: str = HUB_ID) -> dict[str, str]:
    return {"Authorization": "Bearer " + mint_token(pki.hub.key, pki.hub.cert, iss, aud)}


def body_of(delivery: InboxDelivery) -> dict[str, Any]:
    return delivery.model_dump(mode="json", exclude_unset=True)


def problem(response: httpx.Response) -> tuple[int, str]:
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.status_code, response.json()["code"]


async def test_a_push_is_stored_once_and_answered_with_a_signed_receipt(
    node: RunningNode, delivery: InboxDelivery, pki: PKIFixture
) -> None:
    first = await node.http.post("/v1/inbox", json=body_of(delivery), headers=hub_token(pki))
    assert first.status_code == 200, first.text
    assert first.json()["duplicate"] is False
    claims = verify_compact(first.json()["receipt"], node.agency.org.cert)
    assert claims["iss"] == RECIPIENT
    assert claims["delivery_id"] == delivery.delivery_id
    assert claims["document_id"] == delivery.document_id
    assert claims["compliant"] is True and claims["violations"] == []

    again = await node.http.post("/v1/inbox", json=body_of(delivery), headers=hub_token(pki))
    assert again.status_code == 200
    assert again.json() == {"receipt": first.json()["receipt"], "duplicate": True}

    listing = (await node.http.get("/local/inbox")).json()["documents"]
    assert [d["id"] for d in listing] == [delivery.document_id]
    assert listing[0]["subject"] == HEADER["subject"]
    document = (await node.http.get(f"/local/documents/{delivery.document_id}")).json()
    assert document["direction"] == "in"
    assert document["package"]["attachments"][0]["name"] == "qd.pdf"
    verdict = document["local_verdict"]
    assert (verdict["compliant"], verdict["violations"]) == (True, [])
    assert [f["kind"] for f in verdict["signatures"]] == ["personal", "organization"]
    assert listing[0]["signed_in"] == "envelope"


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "missing_token"),
        ({"Authorization": "Basic abc"}, "missing_token"),
        ({"Authorization": "Bearer not.a.token"}, "invalid_token"),
    ],
)
async def test_a_push_without_the_hubs_token_is_refused(
    node: RunningNode, delivery: InboxDelivery, headers: dict[str, str], code: str
) -> None:
    response = await node.http.post("/v1/inbox", json=body_of(delivery), headers=headers)
    assert problem(response) == (401, code)
    assert (await node.http.get("/local/inbox")).json()["documents"] == []


async def test_a_token_for_another_node_another_issuer_or_key_is_refused(
    node: RunningNode, delivery: InboxDelivery, pki: PKIFixture, sender: Agency
) -> None:
    body = body_of(delivery)
    for headers in (
        hub_token(pki, aud=OTHER),
        hub_token(pki, iss="another-hub"),
        {
            "Authorization": "Bearer "
            + mint_token(sender.org.key, sender.org.cert, HUB_ID, RECIPIENT)
        },
    ):
        response = await node.http.post("/v1/inbox", json=body, headers=headers)
        assert problem(response) == (401, "invalid_token")


async def test_a_tampered_or_misaddressed_delivery_is_refused(
    node: RunningNode, delivery: InboxDelivery, pki: PKIFixture, sender: Agency
) -> None:
    headers = hub_token(pki)
    altered = body_of(delivery)
    altered["package"]["header"]["subject"] = "something else"
    assert problem(await node.http.post("/v1/inbox", json=altered, headers=headers)) == (
        422,
        "manifest_mismatch",
    )
    wrong_id = {**body_of(delivery), "document_id": "0f0f0f0f-0000-4000-8000-000000000000"}
    assert problem(await node.http.post("/v1/inbox", json=wrong_id, headers=headers)) == (
        422,
        "document_id_mismatch",
    )
    forged = body_of(delivery)
    forged["receipt"] = sign_compact(
        {"document_id": delivery.document_id}, sender.org.key, sender.org.cert
    )
    assert problem(await node.http.post("/v1/inbox", json=forged, headers=headers)) == (
        422,
        "bad_hub_receipt",
    )
    elsewhere = body_of(delivery)
    elsewhere["package"]["recipients"] = [OTHER]
    assert problem(await node.http.post("/v1/inbox", json=elsewhere, headers=headers)) == (
        422,
        "not_a_recipient",
    )
    swapped = body_of(delivery)
    swapped["package"]["attachments"][0]["content"] = "AAAA"
    assert problem(await node.http.post("/v1/inbox", json=swapped, headers=headers)) == (
        422,
        "attachment_altered",
    )
    assert (await node.http.get("/local/inbox")).json()["documents"] == []


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", json.dumps({"delivery_id": "x"}).encode(), b'{"package": 1}'],
)
async def test_a_malformed_push_is_a_validation_problem(
    node: RunningNode, pki: PKIFixture, body: bytes
) -> None:
    headers = {**hub_token(pki), "Content-Type": "application/json"}
    response = await node.http.post("/v1/inbox", content=body, headers=headers)
    assert problem(response) == (422, "validation_error")
    assert response.json()["errors"]


async def test_status_pushes_are_authenticated_and_validated(
    node: RunningNode, pki: PKIFixture
) -> None:
    update = {
        "cursor": 1,
        "document_id": "0f0f0f0f-0000-4000-8000-000000000000",
        "recipient": OTHER,
        "code": "03",
        "at": "2024-03-12T09:00:00+07:00",
        "recorded_at": "2024-03-12T09:00:01+07:00",
    }
    assert problem(await node.http.post("/v1/status", json=update)) == (401, "missing_token")
    bad = {**update, "code": "99"}
    response = await node.http.post("/v1/status", json=bad, headers=hub_token(pki))
    assert problem(response) == (422, "validation_error")
    response = await node.http.post("/v1/status", json=update, headers=hub_token(pki))
    assert response.status_code == 200, response.text
    assert response.json() == {"recorded": True, "recall_answer_scheduled": False}


async def test_unknown_routes_and_methods_are_problems(node: RunningNode) -> None:
    assert problem(await node.http.get("/v1/nothing")) == (404, "not_found")
    assert problem(await node.http.get("/v1/inbox")) == (405, "method_not_allowed")


async def test_statuses_pushed_out_of_order_read_in_the_order_they_were_posted(
    node: RunningNode, delivery: InboxDelivery, pki: PKIFixture
) -> None:
    """The hub pushes a batch concurrently; the node lists statuses by their time."""
    stored = await node.http.post("/v1/inbox", json=body_of(delivery), headers=hub_token(pki))
    assert stored.status_code == 200, stored.text
    for cursor, (code, second) in enumerate([("05", 3), ("01", 1), ("03", 2)], start=1):
        update = {
            "cursor": cursor,
            "document_id": delivery.document_id,
            "recipient": OTHER,
            "code": code,
            "at": f"2024-03-12T09:00:0{second}+07:00",
            "recorded_at": "2024-03-12T09:00:04+07:00",
        }
        response = await node.http.post("/v1/status", json=update, headers=hub_token(pki))
        assert response.status_code == 200, response.text
    document = (await node.http.get(f"/local/documents/{delivery.document_id}")).json()
    assert [s["code"] for s in document["statuses"]] == ["01", "03", "05"]


async def test_openapi_documents_the_push_bodies_json_and_edxml(node: RunningNode) -> None:
    import json as json_module
    import re

    spec = (await node.http.get("/openapi.json")).json()
    for path in ("/v1/inbox", "/v1/status"):
        content = spec["paths"][path]["post"]["requestBody"]["content"]
        assert {"application/json", "application/xml"} <= set(content)
    schemas = spec["components"]["schemas"]
    refs = re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json_module.dumps(spec))
    assert "Package" in refs and all(ref in schemas for ref in refs)


async def test_a_pdf_signed_in_the_pdf_is_validated_by_the_node_and_listed(
    node: RunningNode,
    sender_client: HubClient,
    connect: Callable[[Agency], HubClient],
    pki: PKIFixture,
) -> None:
    signed = sender_client.sign_pdf(make_pdf(pages=2))
    sealed_only = sender_client.sign_pdf(make_pdf(pages=1), personal=False)
    for pdf in (signed, sealed_only):
        await sender_client.send(
            [RECIPIENT], HEADER, [("qd.pdf", "application/pdf", pdf)],
            personal=False, organization=False,
        )  # fmt: skip
    async with connect(node.agency) as client:
        deliveries = (await client.inbox()).deliveries
    for delivery in deliveries:
        pushed = await node.http.post("/v1/inbox", json=body_of(delivery), headers=hub_token(pki))
        assert pushed.status_code == 200, pushed.text
    listing = {d["id"]: d for d in (await node.http.get("/local/inbox")).json()["documents"]}
    both, seal = (listing[d.document_id] for d in deliveries)
    assert (both["compliant"], both["signed_in"]) == (True, "pdf")
    assert [(s["kind"], s["source"], s["revision"], s["valid"]) for s in both["signatures"]] == [
        ("personal", "attachment:0", 1, True),
        ("organization", "attachment:0", 2, True),
    ]
    assert both["signatures"][0]["format"] == "pades"
    assert seal["violations"] == ["NO_PERSONAL_SIGNATURE"]
    assert [s["kind"] for s in seal["signatures"]] == ["organization"]
