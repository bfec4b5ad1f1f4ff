"""The SDK waits as the hub says (`Retry-After`) on 503 and 429, a bounded number of times."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from member_node.client import HubClient
from member_node.errors import HubError, ServerError


def _client(tmp_path: Path, handler: Any, **kwargs: Any) -> HubClient:
    identity: Any = type("Identity", (), {"code": "000.00.00.H26", "hub_certificate": None})()
    client = HubClient("http://hub", identity, transport=httpx.MockTransport(handler), **kwargs)
    return client


async def test_a_503_then_a_200_is_retried_after_the_hubs_retry_after(tmp_path: Path) -> None:
    answers = [
        httpx.Response(503, headers={"Retry-After": "1"}, json={"code": "database_unavailable"}),
        httpx.Response(429, headers={"Retry-After": "0"}, json={"code": "rate_limited"}),
        httpx.Response(200, json={}),
    ]
    seen: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(time.monotonic())
        return answers.pop(0)

    async with _client(tmp_path, handler) as client:
        response = await client._send("GET", "/v1/directory", auth=False)
    assert response.status_code == 200 and len(seen) == 3
    assert seen[1] - seen[0] >= 0.9  # waited the second it was told


async def test_retries_are_bounded_then_the_error_is_raised(tmp_path: Path) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(503, headers={"Retry-After": "0"}, json={"code": "storage_full"})

    async with _client(tmp_path, handler, retries=2) as client:
        with pytest.raises(ServerError) as raised:
            await client._send("GET", "/v1/directory", auth=False)
    assert raised.value.code == "storage_full" and calls == 3


async def test_a_long_retry_after_is_capped(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "3600"}, json={"code": "rate_limited"})

    async with _client(tmp_path, handler, retries=1, max_retry_after=0.05) as client:
        started = time.monotonic()
        with pytest.raises(HubError):
            await client._send("GET", "/v1/directory", auth=False)
    assert time.monotonic() - started < 2
