"""The in-process hub's front door: a bounded number of requests at once, crashes logged.

In-process, every member's requests reach the hub app through one
`httpx.ASGITransport` with no server in between, so 94 nodes can have
hundreds of requests inside the hub at once. On the embedded SQLite every
one of them wants the database's single write lock; past a handful of
contenders, waiters starve in SQLite's busy handler until "database is
locked" turns into a 500. A real server bounds this with its workers; the
gate does it here with a FIFO semaphore. It also logs the traceback of an
unhandled exception, which `raise_app_exceptions=False` would otherwise drop.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger("member_node.simulation.hub")


class HubGate:
    """Wraps an ASGI app: at most `limit` HTTP requests inside it at a time (None: any)."""

    def __init__(self, app: ASGIApp, limit: int | None = None) -> None:
        if limit is not None and limit < 1:
            raise ValueError("the gate needs a limit of at least 1")
        self.app = app
        self.limit = limit
        self._slots = asyncio.Semaphore(limit) if limit is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._slots is None:
            await self._logged(scope, receive, send)
            return
        async with self._slots:
            await self._logged(scope, receive, send)

    async def _logged(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except Exception:
            log.exception("hub: unhandled error on %s %s", scope["method"], scope["path"])
            raise
