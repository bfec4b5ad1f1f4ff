"""The exchanges the node's OpenAPI examples come from, played against real nodes and a hub.

The hub scenario's machinery (`tests/hub/api/openapi_scenario.py`: the vectors' CA,
the hub, the recorder), with two nodes: the sender is the published test vector's
agency (its organisation and official keys), the recipient an agency of the same CA.
The hub's pushes to both nodes go through the recorder, so the node's `/v1/inbox` and
`/v1/status` examples are what the hub really sent. `play` returns every exchange;
`tests/member_node/test_node_examples.py` replays it and compares with
`member_node/openapi_examples.json`. To write that file again after a change:

    .venv/bin/python -m tests.member_node.openapi_scenario
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from hub.delivery.worker import DeliveryWorker
from member_node.app import create_node_app
from member_node.clerk import ClerkRules
from member_node.config import NodeConfig
from member_node.examples import EXAMPLES_FILE
from signing.certs import cert_to_pem, load_certificate
from signing.pki import CertificateAuthority
from tests.hub.api.openapi_scenario import SENDER
from tests.hub.api.scenario_hub import (
    HUB_ID,
    VECTORS,
    Exchange,
    Recorder,
    running_hub,
    write_examples,
)

RECIPIENT = "000.00.00.G22"
EDXML_RECIPIENT = "000.00.00.H49"
"""A push member that receives edXML: the hub pushes it the document and the recall as XML."""
DOCUMENT_ID = "7c1e2a90-5d3b-4f6a-8e21-9b0c4d5e6f70"
"""The id the sender's DMS gives its document (for idempotent retries)."""


class Pushes(httpx.AsyncBaseTransport):
    """The hub's push transport: `http://HOST/...` to that node's app, each exchange
    recorded as the node's `METHOD path STATUS` (then `edxml` for an XML push)."""

    def __init__(self, exchanges: dict[str, Exchange] | None = None) -> None:
        self.exchanges = exchanges
        self.nodes: dict[str, httpx.ASGITransport] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.nodes[request.url.host].handle_async_request(request)
        await response.aread()
        if self.exchanges is not None and response.status_code < 300:
            kind = request.headers["content-type"].split(";")[0]
            xml = kind.endswith("xml")
            key = f"{request.method} {request.url.path} {response.status_code}"
            self.exchanges.setdefault(
                key + (" edxml" if xml else ""),
                Exchange(
                    response.status_code,
                    request.content.decode() if xml else json.loads(request.content),
                    response.json(),
                    response.headers["content-type"].split(";")[0],
                    kind,
                ),
            )
        return response


def host_of(code: str) -> str:
    return code.replace(".", "-").lower() + ".node"


def _keys(ca: CertificateAuthority, code: str, directory: Path) -> Path:
    """A node's keys directory: the vector's keys for the sender, new ones for the other."""
    directory.mkdir(parents=True)
    if code == SENDER:
        for kind in ("org", "official"):
            for ext in ("key", "crt"):
                shutil.copyfile(VECTORS / f"{kind}-es256.{ext}", directory / f"{kind}.{ext}")
            (directory / f"{kind}.key").chmod(0o600)
    else:
        ca.issue("organization", code, f"Agency {code}").save(directory / "org")
        ca.issue("official", code, "Trần Thị B", title="Chánh Văn phòng").save(
            directory / "official"
        )
    shutil.copyfile(VECTORS / "ca.crt", directory / "ca.crt")
    return directory


@asynccontextmanager
async def network(
    root: Path, exchanges: dict[str, Exchange] | None = None, database_url: str | None = None
) -> AsyncIterator[tuple[Any, dict[str, httpx.AsyncClient], Pushes]]:
    """A hub and the three nodes (push members, no clerk; one receives edXML): (hub app, a
    client per node, the hub's push transport)."""
    pushes = Pushes(exchanges)
    async with AsyncExitStack() as stack:
        app, hub, admin, ca = await stack.enter_async_context(
            running_hub(root / "hub", database_url, push_transport=pushes)
        )
        nodes: dict[str, httpx.AsyncClient] = {}
        for code, wire_format in (
            (SENDER, "json"),
            (RECIPIENT, "json"),
            (EDXML_RECIPIENT, "edxml"),
        ):
            keys = _keys(ca, code, root / code / "keys")
            shutil.copyfile(root / "hub" / "pki" / "hub.crt", keys / "hub.crt")
            body = {
                "code": code,
                "name": f"Agency {code}",
                "delivery_mode": "push",
                "endpoint": f"http://{host_of(code)}",
                "wire_format": wire_format,
            }
            created = await hub.post("/v1/admin/members", json=body, headers=admin)
            assert created.status_code == 201, created.text
            cert = cert_to_pem(load_certificate(keys / "org.crt")).decode()
            added = await hub.post(
                f"/v1/admin/members/{code}/certificates", json={"certificate": cert}, headers=admin
            )
            assert added.status_code == 201, added.text
            config = NodeConfig(
                code=code,
                hub_url="http://hub",
                keys_dir=keys,
                data_dir=root / code,
                hub_id=HUB_ID,
                clerk=ClerkRules(enabled=False),
            )
            node = create_node_app(config, hub_transport=httpx.ASGITransport(app=app))
            await stack.enter_async_context(node.router.lifespan_context(node))
            transport = httpx.ASGITransport(app=node)
            pushes.nodes[host_of(code)] = transport
            nodes[code] = await stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url=f"http://{host_of(code)}")
            )
        yield app, nodes, pushes


