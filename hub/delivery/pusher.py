"""One push over HTTP: the hub's bearer JWT, the bounded POST, and what the answer means.

Kept apart from the worker's scheduling so the rules of a single push (no
redirects followed, the answer read only so far, a member that just failed to
answer skipped for a moment) read in one place.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import orjson

from hub.delivery.fanout import Destinations, SendError
from hub.delivery.jobs import Job
from hub.identity import HubIdentity
from hub.protocol import PushAnswer
from hub.settings import HubSettings
from signing.jose import mint_token

__all__ = ["DOWN_SECONDS", "MAX_ANSWER_BYTES", "TOKEN_LIFETIME", "Pusher", "Result"]

TOKEN_LIFETIME = 300
MAX_ANSWER_BYTES = 64 * 1024
"""A member's answer to a push is read up to this (a receipt is a few KB)."""
DOWN_SECONDS = 2.0
"""After a push got no answer, the member's pushes already waiting in this process fail
at once for this long (each still backs off on its own schedule)."""


@dataclass
class Result:
    """What a member's endpoint answered to one push."""

    ok: bool
    detail: str | None = None
    receipt: str | None = None


class Pusher:
    """POSTs jobs to members with the hub's own bearer JWT (cached per member)."""

    def __init__(
        self, settings: HubSettings, identity: HubIdentity, destinations: Destinations
    ) -> None:
        self.settings = settings
        self.identity = identity
        self.destinations = destinations
        self._tokens: dict[str, tuple[str, float]] = {}
        self._down: dict[str, tuple[float, str]] = {}

    def _token(self, member: str) -> str:
        cached = self._tokens.get(member)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        token = mint_token(
            self.identity.key,
            self.identity.certificate,
            iss=self.settings.hub_id,
            aud=member,
            lifetime=TOKEN_LIFETIME,
        )
        self._tokens[member] = (token, time.monotonic() + TOKEN_LIFETIME - 60)
        return token

    async def post(self, job: Job) -> Result:
        """POST the job to its member, bounded: `push_timeout_seconds` from the moment a
        connection to its destination is free, redirects not followed, at most
        `MAX_ANSWER_BYTES` of the answer read."""
        if job.url is None:
            return Result(False, f"{job.member} has no push endpoint registered")
        if job.error is not None:
            return Result(False, job.error)
        down = self._down.get(job.member)
        if down is not None:
            if down[0] > time.monotonic():
                return Result(False, f"not sent: the endpoint failed just before ({down[1]})")
            del self._down[job.member]
        headers = {
            "Authorization": f"Bearer {self._token(job.member)}",
            "Content-Type": "application/json" if job.xml is None else "application/xml",
            **job.headers,
        }
        body = orjson.dumps(job.body) if job.xml is None else job.xml
        try:
            answer = await self.destinations.post(job.url, body, headers, MAX_ANSWER_BYTES)
        except SendError as exc:
            return self._unreachable(job, str(exc))
        if not 200 <= answer.status < 300:
            if 300 <= answer.status < 400:
                where = answer.location[:200]
                return Result(False, f"HTTP {answer.status} to {where} (not followed)")
            text = answer.content[:300].decode(errors="replace")
            return Result(False, f"HTTP {answer.status}: {text}")
        if not answer.complete:
            return Result(True, f"answer over {MAX_ANSWER_BYTES} bytes: its receipt not read")
        try:
            parsed = PushAnswer.model_validate_json(answer.content or b"{}")
        except ValueError:
            parsed = PushAnswer()
        return Result(True, None, parsed.receipt)

    def _unreachable(self, job: Job, detail: str) -> Result:
        """A push that got no answer: the member's other pushes queued behind it in this
        process fail at once for a moment instead of each waiting out its timeout."""
        self._down[job.member] = (time.monotonic() + DOWN_SECONDS, detail[:200])
        return Result(False, detail)
