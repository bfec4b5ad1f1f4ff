"""Each recipient's signed delivery receipt as operators read it, or why there is none.

The hub keeps a receipt only after checking its signature against the
member's registered certificate (`hub.delivery.member_receipts`), so its
claims are read here without checking it again; a refused receipt left its
reason in the attempt log.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.models import Delivery, DeliveryAttempt
from signing.jose import JoseError, unverified_claims, unverified_header

__all__ = ["REFUSED_PREFIX", "DeliveryReceipt", "delivery_receipts"]

REFUSED_PREFIX = "delivery receipt refused"
"""How an attempt's detail starts when the hub dropped the member's receipt."""


class DeliveryReceipt(BaseModel):
    """One recipient's receipt: kept (with what it says), refused, or never sent."""

    recipient: str
    delivery_id: str
    kept: bool
    received_at: str | None = None
    """When the recipient says it received the package (its own clock)."""
    certificate: str | None = None
    """Hex SHA-256 of the certificate that signed it (its `kid`)."""
    manifest_digest: str | None = None
    refused: str | None = None
    """Why the hub dropped the receipt the member sent, when it did."""
    jws: str | None = None


@dataclass(frozen=True)
class _Row:
    id: str
    recipient: str
    member_receipt: str | None


def _kept(row: _Row) -> DeliveryReceipt:
    receipt = row.member_receipt or ""
    try:
        claims, header = unverified_claims(receipt), unverified_header(receipt)
    except JoseError:
        claims, header = {}, {}
    at = claims.get("received_at")
    return DeliveryReceipt(
        recipient=row.recipient,
        delivery_id=row.id,
        kept=True,
        received_at=at if isinstance(at, str) else None,
        certificate=header.get("kid") if isinstance(header.get("kid"), str) else None,
        manifest_digest=claims.get("manifest_digest"),
        jws=receipt,
    )


async def delivery_receipts(session: AsyncSession, document_id: str) -> list[DeliveryReceipt]:
    """Every recipient's receipt of `document_id`, by recipient code."""
    rows = [
        _Row(*r)
        for r in await session.execute(
            select(Delivery.id, Delivery.recipient, Delivery.member_receipt)
            .where(Delivery.document_id == document_id)
            .order_by(Delivery.recipient)
        )
    ]
    refusals: dict[str, str] = {}
    for delivery_id, detail in await session.execute(
        select(DeliveryAttempt.delivery_id, DeliveryAttempt.detail)
        .where(
            DeliveryAttempt.delivery_id.in_([r.id for r in rows if not r.member_receipt]),
            DeliveryAttempt.detail.startswith(REFUSED_PREFIX),
        )
        .order_by(DeliveryAttempt.id)
    ):
        refusals[delivery_id] = detail or ""  # the last one wins
    return [
        _kept(r)
        if r.member_receipt
        else DeliveryReceipt(
            recipient=r.recipient, delivery_id=r.id, kept=False, refused=refusals.get(r.id)
        )
        for r in rows
    ]
