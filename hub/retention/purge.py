"""The retention policy: purge documents' bodies after N days, their metadata after M.

Bodies (`retention_body_days`): the attachment bodies of documents received
before the cut-off go; the document keeps its manifest (the package without
contents), verdict, facts, counters and trace, is marked `purged_at`, and one
`document.purged` entry per document goes into the event log, which is never
purged and still verifies. A document with a delivery still `queued` or
`failed` keeps its body (it may yet be delivered or redriven). A body is one
row per SHA-256 shared by every document carrying it, and its `stored_at` is
refreshed each time a document carrying it is accepted: so a body is removed
only when it is older than the cut-off and no document kept carries it.

Metadata and statistics (`retention_metadata_days`): documents received before
that cut-off go entirely (deliveries, attempts, statuses, report facts), with
the report counters whose whole period (day, month, year) is before it: a
month's or a year's counter still counting kept documents stays whole, so the
statistics of a partly purged month or year keep the removed documents until
the period is entirely past the cut-off. One `retention.metadata_purged` entry
records the cut-off and the counts. The event log keeps their history.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.models import AttachmentBlob, Delivery, DeliveryAttempt, Document, StatusUpdateRow
from hub.eventlog import chain as eventlog
from hub.reports.models import Grain, ReportCount, ReportFact
from hub.settings import HubSettings
from registry.db import utcnow
from signing.workdays import VIETNAM_TZ

__all__ = ["PurgeResult", "purge", "running"]

BATCH = 500
"""Documents purged per transaction."""
KEEPS_BODY = ("queued", "failed")
"""Delivery states that keep the document's body: it may still be delivered or redriven."""

log = logging.getLogger(__name__)
events = structlog.get_logger("lienthong.retention")


@dataclass
class PurgeResult:
    bodies_cutoff: datetime | None = None
    documents_purged: int = 0
    """Documents whose bodies were removed in this run."""
    bodies_removed: int = 0
    """Attachment bodies (distinct SHA-256) deleted."""
    bytes_removed: int = 0
    metadata_cutoff: datetime | None = None
    documents_removed: int = 0
    """Documents removed entirely (metadata and statistics)."""

    def as_dict(self) -> dict[str, object]:
        return {
            "bodies_cutoff": self.bodies_cutoff.isoformat() if self.bodies_cutoff else None,
            "documents_purged": self.documents_purged,
            "bodies_removed": self.bodies_removed,
            "bytes_removed": self.bytes_removed,
            "metadata_cutoff": self.metadata_cutoff.isoformat() if self.metadata_cutoff else None,
            "documents_removed": self.documents_removed,
        }


async def purge(
    sessions: async_sessionmaker[AsyncSession],
    *,
    body_days: int | None,
    metadata_days: int | None,
    now: datetime | None = None,
) -> PurgeResult:
    """Apply the retention policy once (idempotent; `None` keeps that kind forever)."""
    now = now or utcnow()
    result = PurgeResult()
    if body_days is not None:
        result.bodies_cutoff = now - timedelta(days=body_days)
        await _purge_bodies(sessions, result.bodies_cutoff, now, result)
    if metadata_days is not None:
        result.metadata_cutoff = now - timedelta(days=metadata_days)
        await _purge_metadata(sessions, result.metadata_cutoff, result)
    if result.documents_purged or result.documents_removed:
        events.info("retention purge", **result.as_dict())
    return result


