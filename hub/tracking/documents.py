"""Documents as operators look them up: one document's whole trace with what identifies
it (number, notation, subject, attachments) and each recipient's receipt."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.models import Document
from hub.protocol import Trace
from hub.tracking.receipts import DeliveryReceipt, delivery_receipts
from hub.tracking.search import describe_documents
from hub.tracking.trace import build_trace, not_found

__all__ = ["DocumentHeader", "OperatorTrace", "operator_trace", "operator_view"]


class DocumentHeader(BaseModel):
    """How the document is cited and what it is about, from its header."""

    number: str
    notation: str
    subject: str
    doc_type: str
    attachments: list[str] = Field(default_factory=list)
    """The attachments' file names, in the package's order."""


class OperatorTrace(BaseModel):
    """`GET /v1/admin/documents/{id}`: the sender's trace, the header, the receipts."""

    header: DocumentHeader
    trace: Trace
    receipts: list[DeliveryReceipt]


async def operator_trace(session: AsyncSession, document_id: str) -> Trace:
    """The whole trace, every recipient's line, as the sender sees it (operators)."""
    sender = await session.scalar(select(Document.sender).where(Document.id == document_id))
    if sender is None:
        raise not_found(document_id)
    return await build_trace(session, sender, document_id)


async def operator_view(session: AsyncSession, document_id: str) -> OperatorTrace:
    """The trace with the document's header and each recipient's receipt; 404 for an id
    that is no document (or no UUID at all), in any spelling of the UUID."""
    try:
        document_id = str(uuid.UUID(document_id))
    except ValueError:
        raise not_found(document_id) from None
    trace = await operator_trace(session, document_id)
    listing = (await describe_documents(session, [document_id]))[document_id]
    header = DocumentHeader(
        number=listing.number,
        notation=listing.notation,
        subject=listing.subject,
        doc_type=listing.doc_type,
        attachments=listing.attachments,
    )
    receipts = await delivery_receipts(session, document_id)
    return OperatorTrace(header=header, trace=trace, receipts=receipts)
