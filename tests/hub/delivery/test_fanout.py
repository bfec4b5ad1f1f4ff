"""Push fan-out against badly behaved endpoints on real sockets: one that never answers,
one that answers after 60 s, one that redirects to another host, one that answers 200
with a 50 MB body. None delays the other recipients, none is followed, each is bounded
by the push timeout and retried; a member whose endpoint hangs holds at most
`push_per_member` connections."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select

from hub.db.models import Delivery, DeliveryAttempt
from hub.delivery.worker import DeliveryWorker
from tests.hub.conftest import Hub

SENDER = "000.00.00.H26"
GOOD = [f"000.00.00.G{n:02d}" for n in range(1, 9)]
NEVER, SLOW, REDIRECT, HUGE = "000.00.00.H01", "000.00.00.H02", "000.00.00.H03", "000.00.00.H04"
HUGE_BYTES = 50 * 1024 * 1024


@dataclass
class Endpoints:
    """One loopback HTTP/1.1 server whose first path segment picks the behaviour."""

    port: int = 0
    answered: list[str] = field(default_factory=list)
    open_now: dict[str, int] = field(default_factory=dict)
    most_open: dict[str, int] = field(default_factory=dict)
    redirected_to: list[str] = field(default_factory=list)
    huge_sent: int = 0

    def url(self, behaviour: str, code: str) -> str:
        return f"http://127.0.0.1:{self.port}/{behaviour}/{code}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        behaviour = "?"
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = dict(
                    line.split(": ", 1) for line in lines[1:] if ": " in line
                )  # fmt: skip
                length = int({k.lower(): v for k, v in headers.items()}.get("content-length", 0))
                await reader.readexactly(length)
                behaviour = path.split("/")[1]
                self.open_now[behaviour] = self.open_now.get(behaviour, 0) + 1
                self.most_open[behaviour] = max(
                    self.most_open.get(behaviour, 0), self.open_now[behaviour]
                )
                if behaviour == "other":
                    self.redirected_to.append(path)
                if behaviour == "never":
                    await asyncio.sleep(3600)
                elif behaviour == "slow":
                    await asyncio.sleep(60)
                    writer.write(_response(200, b"{}"))
                elif behaviour == "redirect":
                    target = f"http://localhost:{self.port}/other{path}"
                    writer.write(_response(307, b"", {"Location": target}))
                elif behaviour == "huge":
                    writer.write(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        + f"Content-Length: {HUGE_BYTES}\r\n\r\n".encode()
                    )
                    chunk = b" " * (1024 * 1024)
                    for _ in range(HUGE_BYTES // len(chunk)):
                        writer.write(chunk)
                        await writer.drain()
                        self.huge_sent += len(chunk)
                else:
                    writer.write(_response(200, b"{}"))
                await writer.drain()
                self.answered.append(path)
                self.open_now[behaviour] -= 1
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            if self.open_now.get(behaviour, 0) > 0 and behaviour in ("never", "slow", "huge"):
                self.open_now[behaviour] -= 1
            writer.close()


def _response(status: int, body: bytes, headers: dict[str, str] | None = None) -> bytes:
    reason = {200: "OK", 307: "Temporary Redirect"}[status]
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    return (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


@pytest.fixture
async def endpoints() -> AsyncIterator[Endpoints]:
    found = Endpoints()
    tasks: set[asyncio.Task[None]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await found.handle(reader, writer)
        except asyncio.CancelledError:
            pass  # torn down at the end of the test
        finally:
            tasks.discard(task)

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    found.port = server.sockets[0].getsockname()[1]
    try:
        yield found
    finally:
        server.close()
        for task in list(tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 5)


@pytest.fixture
def hub_overrides() -> dict[str, Any]:
    return {"push_timeout_seconds": 1.0, "push_per_member": 2, "delivery_poll_seconds": 0.05}


def _worker(hub: Hub) -> DeliveryWorker:
    """A background worker that pushes over the network (no test transport)."""
    worker = DeliveryWorker(hub.settings, hub.context.sessions, hub.context.identity)
    hub.workers.append(worker)
    return worker


async def _deliveries(hub: Hub) -> dict[str, list[Delivery]]:
    async with hub.context.sessions() as session:
        rows = (await session.execute(select(Delivery))).scalars().all()
    found: dict[str, list[Delivery]] = {}
    for row in rows:
        found.setdefault(row.recipient, []).append(row)
    return found


async def _until(condition: Any, hub: Hub, what: str, rounds: int = 600) -> None:
    for _ in range(rounds):
        if await condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}; deliveries {await _deliveries(hub)}")


async def test_bad_endpoints_delay_no_one_are_bounded_and_retried(
    hub: Hub, endpoints: Endpoints
) -> None:
    sender = await hub.add(SENDER)
    for code in GOOD:
        await hub.add(code, mode="push", endpoint=endpoints.url("good", code))
    bad = {NEVER: "never", SLOW: "slow", REDIRECT: "redirect", HUGE: "huge"}
    for code, behaviour in bad.items():
        await hub.add(code, mode="push", endpoint=endpoints.url(behaviour, code))
    pkg = sender.package([*bad, *GOOD])
    assert (await hub.submit(sender, pkg)).status_code == 202
    _worker(hub).start()

    async def good_delivered() -> bool:
        rows = await _deliveries(hub)
        return all(rows[code][0].state == "delivered" for code in GOOD)

    await _until(good_delivered, hub, "every good recipient delivered")
    # the good ones were not held up: the slow endpoint has not answered yet
    assert not any(path.startswith("/slow/") for path in endpoints.answered)

    async def bad_attempted() -> bool:
        rows = await _deliveries(hub)
        return all(rows[code][0].last_error or rows[code][0].delivered_at for code in bad)

    await _until(bad_attempted, hub, "every bad endpoint's first attempt written")
    rows = await _deliveries(hub)
    for code in (NEVER, SLOW):
        line = rows[code][0]
        assert line.state == "queued" and line.last_error == "no answer within 1 s"
        assert line.next_attempt_at > line.created_at  # backs off on its own
    redirected = rows[REDIRECT][0]
    assert redirected.state == "queued" and redirected.last_error is not None
    assert redirected.last_error.startswith("HTTP 307 to http://localhost:")
    assert "(not followed)" in redirected.last_error
    assert endpoints.redirected_to == []
    huge = rows[HUGE][0]  # a 2xx is delivery; the 50 MB answer is not read
    assert huge.state == "delivered" and huge.member_receipt is None
    assert endpoints.huge_sent < HUGE_BYTES
    async with hub.context.sessions() as session:
        detail = await session.scalar(
            select(DeliveryAttempt.detail).where(DeliveryAttempt.delivery_id == huge.id)
        )
    assert detail == "answer over 65536 bytes: its receipt not read"


async def test_a_hanging_member_holds_few_connections_and_the_others_flow(
    hub: Hub, endpoints: Endpoints
) -> None:
    sender = await hub.add(SENDER)
    await hub.add(NEVER, mode="push", endpoint=endpoints.url("never", NEVER))
    await hub.add(GOOD[0], mode="push", endpoint=endpoints.url("good", GOOD[0]))
    for _ in range(12):
        assert (await hub.submit(sender, sender.package([NEVER]))).status_code == 202
    good = [sender.package([GOOD[0]]) for _ in range(6)]
    for pkg in good:
        assert (await hub.submit(sender, pkg)).status_code == 202
    _worker(hub).start()

    async def good_delivered() -> bool:
        rows = await _deliveries(hub)
        return len(rows[GOOD[0]]) == 6 and all(r.state == "delivered" for r in rows[GOOD[0]])

    await _until(good_delivered, hub, "the good member's six documents delivered")

    async def all_attempted() -> bool:
        return all(r.attempts >= 1 and r.last_error for r in (await _deliveries(hub))[NEVER])

    await _until(all_attempted, hub, "every push to the hanging member attempted")
    assert endpoints.most_open["never"] <= hub.settings.push_per_member
    for row in (await _deliveries(hub))[NEVER]:
        assert row.state == "queued" and row.last_error is not None
        assert row.last_error.startswith(("no answer within 1 s", "not sent: the endpoint"))
