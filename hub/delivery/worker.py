"""The push worker: carries documents to `{endpoint}/v1/inbox` and statuses to `/v1/status`.

Each round claims a batch of due jobs (see `hub.delivery.outbox`), sends them
concurrently with the hub's own bearer JWT, and records each result: a 2xx
is delivery (the member's signed delivery receipt, if any, is kept as proof);
anything else is retried with backoff until the attempts or the age run out,
then the job is `failed` and waits for an operator's redrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

import httpx
import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.models import Delivery, DeliveryAttempt, Document, StatusUpdateRow
from hub.delivery.member_receipts import checked_receipt
from hub.delivery.outbox import (
    RetryPolicy,
    claim_deliveries,
    claim_status_pushes,
    edxml_delivery_headers,
    edxml_status_headers,
    inbox_delivery,
    load_packages,
)
from hub.eventlog import chain as eventlog
from hub.identity import HubIdentity
from hub.ops import metrics
from hub.protocol import PushAnswer
from hub.settings import HubSettings
from hub.tracking import export
from hub.tracking.statuses import edxml_statuses, status_update
from registry.db import utcnow
from registry.models import Member
from registry.problems import Problem
from signing.jose import mint_token

log = logging.getLogger(__name__)
events = structlog.get_logger("lienthong.delivery")
TOKEN_LIFETIME = 300
RECORD_RETRY_FIRST_SECONDS = 0.25
RECORD_RETRY_MAX_SECONDS = 5.0
T = TypeVar("T")


@dataclass
class Job:
    """One claimed push: where it goes and what it carries."""

    id: str
    attempt: int
    member: str
    url: str | None
    created_at: datetime
    body: dict[str, Any]
    document_id: str
    xml: bytes | None = None
    """For an edXML member: the body sent instead of `body`, as `application/xml`."""
    headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    """Why the job cannot be sent at all (it fails this attempt without a request)."""


@dataclass
class Result:
    ok: bool
    detail: str | None = None
    receipt: str | None = None


class DeliveryWorker:
    """Pushes due deliveries and statuses; run one or many per database."""

    def __init__(
        self,
        settings: HubSettings,
        sessions: async_sessionmaker[AsyncSession],
        identity: HubIdentity,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        owner: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.identity = identity
        self.retry = RetryPolicy.from_settings(settings)
        self.owner = owner or f"worker-{uuid.uuid4().hex[:12]}"
        self.rng = rng or random.Random()
        self._client = httpx.AsyncClient(transport=transport, timeout=settings.push_timeout_seconds)
        self._tokens: dict[str, tuple[str, float]] = {}
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------

    def wake(self) -> None:
        """New work was committed: look now rather than at the next poll."""
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name=f"delivery-{self.owner}")

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Finish the round in flight, then stop.

        A stop flag, not cancellation alone: a cancellation that lands inside a
        database call can be swallowed by the driver, and a loop that only
        waits to be cancelled would then run forever (seen on Python 3.11).
        """
        task, self._task = self._task, None
        self._stopping = True
        self._wake.set()
        if task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(task), grace_seconds)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self._client.aclose()

    async def run(self) -> None:
        """Work until stopped; a failing round is logged and retried at the next poll."""
        while not self._stopping:
            try:
                busy = await self.run_once() >= self.settings.push_batch_size
            except Exception:
                log.exception("delivery round failed")
                busy = False
            if not busy and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.settings.delivery_poll_seconds)
                self._wake.clear()

    async def run_once(self) -> int:
        """One round: claim and push a batch of documents and one of statuses."""
        deliveries = await self._claim_deliveries()
        statuses = await self._claim_statuses()
        await asyncio.gather(
            *(self._deliver(job) for job in deliveries),
            *(self._send_status(job) for job in statuses),
        )
        return len(deliveries) + len(statuses)

    # -- documents ----------------------------------------------------------------

    async def _claim_deliveries(self) -> list[Job]:
        now = utcnow()
        async with self.sessions() as session:
            ids = await claim_deliveries(
                session,
                self.owner,
                now,
                self.settings.push_lease_seconds,
                self.settings.push_batch_size,
            )
            if not ids:
                await session.commit()
                return []
            rows = (
                await session.execute(
                    select(Delivery, Document, Member.endpoint, Member.wire_format)
                    .join(Document, Document.id == Delivery.document_id)
                    .join(Member, Member.code == Delivery.recipient)
                    .where(Delivery.id.in_(ids))
                )
            ).all()
            packages = await load_packages(session, {doc.id: doc.package for _, doc, _, _ in rows})
            exports: dict[str, bytes | Problem] = {}
            for _, doc, _, wire_format in rows:
                if wire_format == "edxml" and doc.id not in exports:
                    try:
                        exports[doc.id] = await export.edxml_export(
                            session, doc, self.identity, self.settings.hub_id, at=now,
                            package=packages[doc.id],
                        )  # fmt: skip
                    except Problem as exc:  # recorded as the attempt's error, retried
                        exports[doc.id] = exc
            await session.commit()
        jobs = []
        for delivery, document, endpoint, wire_format in rows:
            message = inbox_delivery(delivery, document, packages[document.id])
            found = exports.get(document.id) if wire_format == "edxml" else None
            error = None
            if isinstance(found, Problem):
                error, found = f"cannot write edXML: {found.code}: {found.detail}", b""
            jobs.append(
                Job(
                    id=delivery.id,
                    attempt=delivery.attempts,
                    member=delivery.recipient,
                    url=_url(endpoint, "/v1/inbox"),
                    created_at=delivery.created_at,
                    body={}
                    if found is not None
                    else message.model_dump(mode="json", exclude_unset=True),
                    document_id=document.id,
                    xml=found,
                    headers={} if found is None else edxml_delivery_headers(message),
                    error=error,
                )
            )
        return jobs

    async def _deliver(self, job: Job) -> None:
        result = await self._post(job)
        now = utcnow()
        outcome = await self._until_recorded(
            job, lambda: self._record_delivery(job, result, now), ok=result.ok
        )
        if outcome is not None:
            metrics.delivery_attempted(outcome, "push", job.created_at, now)
        if not result.ok:
            _log_failed_push(job, "document", outcome, result.detail)

    async def _until_recorded(
        self, job: Job, write: Callable[[], Awaitable[T]], *, ok: bool
    ) -> T | None:
        """Run `write` (one transaction) until it commits, with backoff, within the lease.

        What the member answered is known only here: if writing it fails (the
        database restarting, say), a delivered job would otherwise look queued
        until its lease ran out and then be pushed again. So the write is
        retried for as long as the lease is this worker's; past that the job
        is another worker's, which pushes it again (members deduplicate by id).
        """
        deadline = time.monotonic() + self.settings.push_lease_seconds * 0.9
        delay = RECORD_RETRY_FIRST_SECONDS
        while True:
            try:
                return await write()
            except Exception as exc:
                if time.monotonic() + delay > deadline:
                    log.error(
                        "could not record the outcome of push %s (attempt %d, %s); "
                        "it will be pushed again once its lease runs out",
                        job.id,
                        job.attempt,
                        "answered 2xx" if ok else "not delivered",
                        exc_info=exc,
                    )
                    return None
                log.warning(
                    "recording the outcome of push %s failed (%s: %s); retrying in %.1f s",
                    job.id,
                    type(exc).__name__,
                    exc,
                    delay,
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECORD_RETRY_MAX_SECONDS)

    async def _record_delivery(self, job: Job, result: Result, now: datetime) -> str:
        """Record one push's outcome (idempotent: a retried write after a lost commit reply
        finds its attempt already recorded and adds nothing)."""
        async with self.sessions() as session:
            delivery = (
                await session.execute(
                    select(Delivery)
                    .where(
                        Delivery.id == job.id,
                        Delivery.lease_owner == self.owner,
                        Delivery.attempts == job.attempt,
                    )
                    .with_for_update()
                )
            ).scalar_one_or_none()
            outcome = "delivered" if result.ok else "error"
            if delivery is None and await _attempt_recorded(session, job):
                await session.rollback()
                return outcome
            receipt, detail = result.receipt, result.detail
            if result.ok:
                receipt, detail = await checked_receipt(
                    session, job.member, job.document_id, job.id, result.receipt
                )
            if delivery is not None:
                delivery.leased_until = None
                delivery.lease_owner = None
                if result.ok:
                    delivery.state = "delivered" if delivery.state == "queued" else delivery.state
                    delivery.delivered_at = delivery.delivered_at or now
                    delivery.member_receipt = receipt
                    delivery.last_error = None
                else:
                    delivery.last_error = (detail or "")[:1000]
                    if self.retry.exhausted(job.attempt, job.created_at, now):
                        outcome = "failed"
                        if delivery.state == "queued":
                            delivery.state = "failed"
                    else:
                        delay = self.retry.delay(job.attempt, self.rng)
                        delivery.next_attempt_at = now + timedelta(seconds=delay)
            session.add(
                DeliveryAttempt(
                    delivery_id=job.id,
                    attempt=job.attempt,
                    started_at=now,
                    outcome=outcome,
                    detail=detail[:1000] if detail else None,
                )
            )
            await eventlog.record(
                session,
                f"delivery.{outcome}",
                job.document_id,
                {
                    "delivery_id": job.id,
                    "recipient": job.member,
                    "attempt": job.attempt,
                    "detail": detail,
                },
            )
            await session.commit()
        return outcome

    # -- statuses -----------------------------------------------------------------

    async def _claim_statuses(self) -> list[Job]:
        now = utcnow()
        async with self.sessions() as session:
            ids = await claim_status_pushes(
                session, now, self.settings.push_lease_seconds, self.settings.push_batch_size
            )
            if not ids:
                await session.commit()
                return []
            rows = (
                await session.execute(
                    select(StatusUpdateRow, Member.endpoint, Member.wire_format)
                    .join(Member, Member.code == StatusUpdateRow.audience)
                    .where(StatusUpdateRow.id.in_(ids))
                )
            ).all()
            messages = await edxml_statuses(
                session, [row for row, _, wire_format in rows if wire_format == "edxml"]
            )
            await session.commit()
        return [
            Job(
                id=str(row.id),
                attempt=row.push_attempts,
                member=row.audience,
                url=_url(endpoint, "/v1/status"),
                created_at=row.push_since or row.recorded_at,
                body={} if row.id in messages else status_update(row).model_dump(mode="json"),
                document_id=row.document_id,
                xml=messages.get(row.id),
                headers={} if row.id not in messages else edxml_status_headers(status_update(row)),
            )
            for row, endpoint, _ in rows
        ]

    async def _send_status(self, job: Job) -> None:
        result = await self._post(job)
        now = utcnow()
        outcome = await self._until_recorded(
            job, lambda: self._record_status(job, result, now), ok=result.ok
        )
        if not result.ok:
            _log_failed_push(job, "status", outcome, result.detail)

    async def _record_status(self, job: Job, result: Result, now: datetime) -> str:
        async with self.sessions() as session:
            row = (
                await session.execute(
                    select(StatusUpdateRow)
                    .where(
                        StatusUpdateRow.id == int(job.id),
                        StatusUpdateRow.push_attempts == job.attempt,
                        StatusUpdateRow.push_state == "pending",
                    )
                    .with_for_update()
                )
            ).scalar_one_or_none()
            outcome = "delivered" if result.ok else "error"
            if row is not None:
                row.leased_until = None
                if result.ok:
                    row.push_state = "sent"
                elif self.retry.exhausted(job.attempt, job.created_at, now):
                    row.push_state = "failed"
                    outcome = "failed"
                else:
                    delay = self.retry.delay(job.attempt, self.rng)
                    row.next_attempt_at = now + timedelta(seconds=delay)
            await session.commit()
        return outcome

    # -- HTTP -----------------------------------------------------------------------

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

    async def _post(self, job: Job) -> Result:
        if job.url is None:
            return Result(False, f"{job.member} has no push endpoint registered")
        if job.error is not None:
            return Result(False, job.error)
        try:
            headers = {"Authorization": f"Bearer {self._token(job.member)}", **job.headers}
            if job.xml is not None:
                headers["Content-Type"] = "application/xml"
                response = await self._client.post(job.url, content=job.xml, headers=headers)
            else:
                response = await self._client.post(job.url, json=job.body, headers=headers)
        except httpx.HTTPError as exc:
            return Result(False, f"{type(exc).__name__}: {exc}"[:1000])
        if not response.is_success:
            return Result(False, f"HTTP {response.status_code}: {response.text[:300]}")
        try:
            answer = PushAnswer.model_validate_json(response.content or b"{}")
        except ValueError:
            answer = PushAnswer()
        return Result(True, None, answer.receipt)


