"""The event log's last signed head: how far the hub has vouched for its log."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.eventlog.chain import EventLogHead

__all__ = ["latest_head"]


async def latest_head(session: AsyncSession) -> EventLogHead | None:
    """The head with the highest sequence number, or None before the first seal."""
    return (
        await session.scalars(select(EventLogHead).order_by(EventLogHead.seq.desc()).limit(1))
    ).first()
