"""Pull delivery: `GET /v1/inbox` leases pending deliveries, `POST …/ack` completes one.

A lease lasts `inbox_lease_seconds`; a delivery not acknowledged by then is
handed out again (members deduplicate on the package id). Acknowledging is
idempotent, and an acknowledgement after the lease ran out still counts.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.models import Delivery, DeliveryAttempt, Document
from hub.delivery.member_receipts import checked_receipt
from hub.delivery.outbox import claim_deliveries, first_lease_end, inbox_delivery, load_packages
from hub.eventlog import chain as eventlog
from hub.identity import HubIdentity
from hub.ops import metrics
from hub.protocol import DeliveryRef, DeliveryState, InboxBatch
from hub.tracking import export
from hub.tracking.statuses import wire_format_of
from registry.db import utcnow
from registry.problems import Problem


@dataclass(frozen=True)
class Leased:
    """What one lease of the inbox found."""

    batch: InboxBatch
    lease_ends_in: float | None = None
    """When nothing was free: seconds until the first lease of a pending delivery ends
    (None: nothing is leased), so a long poll can take it the moment it is free."""


async def lease_inbox(
    sessions: async_sessionmaker[AsyncSession],
    member: str,
    limit: int,
    lease_seconds: float,
    *,
    identity: HubIdentity | None = None,
    hub_id: str = "",
) -> Leased:
    """Lease up to `limit` of `member`'s pending deliveries.

    An edXML member (given the hub's `identity` to sign with) gets each
    document as the hub-signed edXML export instead of the package.
    """
    now = utcnow()
    async with sessions() as session:
        ids = await claim_deliveries(
            session, f"pull:{member}", now, lease_seconds, limit, recipient=member
        )
        if not ids:
            ends = await first_lease_end(session, member)
            await session.commit()
            wait = None if ends is None else (ends - now).total_seconds()
            return Leased(InboxBatch(deliveries=[]), wait)
        rows = (
            await session.execute(
                select(Delivery, Document)
                .join(Document, Document.id == Delivery.document_id)
                .where(Delivery.id.in_(ids))
                .order_by(Delivery.created_at)
            )
        ).all()
        packages = await load_packages(session, {doc.id: doc.package for _, doc in rows})
        exports: dict[str, bytes] = {}
        if identity is not None and await wire_format_of(session, member) == "edxml":
            for _, doc in rows:
                # a package XML cannot carry (a control character) goes as the JSON item
                with contextlib.suppress(Problem):
                    exports[doc.id] = await export.edxml_export(
                        session, doc, identity, hub_id, at=now, package=packages[doc.id]
                    )
        for delivery, _ in rows:
            session.add(
                DeliveryAttempt(
                    delivery_id=delivery.id,
                    attempt=delivery.attempts,
                    started_at=now,
                    outcome="leased",
                )
            )
        await session.commit()
    expires = now + timedelta(seconds=lease_seconds)
    return Leased(
        InboxBatch(
            deliveries=[
                inbox_delivery(
                    delivery,
                    document,
                    packages[document.id],
                    expires,
                    edxml=exports.get(document.id),
                )
                for delivery, document in rows
            ]
        )
    )


async def acknowledge(
    sessions: async_sessionmaker[AsyncSession],
    member: str,
    delivery_id: str,
    receipt: str | None,
) -> DeliveryRef:
    """Mark one of `member`'s deliveries delivered (idempotent)."""
    now = utcnow()
    async with sessions() as session:
        delivery = (
            await session.execute(
                select(Delivery)
                .where(Delivery.id == delivery_id, Delivery.recipient == member)
                .with_for_update()
            )
        ).scalar_one_or_none()
        if delivery is None or delivery.outcome != "accepted":
            raise Problem(404, "delivery_not_found", f"no delivery {delivery_id} for you")
        # A status (01…) may reach the hub before the ack: it already counts as
        # delivery, but the ack and the member's receipt are still recorded once.
        if delivery.delivered_at is None or not await _acknowledged(session, delivery.id):
            kept, refused = await checked_receipt(
                session, member, delivery.document_id, delivery.id, receipt
            )
            first = delivery.delivered_at is None
            if delivery.state == "queued":
                delivery.state = "delivered"
            delivery.delivered_at = delivery.delivered_at or now
            delivery.leased_until = None
            delivery.lease_owner = None
            delivery.member_receipt = kept or delivery.member_receipt
            session.add(
                DeliveryAttempt(
                    delivery_id=delivery.id,
                    attempt=delivery.attempts,
                    started_at=now,
                    outcome="acknowledged",
                    detail=refused,
                )
            )
            await eventlog.record(
                session,
                "delivery.delivered",
                delivery.document_id,
                {"delivery_id": delivery.id, "recipient": member, "mode": "pull"},
            )
            await session.commit()
            if first:
                metrics.delivery_attempted("delivered", "pull", delivery.created_at, now)
        return DeliveryRef(delivery_id=delivery.id, state=DeliveryState(delivery.state))


async def _acknowledged(session: AsyncSession, delivery_id: str) -> bool:
    found = await session.execute(
        select(DeliveryAttempt.id).where(
            DeliveryAttempt.delivery_id == delivery_id, DeliveryAttempt.outcome == "acknowledged"
        )
    )
    return found.first() is not None
