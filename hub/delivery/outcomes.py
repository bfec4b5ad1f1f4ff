"""Writing what pushes came to: attempts, delivery and status rows, the event log.

The worker gathers finished pushes and hands a batch here inside one
transaction; each write is idempotent, so a batch retried after a lost commit
reply finds its attempts already recorded and adds nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.models import Delivery, DeliveryAttempt, StatusUpdateRow
from hub.delivery.jobs import Job
from hub.delivery.member_receipts import checked_receipt
from hub.delivery.outbox import RetryPolicy
from hub.delivery.pusher import Result
from hub.eventlog import chain as eventlog

__all__ = ["Outcome", "log_failed_push", "record_deliveries", "record_statuses"]

events = structlog.get_logger("lienthong.delivery")


@dataclass
class Outcome:
    """What one push came to, waiting to be written."""

    kind: str
    """`delivery` or `status`."""
    job: Job
    result: Result
    at: datetime


async def record_deliveries(
    session: AsyncSession,
    batch: list[Outcome],
    owner: str,
    retry: RetryPolicy,
    rng: random.Random,
) -> dict[int, str]:
    """Record push outcomes of documents leased by `owner`; each outcome's name by its id()."""
    rows = {
        d.id: d
        for d in (
            await session.execute(
                select(Delivery)
                .where(Delivery.id.in_([o.job.id for o in batch]), Delivery.lease_owner == owner)
                .order_by(Delivery.id)
                .with_for_update()
            )
        ).scalars()
    }
    names: dict[int, str] = {}
    for item in batch:
        job, result = item.job, item.result
        delivery = rows.get(job.id)
        if delivery is not None and delivery.attempts != job.attempt:
            delivery = None
        names[id(item)] = "delivered" if result.ok else "error"
        if delivery is None and await _attempt_recorded(session, job):
            continue
        receipt, detail = result.receipt, result.detail
        if result.ok:
            receipt, refused = await checked_receipt(
                session, job.member, job.document_id, job.id, result.receipt
            )
            detail = refused or detail
        if delivery is not None:
            settled = _settle(delivery, item, receipt, detail, retry, rng)
            names[id(item)] = settled or names[id(item)]
        await _record_attempt(session, job, item.at, names[id(item)], detail)
    return names


def _settle(
    delivery: Delivery,
    item: Outcome,
    receipt: str | None,
    detail: str | None,
    retry: RetryPolicy,
    rng: random.Random,
) -> str | None:
    """Release the lease and move the delivery on; "failed" when its retries ran out."""
    job, now = item.job, item.at
    delivery.leased_until = None
    delivery.lease_owner = None
    if item.result.ok:
        delivery.state = "delivered" if delivery.state == "queued" else delivery.state
        delivery.delivered_at = delivery.delivered_at or now
        delivery.member_receipt = receipt
        delivery.last_error = None
        return None
    delivery.last_error = (detail or "")[:1000]
    if retry.exhausted(job.attempt, job.created_at, now):
        if delivery.state == "queued":
            delivery.state = "failed"
        return "failed"
    delivery.next_attempt_at = now + timedelta(seconds=retry.delay(job.attempt, rng))
    return None


async def _record_attempt(
    session: AsyncSession, job: Job, now: datetime, outcome: str, detail: str | None
) -> None:
    """The attempt's row and its event-log entry."""
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
        {"delivery_id": job.id, "recipient": job.member, "attempt": job.attempt, "detail": detail},
    )


async def record_statuses(
    session: AsyncSession, batch: list[Outcome], retry: RetryPolicy, rng: random.Random
) -> None:
    """Record status-push outcomes; a row pushed again meanwhile is left alone."""
    rows = {
        str(row.id): row
        for row in (
            await session.execute(
                select(StatusUpdateRow)
                .where(
                    StatusUpdateRow.id.in_([int(o.job.id) for o in batch]),
                    StatusUpdateRow.push_state == "pending",
                )
                .order_by(StatusUpdateRow.id)
                .with_for_update()
            )
        ).scalars()
    }
    for item in batch:
        job, result, now = item.job, item.result, item.at
        row = rows.get(job.id)
        if row is None or row.push_attempts != job.attempt:
            continue
        row.leased_until = None
        if result.ok:
            row.push_state = "sent"
        elif retry.exhausted(job.attempt, job.created_at, now):
            row.push_state = "failed"
        else:
            delay = retry.delay(job.attempt, rng)
            row.next_attempt_at = now + timedelta(seconds=delay)


def log_failed_push(job: Job, kind: str, outcome: str | None, error: str | None) -> None:
    """One structured line per push attempt that did not deliver: `error` will be retried,
    `failed` gave up (an operator redrives it)."""
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


async def _attempt_recorded(session: AsyncSession, job: Job) -> bool:
    """Whether this attempt of the job is recorded already (its commit went through)."""
    found = await session.scalar(
        select(func.count())
        .select_from(DeliveryAttempt)
        .where(DeliveryAttempt.delivery_id == job.id, DeliveryAttempt.attempt == job.attempt)
    )
    return bool(found)
