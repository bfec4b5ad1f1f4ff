"""Requeueing what failed: a delivery, a recipient's (or every) failed delivery, status pushes.

Operators call these from the admin API, the dashboard and `lienthong hub
redrive`; each requeue gets a fresh round of attempts from now and is
written to the event log with the operator who asked (`actor`), so the log
says who redrove what and when.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.models import Delivery, StatusUpdateRow
from hub.db.notify import announce, inbox_key
from hub.eventlog import chain as eventlog
from registry.db import utcnow
from registry.models import Member
from registry.problems import Problem

__all__ = ["redrive", "redrive_failed", "redrive_recipient", "redrive_status_pushes"]


async def _requeue(session: AsyncSession, delivery: Delivery, now: datetime, actor: str) -> None:
    """One failed delivery back to `queued`, its round starting now, and its log entry."""
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
        {"delivery_id": delivery.id, "recipient": delivery.recipient, "actor": actor},
    )


async def _known_member(session: AsyncSession, code: str) -> None:
    if await session.scalar(select(Member.code).where(Member.code == code)) is None:
        raise Problem(404, "member_not_found", f"no member {code}")


async def redrive(
    sessions: async_sessionmaker[AsyncSession], delivery_id: str, *, actor: str
) -> Delivery:
    """Requeue a `failed` delivery for a fresh round of attempts (operators)."""
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
        await _requeue(session, delivery, utcnow(), actor)
        await announce(session, [inbox_key(delivery.recipient)])
        await session.commit()
        return delivery


async def redrive_failed(
    sessions: async_sessionmaker[AsyncSession], recipient: str | None = None, *, actor: str
) -> list[Delivery]:
    """Requeue every failed delivery (or one recipient's), oldest first, in one transaction.

    One transaction: the operator sees all of them requeued or none; a delivery
    redriven meanwhile by someone else is no longer `failed` and is left out.
    """
    now = utcnow()
    async with sessions() as session:
        query = select(Delivery).where(Delivery.state == "failed")
        if recipient is not None:
            query = query.where(Delivery.recipient == recipient)
        query = query.order_by(Delivery.created_at, Delivery.id).with_for_update()
        deliveries = list((await session.execute(query)).scalars())
        for delivery in deliveries:
            await _requeue(session, delivery, now, actor)
        if deliveries:
            await announce(session, sorted({inbox_key(d.recipient) for d in deliveries}))
        await session.commit()
        return deliveries


async def redrive_recipient(
    sessions: async_sessionmaker[AsyncSession], recipient: str, *, actor: str
) -> list[Delivery]:
    """Requeue one member's failed deliveries (none failed: an empty list); 404 if unknown."""
    async with sessions() as session:
        await _known_member(session, recipient)
    return await redrive_failed(sessions, recipient, actor=actor)


async def redrive_status_pushes(
    sessions: async_sessionmaker[AsyncSession], audience: str | None = None, *, actor: str
) -> int:
    """Requeue `failed` status pushes (all, or one member's) for a fresh round of attempts.

    The round's age limit counts from now; the statuses keep their times and
    their place in the member's stream.
    """
    now = utcnow()
    async with sessions() as session:
        if audience is not None:
            await _known_member(session, audience)
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
                {"audience": row.audience, "code": row.code, "seq": row.seq, "actor": actor},
            )
        await session.commit()
    return len(rows)