@asynccontextmanager
async def running(worker: DeliveryWorker | None) -> AsyncIterator[None]:
    """Run `worker` (if any) for the duration of the block; stop it on the way out."""
    if worker is None:
        yield
        return
    worker.start()
    try:
        yield
    finally:
        await worker.stop()


def _log_failed_push(job: Job, kind: str, outcome: str | None, error: str | None) -> None:
    """One structured line per push attempt that did not deliver: `error` will be retried,
    `failed` gave up (an operator redrives it); `unrecorded` when the outcome could not be
    written (the job is pushed again after its lease)."""
    ids = {"delivery_id": job.id} if kind == "document" else {"status_id": job.id}
    events.warning(
        "push failed",
        kind=kind,
        recipient=job.member,
        **ids,
        document_id=job.document_id,
        attempt=job.attempt,
        outcome=outcome or "unrecorded",
        error=error,
    )


def _url(endpoint: str | None, path: str) -> str | None:
    return None if not endpoint else endpoint.rstrip("/") + path


async def _attempt_recorded(session: AsyncSession, job: Job) -> bool:
    """Whether this attempt of the job is recorded already (its commit went through)."""
    found = await session.scalar(
        select(func.count())
        .select_from(DeliveryAttempt)
        .where(DeliveryAttempt.delivery_id == job.id, DeliveryAttempt.attempt == job.attempt)
    )
    return bool(found)
