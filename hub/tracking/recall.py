"""Recall (`POST /v1/documents/{id}/recall`): the sender takes a document back.

Every recipient the document was routed to gets status 13. Those that have
not accepted it (queued, delivered, arrived, or failed) are `recalled` at
once, and a queued push is never sent; those that accepted it (03–06) keep
their state with `recall_pending` until they answer 15 (agree: `recalled`)
or 16 (refuse). A rejected (02) delivery keeps its state. Recalling twice
answers the same trace.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.models import Delivery, Document
from hub.eventlog import chain as eventlog
from hub.protocol import StatusCode, Trace
from hub.tracking.statuses import ACCEPTED_STATES, add_status
from hub.tracking.trace import build_trace, not_found
from registry.db import utcnow
from registry.problems import Problem

RECALLED_AT_ONCE = frozenset({"queued", "delivered", "arrived", "failed"})


async def recall(
    sessions: async_sessionmaker[AsyncSession], member: str, document_id: str
) -> Trace:
    """Recall `document_id` on behalf of its sender; the trace afterwards."""
    now = utcnow()
    async with sessions() as session:
        document = (
            await session.execute(
                select(Document).where(Document.id == document_id).with_for_update()
            )
        ).scalar_one_or_none()
        if document is None:
            raise not_found(document_id)
        if document.sender != member:
            await build_trace(session, member, document_id)  # 404 unless a recipient
            raise Problem(403, "not_the_sender", "only the sender may recall a document")
        if document.recalled_at is None:
            document.recalled_at = now
            deliveries = (
                await session.execute(
                    select(Delivery)
                    .where(Delivery.document_id == document_id, Delivery.outcome == "accepted")
                    .order_by(Delivery.recipient)
                    .with_for_update()
                )
            ).scalars()
            for delivery in deliveries:
                if delivery.state in RECALLED_AT_ONCE:
                    delivery.state = "recalled"
                    delivery.leased_until = None
                    delivery.lease_owner = None
                elif delivery.state in ACCEPTED_STATES:
                    delivery.recall_pending = True
                await add_status(
                    session,
                    delivery,
                    StatusCode.RECALLED,
                    audience=delivery.recipient,
                    at=now,
                    now=now,
                )
            await eventlog.record(session, "document.recalled", document_id, {"sender": member})
            await session.commit()
        return await build_trace(session, member, document_id)


async def revoke(sessions: async_sessionmaker[AsyncSession], sender: str, earlier_id: str) -> bool:
    """A revocation (business type 1) from `sender`: recall `earlier_id` if it is a
    document of `sender` not yet recalled; whether it was recalled now."""
    async with sessions() as session:
        found = (
            await session.execute(
                select(Document.sender, Document.recalled_at).where(Document.id == earlier_id)
            )
        ).one_or_none()
    if found is None or found.sender != sender or found.recalled_at is not None:
        return False
    await recall(sessions, sender, earlier_id)
    return True