async def _push(app: Any, pushes: Pushes) -> None:
    """The hub pushes what is due (documents and statuses) to the nodes, once."""
    context = app.state.hub
    worker = DeliveryWorker(context.settings, context.sessions, context.identity, transport=pushes)
    try:
        assert await worker.run_once() >= 1
    finally:
        await worker.stop()


async def play(
    app: Any, nodes: dict[str, httpx.AsyncClient], pushes: Pushes, exchanges: dict[str, Exchange]
) -> None:
    """Every documented exchange of the node, in an order where each has what it needs,
    recorded into `exchanges` (with the hub's pushes, which `pushes` records)."""
    sender = Recorder(nodes[SENDER], exchanges)
    recipient = Recorder(nodes[RECIPIENT], exchanges)
    package = json.loads((VECTORS / "package-unsigned.json").read_text())
    (attachment,) = package["attachments"]
    send = {
        "id": DOCUMENT_ID,
        "recipients": [RECIPIENT, EDXML_RECIPIENT],
        "header": {k: v for k, v in package["header"].items() if v is not None},
        "files": [
            {
                "name": attachment["name"],
                "media_type": attachment["media_type"],
                "content": attachment["content"],
            }
        ],
    }
    sent = await sender.call(
        "POST", "/local/documents", "/local/documents", headers={}, json_body=send
    )
    assert sent.status_code == 202, sent.text
    await _push(app, pushes)
    doc = f"/local/documents/{DOCUMENT_ID}"
    doc_path = "/local/documents/{document_id}"
    await recipient.call(
        "GET", "/local/inbox", "/local/inbox", headers={}, params={"taken": "false"}
    )
    await recipient.call("GET", "/local/feed", "/local/feed", headers={}, params={"after": 0})
    await recipient.call("GET", doc, doc_path, headers={})
    await recipient.call("POST", f"{doc}/taken", doc_path + "/taken", headers={})
    for code in ("01", "03"):
        posted = await recipient.call(
            "POST", f"{doc}/status", doc_path + "/status", headers={}, json_body={"code": code}
        )
        assert posted.status_code == 200, posted.text
        await _push(app, pushes)  # one at a time: the sender's node hears 01 first
    await sender.call("GET", doc, doc_path, headers={}, label="sent")
    await sender.call("POST", f"{doc}/recall", doc_path + "/recall", headers={})
    await _push(app, pushes)
    answer = {"answer": "refuse", "reason": "Đã ban hành văn bản thực hiện"}
    answered = await recipient.call(
        "POST", f"{doc}/recall-answer", doc_path + "/recall-answer", headers={}, json_body=answer
    )
    assert answered.status_code == 200, answered.text
    await _refusals(sender, recipient, send)


async def _refusals(sender: Recorder, recipient: Recorder, send: dict[str, Any]) -> None:
    """The problems a DMS (and the hub, pushing without its token) meets most."""
    doc = f"/local/documents/{DOCUMENT_ID}"
    doc_path = "/local/documents/{document_id}"
    unknown = "/local/documents/00000000-0000-4000-8000-000000000000"
    again = {"answer": "agree"}
    await recipient.call(
        "POST", f"{doc}/recall-answer", doc_path + "/recall-answer", headers={}, json_body=again
    )
    for method, action, body in (
        ("GET", "", None),
        ("POST", "/taken", None),
        ("POST", "/status", {"code": "05"}),
        ("POST", "/recall-answer", again),
        ("POST", "/recall", None),
    ):
        await sender.call(method, unknown + action, doc_path + action, headers={}, json_body=body)
    bad = {**send, "id": None, "files": [{**send["files"][0], "content": "not base64!"}]}
    await sender.call("POST", "/local/documents", "/local/documents", headers={}, json_body=bad)
    await recipient.call(
        "POST", f"{doc}/status", doc_path + "/status", headers={}, json_body={"code": "13"}
    )
    await recipient.call(
        "POST",
        f"{doc}/recall-answer",
        doc_path + "/recall-answer",
        headers={},
        json_body={"answer": "maybe"},
    )
    await recipient.call("GET", "/local/inbox", "/local/inbox", headers={}, params={"limit": 0})
    await recipient.call("GET", "/local/feed", "/local/feed", headers={}, params={"after": -1})
    for path in ("/v1/inbox", "/v1/status"):
        await recipient.call("POST", path, path, headers={}, json_body={})


async def _write() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        exchanges: dict[str, Exchange] = {}
        async with network(Path(tmp), exchanges) as (app, nodes, pushes):
            await play(app, nodes, pushes, exchanges)
    write_examples(exchanges, EXAMPLES_FILE)


if __name__ == "__main__":
    asyncio.run(_write())
