"""Documents as operators look them up: who sent one, what a sender sent lately."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.models import Document
from hub.protocol import Trace
from hub.tracking.trace import build_trace, not_found

__all__ = ["DocumentSummary", "operator_trace", "sent_by"]


@dataclass(frozen=True)
class DocumentSummary:
    id: str
    received_at: datetime
    compliant: bool
    violations: str
    """Space-separated violation codes, as stored."""


async def sent_by(
    session: AsyncSession, sender: str, *, offset: int = 0, limit: int = 50
) -> list[DocumentSummary]:
    """What `sender` sent, newest first, one page."""
    rows = await session.execute(
        select(Document.id, Document.received_at, Document.compliant, Document.violations)
        .where(Document.sender == sender)
        .order_by(Document.received_at.desc())
        .offset(offset)
        .limit(limit)
    )
    return [DocumentSummary(*row) for row in rows]


async def operator_trace(session: AsyncSession, document_id: str) -> Trace:
    """The whole trace, every recipient's line, as the sender sees it (operators)."""
    sender = await session.scalar(select(Document.sender).where(Document.id == document_id))
    if sender is None:
        raise not_found(document_id)
    return await build_trace(session, sender, document_id)
