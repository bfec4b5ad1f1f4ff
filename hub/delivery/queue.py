"""Which deliveries wait or failed: the one answer the admin API, the CLI, the dashboard
and `/metrics` all show."""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.models import Delivery
from hub.protocol import DeliveryState

__all__ = ["PENDING_STATES", "DeliveryRow", "deliveries_in_state", "queue_depth"]

PENDING_STATES = (DeliveryState.QUEUED, DeliveryState.FAILED)
"""The states an operator watches: still to deliver, and given up."""


class DeliveryRow(BaseModel):
    """One delivery as operators see it."""

    delivery_id: str
    document_id: str
    recipient: str
    state: DeliveryState
    attempts: int
    last_error: str | None


async def deliveries_in_state(
    session: AsyncSession,
    state: DeliveryState,
    *,
    recipient: str | None = None,
    limit: int | None = None,
) -> list[DeliveryRow]:
    """Deliveries in `state` (optionally one recipient's), oldest first."""
    query = select(Delivery).where(Delivery.state == state.value)
    if recipient is not None:
        query = query.where(Delivery.recipient == recipient)
    query = query.order_by(Delivery.created_at, Delivery.id)
    if limit is not None:
        query = query.limit(limit)
    return [
        DeliveryRow(
            delivery_id=d.id,
            document_id=d.document_id,
            recipient=d.recipient,
            state=DeliveryState(d.state),
            attempts=d.attempts,
            last_error=d.last_error,
        )
        for d in (await session.execute(query)).scalars()
    ]


async def queue_depth(session: AsyncSession) -> dict[DeliveryState, int]:
    """How many deliveries are queued and how many failed, across every hub process."""
    rows = (
        await session.execute(
            select(Delivery.state, func.count())
            .where(Delivery.state.in_([s.value for s in PENDING_STATES]))
            .group_by(Delivery.state)
        )
    ).all()
    counts = {DeliveryState(state): int(n) for state, n in rows}
    return {state: counts.get(state, 0) for state in PENDING_STATES}
