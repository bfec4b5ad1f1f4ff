"""Shared by the integration tests: a document header and waiting for a condition."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

HEADER: dict[str, Any] = {
    "code": {"number": "12", "notation": "CV-UBND"},
    "promulgation": {"place": "Vĩnh Yên", "date": "2019-03-12"},
    "type": "CV",
    "subject": "Về việc báo cáo tình hình kinh tế - xã hội",
    "signer": {"name": "Nguyễn Văn A", "position": "Chủ tịch"},
}


async def eventually(
    check: Callable[[], Awaitable[bool]], *, timeout: float = 30.0, every: float = 0.2
) -> None:
    """Wait until `check()` is true; fail with the timeout otherwise."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(every)


async def inbox_ids(network: Any, code: str) -> list[str]:
    """Every package id node `code` holds, as its DMS sees them (duplicates kept)."""
    async with network.node_http(code) as http:
        response = await http.get("/local/inbox", params={"limit": 1000})
    assert response.status_code == 200, response.text
    return [document["id"] for document in response.json()["documents"]]
