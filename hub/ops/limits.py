"""Protection from slow and runaway clients: stalled request bodies and per-member rates.

`BodyTimeoutMiddleware` answers `408` (problem+json, `Connection: close`) when a
request body sends nothing for `body_timeout_seconds`: a client that stalls
mid-upload would otherwise hold a connection and its buffer for ever.

`MemberRateLimit` is an admission check (`registry.member_auth`) run on every
authenticated member request: each member may make `rate_limits[kind]`
requests per second, in windows of `rate_limit_burst_seconds` (so a burst of
that many seconds' worth is allowed, like a token bucket of that depth); over
it the answer is `429` with `Retry-After`. It uses the `limits` library's
sliding-window counter in memory (two counters per member, whatever its
rate), so the limit is per hub process.
"""

from __future__ import annotations

import asyncio
import math
import time

import structlog
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.ops import metrics
from registry.member_auth import AuthenticatedMember
from registry.problems import PROBLEM_MEDIA_TYPE, Problem

log = structlog.get_logger("lienthong.limits")


class BodyTimeoutMiddleware:
    """Answer 408 and close the connection when a request body stalls past `timeout`."""

    def __init__(self, app: ASGIApp, timeout: float) -> None:
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body_done = False
        timed_out = False
        answered = False

        async def timed_receive() -> Message:
            nonlocal body_done, timed_out
            if body_done or timed_out:
                return await receive() if not timed_out else {"type": "http.disconnect"}
            try:
                async with asyncio.timeout(self.timeout):
                    message = await receive()
            except TimeoutError:
                timed_out = True
                # the app sees a client that went away; its answer is replaced below
                return {"type": "http.disconnect"}
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def send_unless_timed_out(message: Message) -> None:
            nonlocal answered
            if timed_out:
                if not answered:
                    answered = True
                    await self._answer_408(scope, receive, send)
                return
            await send(message)

        try:
            await self.app(scope, timed_receive, send_unless_timed_out)
        except Exception:
            if not timed_out:
                raise
        if timed_out and not answered:
            await self._answer_408(scope, receive, send)

    async def _answer_408(self, scope: Scope, receive: Receive, send: Send) -> None:
        metrics.body_timed_out()
        log.warning("body_timeout", path=scope.get("path"), timeout=self.timeout)
        problem = Problem(
            408,
            "request_timeout",
            f"the request body stalled for more than {self.timeout:g} s",
            headers={"Connection": "close"},
        )
        body = problem.to_dict()
        request_id = scope.get("state", {}).get("request_id")
        if isinstance(request_id, str):
            body["request_id"] = request_id
        response = JSONResponse(
            body, status_code=408, media_type=PROBLEM_MEDIA_TYPE, headers=problem.headers
        )
        await response(scope, receive, send)


class MemberRateLimit:
    """Per-member request rate by member kind; refuses with 429 and `Retry-After`."""

    def __init__(self, per_second: dict[str, float], burst_seconds: int = 2) -> None:
        self.per_second = per_second
        self.burst_seconds = burst_seconds
        self._limiter = SlidingWindowCounterRateLimiter(MemoryStorage())
        self._items: dict[str, RateLimitItem | None] = {}

    def _item(self, kind: str) -> RateLimitItem | None:
        if kind not in self._items:
            rate = self.per_second.get(kind, self.per_second.get("default", 0.0))
            self._items[kind] = (
                RateLimitItemPerSecond(
                    max(1, math.ceil(rate * self.burst_seconds)), self.burst_seconds
                )
                if rate > 0
                else None
            )
        return self._items[kind]

    def __call__(self, member: AuthenticatedMember) -> None:
        item = self._item(member.member.kind)
        if item is None or self._limiter.hit(item, member.code):
            return
        reset_at = self._limiter.get_window_stats(item, member.code).reset_time
        retry_after = max(1, math.ceil(reset_at - time.time()))
        metrics.rate_limited(member.code)
        raise Problem(
            429,
            "rate_limited",
            f"{member.code} sends more than {item.amount} requests per "
            f"{self.burst_seconds} s; retry after {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )
