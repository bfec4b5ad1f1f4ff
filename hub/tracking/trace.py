"""A document's trace: verdict, each recipient's state, every status and attempt with times.

The sender sees every recipient; a recipient sees only its own line; anyone
else gets 404, so the trace does not reveal that a document exists.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.models import Delivery, DeliveryAttempt, Document, StatusUpdateRow
from hub.protocol import (
    DeliveryAttemptTrace,
    DeliveryState,
    DeliveryTrace,
    LinkedDocument,
    RecipientOutcome,
    StatusCode,
    StatusEntry,
    Trace,
    Verdict,
)
from registry.problems import Problem


def not_found(document_id: str) -> Problem:
    return Problem(404, "document_not_found", f"no document {document_id} for you")


async def build_trace(session: AsyncSession, member: str, document_id: str) -> Trace:
    """The trace as `member` may see it; raises 404 for a stranger."""
    document = await session.get(Document, document_id)
    if document is None:
        raise not_found(document_id)
    query = select(Delivery).where(Delivery.document_id == document_id)
    if member != document.sender:
        query = query.where(Delivery.recipient == member)
    deliveries = list((await session.execute(query.order_by(Delivery.recipient))).scalars())
    if not deliveries and member != document.sender:
        raise not_found(document_id)
    ids = [d.id for d in deliveries]
    statuses = await _statuses_of(session, ids)
    attempts = await _attempts_of(session, ids)
    earlier, later = await _linked(session, document)
    return Trace(
        document_id=document.id,
        sender=document.sender,
        manifest_digest=document.manifest_digest,
        received_at=document.received_at,
        recalled_at=document.recalled_at,
        wire_format=document.wire_format,
        earlier=earlier,
        later=later,
        purged_at=document.purged_at,
        verdict=Verdict.model_validate_json(document.verdict),
        deliveries=[
            DeliveryTrace(
                delivery_id=d.id,
                recipient=d.recipient,
                outcome=RecipientOutcome(d.outcome),
                reasons=d.reasons.split(),
                state=DeliveryState(d.state),
                attempts=d.attempts,
                delivered_at=d.delivered_at,
                recall_pending=d.recall_pending,
                statuses=statuses[d.id],
                attempt_log=attempts[d.id],
            )
            for d in deliveries
        ],
    )


async def _statuses_of(session: AsyncSession, ids: list[str]) -> dict[str, list[StatusEntry]]:
    """The statuses recorded on these deliveries, each delivery's in order."""
    statuses: dict[str, list[StatusEntry]] = defaultdict(list)
    for row in (
        await session.execute(
            select(StatusUpdateRow)
            .where(StatusUpdateRow.delivery_id.in_(ids))
            .order_by(StatusUpdateRow.at, StatusUpdateRow.id)
        )
    ).scalars():
        statuses[row.delivery_id].append(
            StatusEntry(
                code=StatusCode(row.code), reason=row.reason, at=row.at, recorded_at=row.recorded_at
            )
        )
    return statuses


async def _attempts_of(
    session: AsyncSession, ids: list[str]
) -> dict[str, list[DeliveryAttemptTrace]]:
    """The push attempts on these deliveries, each delivery's in order."""
    attempts: dict[str, list[DeliveryAttemptTrace]] = defaultdict(list)
    for attempt in (
        await session.execute(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.delivery_id.in_(ids))
            .order_by(DeliveryAttempt.id)
        )
    ).scalars():
        attempts[attempt.delivery_id].append(
            DeliveryAttemptTrace(
                attempt=attempt.attempt,
                started_at=attempt.started_at,
                outcome=attempt.outcome,
                detail=attempt.detail,
            )
        )
    return attempts


async def _linked(
    session: AsyncSession, document: Document
) -> tuple[LinkedDocument | None, list[LinkedDocument]]:
    """The document it revokes, updates or replaces, and the later ones that do so to it."""
    earlier = None
    if document.earlier_id is not None and document.business_type in (1, 2, 3):
        earlier = LinkedDocument(
            document_id=document.earlier_id, business_type=document.business_type
        )
    later = [
        LinkedDocument(document_id=row.id, business_type=row.business_type)
        for row in await session.execute(
            select(Document.id, Document.business_type)
            .where(Document.earlier_id == document.id, Document.business_type.in_((1, 2, 3)))
            .order_by(Document.received_at, Document.id)
        )
    ]
    return earlier, later
