"""The push worker: carries documents to `{endpoint}/v1/inbox` and statuses to `/v1/status`.

The worker claims due jobs (see `hub.delivery.outbox`) as long as it has
room for them and sends each as its own task with the hub's own bearer JWT
(`hub.delivery.fanout`: bounded in total, per member and per destination, so
no push waits for another). Outcomes are written in batches, one transaction
for whatever finished meanwhile: a 2xx is delivery (the member's signed
delivery receipt, if any, is kept as proof); anything else is retried with
backoff until the attempts or the age run out, then the job is `failed` and
waits for an operator's redrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TypeVar

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.delivery.fanout import Destinations, FanOut
from hub.delivery.jobs import Job, JobSource, claim_jobs
from hub.delivery.outbox import RetryPolicy
from hub.delivery.outcomes import Outcome, log_failed_push, record_deliveries, record_statuses
from hub.delivery.pusher import Pusher, Result
from hub.identity import HubIdentity
from hub.ops import metrics
from hub.settings import HubSettings
from registry.db import utcnow

__all__ = ["RECORD_BATCH", "DeliveryWorker", "running"]

log = logging.getLogger(__name__)
RECORD_RETRY_FIRST_SECONDS = 0.25
RECORD_RETRY_MAX_SECONDS = 5.0
RECORD_BATCH = 256
"""Outcomes written per transaction at most."""
T = TypeVar("T")

_STOP = Outcome("stop", Job("", 0, "", None, datetime.min, {}, ""), Result(False), datetime.min)


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
        self.jobs = JobSource(self.owner, settings, identity)
        self.rng = rng or random.Random()
        self._destinations = Destinations(
            connections=settings.push_connections_per_host,
            timeout=settings.push_timeout_seconds,
            transport=transport,
        )
        self._pusher = Pusher(settings, identity, self._destinations)
        self._fanout = FanOut(settings.push_concurrency, settings.push_per_member, self._slot_freed)
        self._outcomes: asyncio.Queue[Outcome] = asyncio.Queue()
        self._wake = asyncio.Event()
        self._more_waiting = False
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
        """Finish the pushes in flight and write their outcomes, then stop.

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
        await self._destinations.aclose()

    async def run(self) -> None:
        """Claim and push until stopped; a failing claim is logged and retried at the next poll."""
        recorder = asyncio.create_task(self._record_forever(), name=f"outcomes-{self.owner}")
        try:
            while not self._stopping:
                self._wake.clear()
                try:
                    more = await self._dispatch()
                except Exception:
                    log.exception("delivery round failed")
                    more = False
                if not more and not self._stopping:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(
                            self._wake.wait(), self.settings.delivery_poll_seconds
                        )
        finally:
            try:
                await self._fanout.drain(self.settings.push_timeout_seconds)
                await self._outcomes.put(_STOP)
                with contextlib.suppress(Exception):
                    await recorder
            finally:
                if not recorder.done():  # cancelled meanwhile: what is unwritten is re-pushed
                    recorder.cancel()

    async def _dispatch(self) -> bool:
        """Claim as many due jobs as there is room for and start them; whether more may wait."""
        free = self._fanout.free()
        if free == 0:
            return False  # a finishing push wakes the loop
        limit = min(free, self.settings.push_batch_size)
        exclude = self._fanout.saturated()
        statuses, deliveries = await claim_jobs(
            self.sessions, self.jobs, max(1, limit // 4), limit, exclude
        )
        for job, send in [*((j, self._send_delivery) for j in deliveries),
                          *((j, self._send_status) for j in statuses)]:  # fmt: skip
            self._fanout.start(job.member, functools.partial(send, job))
        self._more_waiting = len(deliveries) + len(statuses) >= limit or bool(exclude)
        return len(deliveries) + len(statuses) >= limit

    def _slot_freed(self) -> None:
        if self._more_waiting:
            self._wake.set()

    async def run_once(self) -> int:
        """One round, start to end: claim a batch of documents and one of statuses, push
        them all, write the outcomes. How many jobs it handled."""
        batch = self.settings.push_batch_size
        statuses, deliveries = await claim_jobs(self.sessions, self.jobs, batch, 2 * batch, [])
        outcomes = await asyncio.gather(
            *(self._push(job, "delivery") for job in deliveries),
            *(self._push(job, "status") for job in statuses),
        )
        if outcomes:
            await self._write(list(outcomes))
        return len(deliveries) + len(statuses)

    async def _send_delivery(self, job: Job) -> None:
        await self._outcomes.put(await self._push(job, "delivery"))

    async def _send_status(self, job: Job) -> None:
        await self._outcomes.put(await self._push(job, "status"))

    async def _push(self, job: Job, kind: str) -> Outcome:
        result = await self._pusher.post(job)
        return Outcome(kind, job, result, utcnow())

    # -- outcomes -----------------------------------------------------------------

    async def _record_forever(self) -> None:
        """Write outcomes as they come, everything that finished meanwhile in one batch."""
        while True:
            first = await self._outcomes.get()
            batch = [first]
            while len(batch) < RECORD_BATCH and not self._outcomes.empty():
                batch.append(self._outcomes.get_nowait())
            stop = any(o is _STOP for o in batch)
            batch = [o for o in batch if o is not _STOP]
            if batch:
                try:
                    await self._write(batch)
                except Exception:
                    log.exception("writing push outcomes failed")
            if stop:
                return

    async def _write(self, batch: list[Outcome]) -> None:
        """Write `batch` (one transaction, retried until it commits), then count it."""
        outcomes = await self._until_recorded(batch, lambda: self._record(batch))
        if outcomes is None:
            return
        for item, outcome in zip(batch, outcomes, strict=True):
            if item.kind == "delivery":
                metrics.delivery_attempted(outcome, "push", item.job.created_at, item.at)
            if not item.result.ok:
                kind = "document" if item.kind == "delivery" else "status"
                log_failed_push(item.job, kind, outcome, item.result.detail)

    async def _until_recorded(
        self, batch: list[Outcome], write: Callable[[], Awaitable[T]]
    ) -> T | None:
        """Run `write` (one transaction) until it commits, with backoff, within the lease.

        What the members answered is known only here: if writing it fails (the
        database restarting, say), a delivered job would otherwise look queued
        until its lease ran out and then be pushed again. So the write is
        retried for as long as the leases are this worker's; past that the jobs
        are another worker's, which pushes them again (members deduplicate by id).
        """
        deadline = time.monotonic() + self.settings.push_lease_seconds * 0.9
        delay = RECORD_RETRY_FIRST_SECONDS
        while True:
            try:
                return await write()
            except Exception as exc:
                if time.monotonic() + delay > deadline:
                    log.error(
                        "could not record the outcome of %d pushes (%s); they will be "
                        "pushed again once their leases run out",
                        len(batch),
                        ", ".join(
                            f"{o.job.id} attempt {o.job.attempt} "
                            + ("answered 2xx" if o.result.ok else "not delivered")
                            for o in batch[:10]
                        ),
                        exc_info=exc,
                    )
                    return None
                log.warning(
                    "recording the outcome of %d pushes failed (%s: %s); retrying in %.1f s",
                    len(batch),
                    type(exc).__name__,
                    exc,
                    delay,
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECORD_RETRY_MAX_SECONDS)

    async def _record(self, batch: list[Outcome]) -> list[str]:
        """Record a batch of outcomes in one transaction; each one's outcome name."""
        async with self.sessions() as session:
            deliveries = [o for o in batch if o.kind == "delivery"]
            statuses = [o for o in batch if o.kind == "status"]
            names = {}
            if deliveries:
                names.update(
                    await record_deliveries(session, deliveries, self.owner, self.retry, self.rng)
                )
            if statuses:
                await record_statuses(session, statuses, self.retry, self.rng)
            await session.commit()
        return [names.get(id(o), "sent") for o in batch]


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
