"""The delivery queue at a glance: how much waits, how much is being retried, how much
failed, and since when the oldest waits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.models import Delivery
from hub.protocol import DeliveryState
from registry.db import UTCDateTime

__all__ = ["DeliveryHealth", "delivery_health"]


@dataclass(frozen=True)
class DeliveryHealth:
    queued: int
    """Waiting to be delivered, retries included."""
    retrying: int
    """Of `queued`, those tried at least once already."""
    failed: int
    """Given up: they wait for an operator's redrive."""
    oldest_pending: datetime | None
    """When the longest-waiting queued delivery was created."""


async def delivery_health(session: AsyncSession) -> DeliveryHealth:
    """One aggregate over the deliveries still to deliver or given up (indexed by state)."""
    queued = Delivery.state == DeliveryState.QUEUED.value
    row = (
        await session.execute(
            select(
                func.count().filter(queued),
                func.count().filter(queued & (Delivery.attempts > 0)),
                func.count().filter(Delivery.state == DeliveryState.FAILED.value),
                func.min(case((queued, Delivery.created_at)), type_=UTCDateTime()),
            ).where(Delivery.state.in_([DeliveryState.QUEUED.value, DeliveryState.FAILED.value]))
        )
    ).one()
    return DeliveryHealth(int(row[0]), int(row[1]), int(row[2]), row[3])
