"""What a client sees when things fail: 503 with Retry-After for the database or the disk,
a 500 problem with the request id for anything else (the connection stays usable), 408 for
a stalled body, 429 for a runaway member, and `/readyz` naming a full disk."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy.exc import OperationalError

from hub.ingest.writer import IngestWriter
from registry.problems import PROBLEM_MEDIA_TYPE
from tests.hub.conftest import Hub

SENDER, RECIPIENT = "000.00.00.H26", "000.00.00.G22"


@pytest.fixture
def hub_overrides() -> dict[str, Any]:
    return {"body_timeout_seconds": 0.5, "rate_limits": {"default": 1000.0, "commune": 2.0}}


@asynccontextmanager
async def served(app: Any) -> AsyncIterator[str]:
    """`app` (lifespan already running) behind a real uvicorn server on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def _local_port(response: httpx.Response) -> int:
    stream = response.extensions["network_stream"]
    return int(stream.get_extra_info("client_addr")[1])


def _disk_full(*args: Any, **kwargs: Any) -> Any:
    raise OperationalError("INSERT", {}, sqlite3.OperationalError("database or disk is full"))


def _bug(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("a bug nobody foresaw")


async def test_a_full_disk_is_503_storage_full_with_retry_after(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    sender = await hub.add(SENDER)
    await hub.add(RECIPIENT)
    monkeypatch.setattr(IngestWriter, "_write", _disk_full)
    response = await hub.submit(sender, sender.package([RECIPIENT]))
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.headers["retry-after"] == "60"
    body = response.json()
    assert body["code"] == "storage_full" and body["request_id"]


async def test_an_unforeseen_error_is_a_500_problem_and_the_connection_stays_usable(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    sender = await hub.add(SENDER)
    await hub.add(RECIPIENT)
    monkeypatch.setattr(IngestWriter, "_write", _bug)
    async with (
        served(hub.app) as url,
        httpx.AsyncClient(base_url=url, limits=httpx.Limits(max_connections=1)) as client,
    ):
        first = await client.get("/healthz")
        failed = await client.post(
            "/v1/documents",
            content=sender.package([RECIPIENT]).model_dump_json(exclude_unset=True),
            headers={**sender.headers, "Content-Type": "application/json"},
        )
        assert failed.status_code == 500
        assert failed.headers["content-type"] == PROBLEM_MEDIA_TYPE
        assert "connection" not in failed.headers  # nothing says the server will hang up
        body = failed.json()
        assert body["code"] == "internal_error"
        assert body["request_id"] == failed.headers["x-request-id"]
        assert "a bug nobody foresaw" not in failed.text  # no internals leak
        after = await client.get("/healthz")
        assert after.status_code == 200
        assert _local_port(after) == _local_port(first)  # the same keep-alive connection


async def test_a_stalled_body_is_408_and_the_connection_closed(hub: Hub) -> None:
    sender = await hub.add(SENDER)
    async with served(hub.app) as url:
        host, port = url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        head = (
            "POST /v1/documents HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {sender.token()}\r\nContent-Length: 5000\r\n\r\n"
        )
        writer.write(head.encode() + b'{"id": "')
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), timeout=10)  # read to EOF: closed
        writer.close()
    status_line, _, rest = answer.partition(b"\r\n")
    assert b" 408 " in status_line
    headers, _, body = rest.partition(b"\r\n\r\n")
    assert b"connection: close" in headers.lower()
    assert b'"code":"request_timeout"' in body


async def test_a_member_over_its_rate_is_429_with_retry_after(hub: Hub) -> None:
    sender = await hub.add(SENDER)
    async with hub.context.sessions.begin() as session:
        from sqlalchemy import update

        from registry.models import Member

        await session.execute(update(Member).where(Member.code == SENDER).values(kind="commune"))
    statuses = []
    for _ in range(8):
        response = await hub.client.get("/v1/inbox", headers=sender.headers)
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
            assert response.json()["code"] == "rate_limited"
            assert int(response.headers["retry-after"]) >= 1
    assert statuses[:4] == [200] * 4  # 2/s in 2 s windows: a burst of 4
    assert 429 in statuses
    metrics = (await hub.client.get("/metrics", headers=hub.admin)).text
    assert f'lienthong_rate_limited_total{{member="{SENDER}"}}' in metrics


async def test_readyz_fails_on_a_disk_under_the_floor(hub: Hub) -> None:
    hub.context.settings.min_free_disk_bytes = 1 << 62
    response = await hub.client.get("/readyz")
    assert response.status_code == 503
    assert "disk" in response.json()["failing"]
    assert "under the floor" in response.json()["checks"]["disk"]["detail"]
