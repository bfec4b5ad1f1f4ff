"""The push fan-out: many pushes in flight, none waiting for another.

`FanOut` keeps up to `limit` pushes running as independent tasks and at most
`per_member` of them for one member, so a delivery round never waits for its
slowest recipient: the worker claims more jobs as soon as a slot frees, and a
member whose pushes hang (a dead endpoint) is left out of the next claims
instead of filling the slots (its own jobs time out and back off alone).

`Destinations` holds one HTTP client per origin (scheme, host, port), each with
a small pool of kept-alive connections and a FIFO slot gate of the same size,
so a push waits for a connection of its own destination only, and the timeout
of a push counts from the moment it has one. One client per origin rather
than one shared client: httpx's pool scans its connections on every request,
which degrades with hundreds of them in one pool (encode/httpx#3215).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

log = logging.getLogger(__name__)


class FanOut:
    """Runs pushes as tasks, bounded in total and per member."""

    def __init__(self, limit: int, per_member: int, on_free: Callable[[], None]) -> None:
        self.limit = max(1, limit)
        self.per_member = max(1, per_member)
        self._on_free = on_free
        self._tasks: set[asyncio.Task[None]] = set()
        self._by_member: dict[str, int] = {}
        self._gates: dict[str, asyncio.Semaphore] = {}

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def free(self) -> int:
        """How many more pushes may start now."""
        return max(0, self.limit - len(self._tasks))

    def saturated(self) -> list[str]:
        """Members with `per_member` pushes started (sending or waiting their turn): the
        next claims leave them out, so one member's backlog cannot fill the slots."""
        return sorted(m for m, n in self._by_member.items() if n >= self.per_member)

    def start(self, member: str, push: Callable[[], Awaitable[None]]) -> None:
        """Run `push()` for `member` in the background, at most `per_member` of a member's
        at once (the others wait their turn); its slot frees when it ends."""
        self._by_member[member] = self._by_member.get(member, 0) + 1
        gate = self._gates.get(member)
        if gate is None:
            gate = self._gates[member] = asyncio.Semaphore(self.per_member)

        async def gated() -> None:
            async with gate:
                await push()

        task: asyncio.Task[None] = asyncio.ensure_future(gated())
        self._tasks.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._tasks.discard(finished)
            left = self._by_member.get(member, 1) - 1
            if left > 0:
                self._by_member[member] = left
            else:
                self._by_member.pop(member, None)
                self._gates.pop(member, None)
            if not finished.cancelled() and finished.exception() is not None:
                log.error("push task failed", exc_info=finished.exception())
            self._on_free()

        task.add_done_callback(done)

    async def drain(self, grace_seconds: float) -> None:
        """Wait for the pushes in flight (at most `grace_seconds`), then cancel the rest."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=grace_seconds)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


@dataclass
class Destination:
    """One origin's client and the gate that bounds its requests in flight."""

    client: httpx.AsyncClient
    gate: asyncio.Semaphore
    users: int = field(default=0)


class Destinations:
    """HTTP clients per origin, kept alive; the least recently used idle ones are closed."""

    def __init__(
        self,
        *,
        connections: int,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None = None,
        max_idle_origins: int = 1024,
    ) -> None:
        self.connections = max(1, connections)
        self.timeout = timeout
        self.transport = transport
        self.max_idle_origins = max_idle_origins
        self._by_origin: OrderedDict[str, Destination] = OrderedDict()
        self._closing: set[asyncio.Task[None]] = set()

    def get(self, url: str) -> Destination:
        origin = _origin(url)
        found = self._by_origin.get(origin)
        if found is None:
            found = Destination(self._client(), asyncio.Semaphore(self.connections))
            self._by_origin[origin] = found
            self._evict()
        else:
            self._by_origin.move_to_end(origin)
        return found

    def _client(self) -> httpx.AsyncClient:
        limits = httpx.Limits(
            max_connections=self.connections,
            max_keepalive_connections=self.connections,
            keepalive_expiry=30.0,
        )
        return httpx.AsyncClient(
            transport=self.transport,
            timeout=httpx.Timeout(self.timeout),
            limits=limits,
            follow_redirects=False,
            trust_env=False,
        )

    def _evict(self) -> None:
        excess = len(self._by_origin) - self.max_idle_origins
        for origin in list(self._by_origin):
            if excess <= 0:
                break
            destination = self._by_origin[origin]
            if destination.users == 0:
                del self._by_origin[origin]
                self._close_later(destination.client)
                excess -= 1

    def _close_later(self, client: httpx.AsyncClient) -> None:
        if self.transport is not None:  # a shared transport outlives each client
            return
        task = asyncio.ensure_future(client.aclose())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def aclose(self) -> None:
        clients = [d.client for d in self._by_origin.values()]
        self._by_origin.clear()
        if self.transport is None:
            for client in clients:
                with contextlib.suppress(Exception):
                    await client.aclose()
        else:
            with contextlib.suppress(Exception):
                await self.transport.aclose()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()