async def _purge_bodies(
    sessions: async_sessionmaker[AsyncSession],
    cutoff: datetime,
    now: datetime,
    result: PurgeResult,
) -> None:
    while True:
        async with sessions() as session:
            pending = select(Delivery.document_id).where(Delivery.state.in_(KEEPS_BODY))
            rows = (
                await session.execute(
                    select(Document.id, Document.package)
                    .where(
                        Document.received_at < cutoff,
                        Document.purged_at.is_(None),
                        Document.id.not_in(pending),
                    )
                    .order_by(Document.received_at)
                    .limit(BATCH)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return
            digests: dict[str, set[str]] = {row.id: _digests(row.package) for row in rows}
            removable = await _removable(session, cutoff, digests)
            sizes: Sequence[tuple[str, int]] = []
            if removable:
                sizes = (
                    await session.execute(
                        select(AttachmentBlob.sha256, AttachmentBlob.size).where(
                            AttachmentBlob.sha256.in_(removable),
                            AttachmentBlob.stored_at < cutoff,
                        )
                    )
                ).all()
                await session.execute(
                    delete(AttachmentBlob).where(
                        AttachmentBlob.sha256.in_([sha for sha, _ in sizes]),
                        AttachmentBlob.stored_at < cutoff,
                    )
                )
            await session.execute(
                update(Document).where(Document.id.in_(list(digests))).values(purged_at=now)
            )
            await _record_purged(session, cutoff, digests, {sha for sha, _ in sizes})
            await session.commit()
        result.documents_purged += len(rows)
        result.bodies_removed += len(sizes)
        result.bytes_removed += sum(size for _, size in sizes)


async def _record_purged(
    session: AsyncSession, cutoff: datetime, digests: dict[str, set[str]], removed: set[str]
) -> None:
    """One `document.purged` entry per document: its attachments, and whose bodies went."""
    for document_id, shas in digests.items():
        await eventlog.record(
            session,
            "document.purged",
            document_id,
            {
                "cutoff": cutoff,
                "attachments": sorted(shas),
                "bodies_removed": sorted(shas & removed),
            },
        )


async def _removable(
    session: AsyncSession, cutoff: datetime, digests: dict[str, set[str]]
) -> list[str]:
    """The attachment digests of these documents (by id) that no kept document needs."""
    wanted: set[str] = set().union(*digests.values())
    kept = await _digests_still_needed(session, cutoff, wanted, set(digests))
    return sorted(wanted - kept)


async def _digests_still_needed(
    session: AsyncSession, cutoff: datetime, digests: set[str], purging: set[str]
) -> set[str]:
    """Of `digests`, those a document received before the cut-off but kept still carries
    (one with a pending delivery). Documents received later refreshed `stored_at`."""
    if not digests:
        return set()
    kept = (
        await session.execute(
            select(Document.package).where(
                Document.received_at < cutoff,
                Document.purged_at.is_(None),
                Document.id.not_in(purging),
                Document.id.in_(select(Delivery.document_id).where(Delivery.state.in_(KEEPS_BODY))),
            )
        )
    ).scalars()
    needed: set[str] = set()
    for package in kept:
        needed |= _digests(package) & digests
    return needed


def _digests(package: str) -> set[str]:
    return {a["sha256"] for a in json.loads(package).get("attachments", [])}


async def _purge_metadata(
    sessions: async_sessionmaker[AsyncSession], cutoff: datetime, result: PurgeResult
) -> None:
    while True:
        async with sessions() as session:
            ids = list(
                (
                    await session.execute(
                        select(Document.id)
                        .where(Document.received_at < cutoff)
                        .order_by(Document.received_at)
                        .limit(BATCH)
                    )
                ).scalars()
            )
            if not ids:
                break
            await _delete_documents(session, cutoff, ids)
            await session.commit()
        result.documents_removed += len(ids)
    await _purge_counters(sessions, cutoff, result)


async def _delete_documents(session: AsyncSession, cutoff: datetime, ids: list[str]) -> None:
    """Remove these documents with their bodies, deliveries, statuses and report facts."""
    # bodies first, as the body purge would (whatever the body setting)
    packages = (
        await session.execute(select(Document.id, Document.package).where(Document.id.in_(ids)))
    ).all()
    removable = await _removable(
        session, cutoff, {row.id: _digests(row.package) for row in packages}
    )
    if removable:
        await session.execute(
            delete(AttachmentBlob).where(
                AttachmentBlob.sha256.in_(removable), AttachmentBlob.stored_at < cutoff
            )
        )
    deliveries = select(Delivery.id).where(Delivery.document_id.in_(ids))
    await session.execute(
        delete(DeliveryAttempt).where(DeliveryAttempt.delivery_id.in_(deliveries))
    )
    await session.execute(
        delete(StatusUpdateRow).where(StatusUpdateRow.delivery_id.in_(deliveries))
    )
    await session.execute(delete(Delivery).where(Delivery.document_id.in_(ids)))
    await session.execute(delete(ReportFact).where(ReportFact.document_id.in_(ids)))
    await session.execute(delete(Document).where(Document.id.in_(ids)))


async def _purge_counters(
    sessions: async_sessionmaker[AsyncSession], cutoff: datetime, result: PurgeResult
) -> None:
    """Drop the report counters whose whole period is before the cut-off; log the purge."""
    first_day_kept = cutoff.astimezone(VIETNAM_TZ).date()
    month_kept = first_day_kept.replace(day=1)
    year_kept = first_day_kept.replace(month=1, day=1)
    async with sessions() as session:
        # a counter goes once its whole period is before the cut-off
        await session.execute(
            delete(ReportCount).where(
                or_(
                    and_(
                        ReportCount.grain.in_([Grain.DAY, Grain.TREND]),
                        ReportCount.day < first_day_kept,
                    ),
                    and_(ReportCount.grain == Grain.MONTH, ReportCount.day < month_kept),
                    and_(ReportCount.grain == Grain.YEAR, ReportCount.day < year_kept),
                )
            )
        )
        if result.documents_removed:
            await eventlog.record(
                session,
                "retention.metadata_purged",
                "retention",
                {"cutoff": cutoff, "documents_removed": result.documents_removed},
            )
        await session.commit()


@asynccontextmanager
async def running(
    sessions: async_sessionmaker[AsyncSession], settings: HubSettings
) -> AsyncIterator[None]:
    """The periodic purge in the background for the block (when a policy is set)."""
    enabled = settings.retention_body_days is not None or settings.retention_metadata_days
    if not enabled or settings.retention_interval_seconds <= 0:
        yield
        return

    async def loop() -> None:
        while True:
            try:
                await purge(
                    sessions,
                    body_days=settings.retention_body_days,
                    metadata_days=settings.retention_metadata_days,
                )
            except Exception:
                log.exception("retention purge failed; next try in one interval")
            await asyncio.sleep(settings.retention_interval_seconds)

    task = asyncio.create_task(loop(), name="retention")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
