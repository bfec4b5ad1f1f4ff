"""The webhooks' XML examples (the recorded pull answers of an edXML member) are what the
hub pushes to an edXML member's endpoint: the same document and status message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from hub.api.examples import recorded_examples
from hub.delivery.worker import DeliveryWorker
from hub.protocol import CURSOR_HEADER, DELIVERY_ID_HEADER, DOCUMENT_ID_HEADER, SENDER_HEADER
from signing.certs import cert_to_pem, load_certificate
from signing.jose import mint_token
from signing.keys import load_private_key
from tests.hub.api.openapi_scenario import EDXML_PACKAGE_ID, EDXML_PULLED, PULLED, SENDER
from tests.hub.api.scenario_hub import HUB_ID, VECTORS, running_hub
from tests.recorded_examples import assert_same_xml

ENDPOINT = "https://edxml-dms.example/lienthong"


def _example(spec: dict[str, Any], name: str) -> str:
    content = spec["components"]["pathItems"][name]["post"]["requestBody"]["content"]
    example: str = content["application/xml"]["example"]
    return example


async def _push_once(app: Any, transport: httpx.MockTransport) -> None:
    context = app.state.hub
    worker = DeliveryWorker(
        context.settings, context.sessions, context.identity, transport=transport
    )
    try:
        assert await worker.run_once() == 1
    finally:
        await worker.stop()


async def test_the_webhook_xml_examples_are_what_the_hub_pushes(
    tmp_path: Path, database_url: str
) -> None:
    pushed: list[httpx.Request] = []

    def endpoint(request: httpx.Request) -> httpx.Response:
        pushed.append(request)
        return httpx.Response(200, json={})

    transport = httpx.MockTransport(endpoint)
    org_cert = load_certificate(VECTORS / "org-es256.crt")
    token = mint_token(
        load_private_key(VECTORS / "org-es256.key"), org_cert, iss=SENDER, aud=HUB_ID
    )
    sender = {"Authorization": f"Bearer {token}"}
    async with running_hub(tmp_path, database_url) as (app, client, admin, _):
        for code, body in (
            (SENDER, {}),
            (PULLED, {}),
            (EDXML_PULLED, {"delivery_mode": "push", "endpoint": ENDPOINT, "wire_format": "edxml"}),
        ):
            created = await client.post(
                "/v1/admin/members",
                json={"code": code, "name": f"Agency {code}", **body},
                headers=admin,
            )
            assert created.status_code == 201, created.text
        added = await client.post(
            f"/v1/admin/members/{SENDER}/certificates",
            json={"certificate": cert_to_pem(org_cert).decode()},
            headers=admin,
        )
        assert added.status_code == 201, added.text
        envelope = recorded_examples()["POST /v1/documents 202 edxml"]["request"]
        submitted = await client.post(
            "/v1/documents",
            content=envelope.encode(),
            headers={**sender, "Content-Type": "application/xml"},
        )
        assert submitted.status_code == 202, submitted.text
        await _push_once(app, transport)
        recalled = await client.post(f"/v1/documents/{EDXML_PACKAGE_ID}/recall", headers=sender)
        assert recalled.status_code == 200, recalled.text
        await _push_once(app, transport)
        spec = app.openapi()
    document, status = pushed
    assert (str(document.url), document.headers["content-type"]) == (
        f"{ENDPOINT}/v1/inbox",
        "application/xml",
    )
    assert document.headers[DOCUMENT_ID_HEADER] == EDXML_PACKAGE_ID
    assert document.headers[SENDER_HEADER] == SENDER
    assert DELIVERY_ID_HEADER in document.headers
    assert_same_xml(document.content.decode(), _example(spec, "memberInbox"))
    assert str(status.url) == f"{ENDPOINT}/v1/status"
    assert status.headers["content-type"] == "application/xml"
    assert CURSOR_HEADER in status.headers
    assert_same_xml(status.content.decode(), _example(spec, "memberStatus"))
