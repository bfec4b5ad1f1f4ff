"""A hub that fails for a moment (5xx) costs a node a retry, not a stuck document."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.member_node.conftest import FAST_CLERK, RECIPIENT, SENDER, StartNode, eventually
from tests.member_node.test_node_workflow import send_body, statuses_at_sender


class FlakyHub(httpx.AsyncBaseTransport):
    """The real hub app, answering 503 to the first `failures` requests that `match`."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.match: Callable[[httpx.Request], bool] = lambda _: False
        self.failures = 0
        self.failed = 0
        self.error: Exception | None = None
        """Raised instead of answering 503, when set."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.failed < self.failures and self.match(request):
            self.failed += 1
            if self.error is not None:
                raise self.error
            body = {"type": "about:blank", "status": 503, "code": "unavailable", "title": "x"}
            return httpx.Response(
                503,
                content=json.dumps(body).encode(),
                headers={"Content-Type": "application/problem+json"},
            )
        return await self.inner.handle_async_request(request)


@pytest.fixture
def hub_transport(hub_app: Any) -> FlakyHub:
    return FlakyHub(httpx.ASGITransport(app=hub_app))


async def test_the_clerk_posts_a_status_again_after_a_5xx(
    start_node: StartNode, hub_transport: FlakyHub
) -> None:
    sender = await start_node(SENDER)
    await start_node(RECIPIENT, clerk=FAST_CLERK)
    hub_transport.match = lambda r: r.method == "POST" and r.url.path.endswith("/status")
    hub_transport.failures = 2
    document_id = (await sender.http.post("/local/documents", json=send_body())).json()[
        "document_id"
    ]

    async def completed() -> bool:
        return await statuses_at_sender(sender, document_id) == ["01", "03", "04", "05", "06"]

    await eventually(completed, within=20)
    assert hub_transport.failed == 2


async def test_a_pull_node_acknowledges_again_after_a_5xx(
    start_node: StartNode, hub_transport: FlakyHub
) -> None:
    sender = await start_node(SENDER)
    await start_node(RECIPIENT, mode="pull")
    hub_transport.match = lambda r: r.method == "POST" and r.url.path.endswith("/ack")
    hub_transport.failures = 1
    document_id = (await sender.http.post("/local/documents", json=send_body())).json()[
        "document_id"
    ]

    async def acknowledged() -> bool:  # long before the 300 s lease would bring it back
        trace = await sender.context.client.trace(document_id)
        return [a.outcome for a in trace.deliveries[0].attempt_log] == ["leased", "acknowledged"]

    await eventually(acknowledged)
    assert hub_transport.failed == 1


@pytest.mark.parametrize(
    "error",
    [
        httpx.DecodingError("Error -3 while decompressing data: incorrect header check"),
        RuntimeError("a fault in the node itself"),
    ],
    ids=["undecodable answer", "unexpected error"],
)
async def test_a_pull_node_keeps_polling_after_an_error_that_is_not_the_hubs(
    start_node: StartNode, hub_transport: FlakyHub, error: Exception
) -> None:
    """Its poll loop pauses and goes on: it never ends, leaving documents at the hub."""
    sender = await start_node(SENDER)
    hub_transport.match = lambda r: r.method == "GET" and r.url.path == "/v1/inbox"
    hub_transport.error = error
    hub_transport.failures = 2
    recipient = await start_node(RECIPIENT, mode="pull")
    document_id = (await sender.http.post("/local/documents", json=send_body())).json()[
        "document_id"
    ]

    async def received() -> bool:
        inbox = (await recipient.http.get("/local/inbox")).json()["documents"]
        return [d["id"] for d in inbox] == [document_id]

    await eventually(received)
    assert hub_transport.failed == 2
