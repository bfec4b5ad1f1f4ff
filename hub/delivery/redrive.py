"""Requeueing what failed: a delivery, every failed delivery, or the failed status pushes.

Operators call these from the admin API, the dashboard and `lienthong hub
redrive`; each requeue gets a fresh round of attempts from now and is
written to the event log.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.models import Delivery, StatusUpdateRow
from hub.db.notify import announce, inbox_key
from hub.eventlog import chain as eventlog
from registry.db import utcnow
from registry.models import Member
from registry.problems import Problem

__all__ = ["redrive", "redrive_failed", "redrive_status_pushes"]


async def redrive(sessions: async_sessionmaker[AsyncSession], delivery_id: str) -> Delivery:
    """Requeue a `failed` delivery for a fresh round of attempts (operators)."""
    now = utcnow()
    async with sessions() as session:
        delivery = (
            await session.execute(
                select(Delivery).where(Delivery.id == delivery_id).with_for_update()
            )
        ).scalar_one_or_none()
        if delivery is None:
            raise Problem(404, "delivery_not_found", f"no delivery {delivery_id}")
        if delivery.state != "failed":
            raise Problem(
                409,
                "delivery_not_failed",
                f"delivery {delivery_id} is {delivery.state}, not failed",
            )
        delivery.state = "queued"
        delivery.attempts = 0
        delivery.created_at = now
        delivery.next_attempt_at = now
        delivery.leased_until = None
        delivery.lease_owner = None
        await eventlog.record(
            session,
            "delivery.redriven",
            delivery.document_id,
            {"delivery_id": delivery.id, "recipient": delivery.recipient},
        )
        await announce(session, [inbox_key(delivery.recipient)])
        await session.commit()
        return delivery


async def redrive_status_pushes(
    sessions: async_sessionmaker[AsyncSession], audience: str | None = None
) -> int:
    """Requeue `failed` status pushes (all, or one member's) for a fresh round of attempts.

    The round's age limit counts from now; the statuses keep their times and
    their place in the member's stream.
    """
    now = utcnow()
    async with sessions() as session:
        if audience is not None:
            known = await session.scalar(select(Member.code).where(Member.code == audience))
            if known is None:
                raise Problem(404, "member_not_found", f"no member {audience}")
        query = select(StatusUpdateRow).where(StatusUpdateRow.push_state == "failed")
        if audience is not None:
            query = query.where(StatusUpdateRow.audience == audience)
        rows = list((await session.execute(query.with_for_update())).scalars())
        for row in rows:
            row.push_state = "pending"
            row.push_attempts = 0
            row.push_since = now
            row.next_attempt_at = now
            row.leased_until = None
            await eventlog.record(
                session,
                "status_push.redriven",
                row.document_id,
                {"audience": row.audience, "code": row.code, "seq": row.seq},
            )
        await session.commit()
    return len(rows)


async def redrive_failed(
    sessions: async_sessionmaker[AsyncSession], recipient: str | None = None
) -> list[Delivery]:
    """Requeue every failed delivery (or one recipient's), oldest first."""
    async with sessions() as session:
        query = select(Delivery.id).where(Delivery.state == "failed")
        if recipient is not None:
            query = query.where(Delivery.recipient == recipient)
        ids = list(await session.scalars(query.order_by(Delivery.created_at, Delivery.id)))
    requeued = []
    for delivery_id in ids:
        try:
            requeued.append(await redrive(sessions, delivery_id))
        except Problem as problem:  # redriven meanwhile by another operator or process
            if problem.code != "delivery_not_failed":
                raise
    return requeued
