"""Claiming due pushes and building what each one carries: the JSON delivery or status,
or for an edXML member the hub-signed edXML and its `Lienthong-*` headers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.models import Delivery, Document, StatusUpdateRow
from hub.delivery.outbox import (
    claim_deliveries,
    claim_status_pushes,
    edxml_delivery_headers,
    edxml_status_headers,
    inbox_delivery,
    load_packages,
)
from hub.identity import HubIdentity
from hub.settings import HubSettings
from hub.tracking import export
from hub.tracking.statuses import edxml_statuses, status_update
from registry.db import utcnow
from registry.models import Member
from registry.problems import Problem

__all__ = ["Job", "JobSource", "claim_jobs"]


@dataclass
class Job:
    """One claimed push: where it goes and what it carries."""

    id: str
    attempt: int
    member: str
    url: str | None
    created_at: datetime
    body: dict[str, Any]
    document_id: str
    xml: bytes | None = None
    """For an edXML member: the body sent instead of `body`, as `application/xml`."""
    headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    """Why the job cannot be sent at all (it fails this attempt without a request)."""


@dataclass(frozen=True)
class JobSource:
    """Who claims (the lease owner) and what the bodies need (settings, the hub's key)."""

    owner: str
    settings: HubSettings
    identity: HubIdentity


async def claim_jobs(
    sessions: async_sessionmaker[AsyncSession],
    source: JobSource,
    statuses: int,
    total: int,
    exclude: list[str],
) -> tuple[list[Job], list[Job]]:
    """Claim up to `statuses` due status pushes, then documents up to `total` jobs in
    all, in one transaction (on SQLite each transaction waits for the one writer)."""
    async with sessions() as session:
        claimed = await _claim_statuses(session, source, statuses, exclude)
        documents = await _claim_deliveries(
            session, source, min(total - len(claimed), source.settings.push_batch_size), exclude
        )
        await session.commit()
    return claimed, documents


async def _claim_deliveries(
    session: AsyncSession, source: JobSource, limit: int, exclude: list[str]
) -> list[Job]:
    """Claim up to `limit` due documents in the caller's transaction."""
    if limit <= 0:
        return []
    ids = await claim_deliveries(
        session,
        source.owner,
        utcnow(),
        source.settings.push_lease_seconds,
        limit,
        exclude=exclude,
    )
    if not ids:
        return []
    rows = (
        await session.execute(
            select(Delivery, Document, Member.endpoint, Member.wire_format)
            .join(Document, Document.id == Delivery.document_id)
            .join(Member, Member.code == Delivery.recipient)
            .where(Delivery.id.in_(ids))
        )
    ).all()
    packages = await load_packages(session, {doc.id: doc.package for _, doc, _, _ in rows})
    exports = await _edxml_exports(session, source, rows, packages)
    jobs = []
    for delivery, document, endpoint, wire_format in rows:
        message = inbox_delivery(delivery, document, packages[document.id])
        found = exports.get(document.id) if wire_format == "edxml" else None
        error = None
        if isinstance(found, Problem):
            error, found = f"cannot write edXML: {found.code}: {found.detail}", b""
        jobs.append(
            Job(
                id=delivery.id,
                attempt=delivery.attempts,
                member=delivery.recipient,
                url=_url(endpoint, "/v1/inbox"),
                created_at=delivery.created_at,
                body={}
                if found is not None
                else message.model_dump(mode="json", exclude_unset=True),
                document_id=document.id,
                xml=found,
                headers={} if found is None else edxml_delivery_headers(message),
                error=error,
            )
        )
    return jobs


async def _edxml_exports(
    session: AsyncSession, source: JobSource, rows: Any, packages: dict[str, Any]
) -> dict[str, bytes | Problem]:
    """The hub-signed edXML of each document going to an edXML member (once each)."""
    exports: dict[str, bytes | Problem] = {}
    now = utcnow()
    for _, doc, _, wire_format in rows:
        if wire_format == "edxml" and doc.id not in exports:
            try:
                exports[doc.id] = await export.edxml_export(
                    session, doc, source.identity, source.settings.hub_id, at=now,
                    package=packages[doc.id],
                )  # fmt: skip
            except Problem as exc:  # recorded as the attempt's error, retried
                exports[doc.id] = exc
    return exports


async def _claim_statuses(
    session: AsyncSession, source: JobSource, limit: int, exclude: list[str]
) -> list[Job]:
    """Claim up to `limit` due status pushes in the caller's transaction."""
    if limit <= 0:
        return []
    ids = await claim_status_pushes(
        session, utcnow(), source.settings.push_lease_seconds, limit, exclude=exclude
    )
    if not ids:
        return []
    rows = (
        await session.execute(
            select(StatusUpdateRow, Member.endpoint, Member.wire_format)
            .join(Member, Member.code == StatusUpdateRow.audience)
            .where(StatusUpdateRow.id.in_(ids))
        )
    ).all()
    messages = await edxml_statuses(
        session, [row for row, _, wire_format in rows if wire_format == "edxml"]
    )
    return [
        Job(
            id=str(row.id),
            attempt=row.push_attempts,
            member=row.audience,
            url=_url(endpoint, "/v1/status"),
            created_at=row.push_since or row.recorded_at,
            body={} if row.id in messages else status_update(row).model_dump(mode="json"),
            document_id=row.document_id,
            xml=messages.get(row.id),
            headers={} if row.id not in messages else edxml_status_headers(status_update(row)),
        )
        for row, endpoint, _ in rows
    ]


def _url(endpoint: str | None, path: str) -> str | None:
    return None if not endpoint else endpoint.rstrip("/") + path
