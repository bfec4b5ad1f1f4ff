"""The outbox: claiming due jobs with a lease, retry timing, rebuilding packages.

Jobs are rows (`deliveries`, `status_updates`). A worker claims a batch with
`SELECT … FOR UPDATE SKIP LOCKED` (PostgreSQL; SQLite ignores the clause and
has one writer anyway) and stamps a lease on it in the same transaction, so
no two workers, in one process or many, hold the same job at once. A lease
that runs out (a crashed worker) makes the job claimable again.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.models import AttachmentBlob, Delivery, Document, StatusUpdateRow
from hub.protocol import (
    ATTEMPT_HEADER,
    COMPLIANT_HEADER,
    CURSOR_HEADER,
    DELIVERY_ID_HEADER,
    DOCUMENT_ID_HEADER,
    RECIPIENT_HEADER,
    SENDER_HEADER,
    VIOLATIONS_HEADER,
    InboxDelivery,
    StatusUpdate,
    Verdict,
)
from hub.settings import HubSettings
from signing.package import Package, parse_package


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, bounded by attempts and by age."""

    max_attempts: int = 12
    max_age_seconds: float = 3 * 24 * 3600
    base_seconds: float = 2.0
    max_seconds: float = 600.0

    @classmethod
    def from_settings(cls, settings: HubSettings) -> RetryPolicy:
        return cls(
            max_attempts=settings.push_max_attempts,
            max_age_seconds=settings.push_max_age_seconds,
            base_seconds=settings.push_backoff_base_seconds,
            max_seconds=settings.push_backoff_max_seconds,
        )

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based): "equal jitter"."""
        cap = min(self.max_seconds, self.base_seconds * float(2 ** max(attempt - 1, 0)))
        draw: float = (rng or random).random()
        return cap / 2 + draw * cap / 2

    def exhausted(self, attempt: int, created_at: datetime, now: datetime) -> bool:
        """Whether a job that just failed attempt `attempt` must be given up."""
        too_old = (now - created_at).total_seconds() >= self.max_age_seconds
        return attempt >= self.max_attempts or too_old


async def claim_deliveries(
    session: AsyncSession,
    owner: str,
    now: datetime,
    lease_seconds: float,
    limit: int,
    *,
    recipient: str | None = None,
    exclude: Sequence[str] = (),
) -> list[str]:
    """Lease up to `limit` due queued deliveries; the ids, in the caller's transaction.

    Without `recipient`: push jobs for the worker, none for the members in
    `exclude`. With it: that member's deliveries, whatever its mode, for
    `GET /v1/inbox`.
    """
    query = select(Delivery.id).where(
        Delivery.state == "queued",
        or_(Delivery.leased_until.is_(None), Delivery.leased_until < now),
    )
    if recipient is None:
        query = query.where(Delivery.mode == "push", Delivery.next_attempt_at <= now)
        if exclude:
            query = query.where(Delivery.recipient.not_in(list(exclude)))
        query = query.order_by(Delivery.next_attempt_at)
    else:
        query = query.where(Delivery.recipient == recipient).order_by(Delivery.created_at)
    query = query.limit(limit).with_for_update(skip_locked=True)
    ids = list((await session.execute(query)).scalars())
    if ids:
        await session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids))
            .values(
                leased_until=now + timedelta(seconds=lease_seconds),
                lease_owner=owner,
                attempts=Delivery.attempts + 1,
            )
        )
    return ids


async def first_lease_end(session: AsyncSession, recipient: str) -> datetime | None:
    """When the first lease of `recipient`'s queued deliveries ends (None: none leased)."""
    found = await session.execute(
        select(func.min(Delivery.leased_until)).where(
            Delivery.recipient == recipient,
            Delivery.state == "queued",
            Delivery.leased_until.is_not(None),
        )
    )
    ends: datetime | None = found.scalar_one()
    return ends


async def claim_status_pushes(
    session: AsyncSession,
    now: datetime,
    lease_seconds: float,
    limit: int,
    *,
    exclude: Sequence[str] = (),
) -> list[int]:
    """Lease up to `limit` due status pushes (none to the members in `exclude`); their
    ids, in the caller's transaction."""
    query = select(StatusUpdateRow.id).where(
        StatusUpdateRow.push_state == "pending",
        StatusUpdateRow.next_attempt_at <= now,
        or_(StatusUpdateRow.leased_until.is_(None), StatusUpdateRow.leased_until < now),
    )
    if exclude:
        query = query.where(StatusUpdateRow.audience.not_in(list(exclude)))
    query = query.order_by(StatusUpdateRow.id).limit(limit).with_for_update(skip_locked=True)
    ids = list((await session.execute(query)).scalars())
    if ids:
        await session.execute(
            update(StatusUpdateRow)
            .where(StatusUpdateRow.id.in_(ids))
            .values(
                leased_until=now + timedelta(seconds=lease_seconds),
                push_attempts=StatusUpdateRow.push_attempts + 1,
            )
        )
    return ids


def inbox_delivery(
    delivery: Delivery,
    document: Document,
    package: Package,
    lease_expires_at: datetime | None = None,
    *,
    edxml: bytes | None = None,
) -> InboxDelivery:
    """What a recipient is handed, pushed or pulled: the package (or, for an edXML
    member, the hub-signed edXML document), its verdict, the receipt."""
    pull: dict[str, Any] = (
        {} if lease_expires_at is None else {"lease_expires_at": lease_expires_at}
    )
    carried: dict[str, Any] = {"package": package} if edxml is None else {"edxml": edxml.decode()}
    return InboxDelivery(
        delivery_id=delivery.id,
        document_id=document.id,
        sender=document.sender,
        **carried,
        verdict=Verdict.model_validate_json(document.verdict),
        receipt=document.receipt,
        attempt=delivery.attempts,
        **pull,  # unset on a push: its body leaves the field out
    )


def edxml_delivery_headers(message: InboxDelivery) -> dict[str, str]:
    """What travels beside an edXML document (a push, a bare inbox item) as headers."""
    return {
        DELIVERY_ID_HEADER: message.delivery_id,
        DOCUMENT_ID_HEADER: message.document_id,
        SENDER_HEADER: message.sender,
        ATTEMPT_HEADER: str(message.attempt),
        COMPLIANT_HEADER: "true" if message.verdict.compliant else "false",
        VIOLATIONS_HEADER: " ".join(str(v) for v in message.verdict.violations),
    }


def edxml_status_headers(update: StatusUpdate) -> dict[str, str]:
    """What travels beside an edXML status message as headers."""
    return {
        CURSOR_HEADER: str(update.cursor),
        DOCUMENT_ID_HEADER: update.document_id,
        RECIPIENT_HEADER: update.recipient,
    }


async def load_packages(session: AsyncSession, stored: dict[str, str]) -> dict[str, Package]:
    """Rebuild packages (document id -> stored JSON) with their attachment bodies."""
    data = {doc_id: json.loads(text) for doc_id, text in stored.items()}
    digests = {a["sha256"] for d in data.values() for a in d.get("attachments", [])}
    blobs: dict[str, bytes] = {}
    if digests:
        rows = await session.execute(
            select(AttachmentBlob.sha256, AttachmentBlob.content).where(
                AttachmentBlob.sha256.in_(digests)
            )
        )
        blobs = {row.sha256: row.content for row in rows}
    return {doc_id: parse_package(_with_content(d, blobs)) for doc_id, d in data.items()}


def _with_content(data: dict[str, Any], blobs: dict[str, bytes]) -> dict[str, Any]:
    for attachment in data.get("attachments", []):
        attachment["content"] = base64.b64encode(blobs[attachment["sha256"]]).decode()
    return data
