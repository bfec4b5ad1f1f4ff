"""Writing checked submissions: many documents per transaction (group commit).

A batch costs a fixed number of statements whatever its size: one read of the
ids already stored, one read of every recipient's registry row, then the rows
of every table with the report facts and counters (one statement on
PostgreSQL, one executemany per table on SQLite) and one commit. Each
document's outcome is decided before anything is written: a repeated id is
answered with its stored receipt (or `409`), an unknown recipient with `422`,
and such items write nothing. If the batch still fails to commit (another
process stored the same id a moment ago, say), it is rolled back and every
item is written again on its own, so one bad item never loses or half-writes
the others.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.bulk import Inserts
from hub.db.models import AttachmentBlob, Delivery, Document
from hub.db.notify import announce, inbox_key
from hub.db.words import search_columns
from hub.eventlog.chain import EventLogEntry
from hub.identity import HubIdentity
from hub.ingest.policy import decide
from hub.ingest.receipts import read_receipt, receipt_signer, sign_receipt
from hub.ops import metrics
from hub.protocol import ReceiptClaims, RecipientOutcome, RecipientResult, SubmitResult
from hub.reports.facts import fact_rows, record_facts
from registry.db import utcnow
from registry.models import Member
from registry.problems import Problem
from signing.package import Package
from signing.verify import Verdict


@dataclass
class Submission:
    """A package that passed every check needing no database, ready to be stored."""

    sender: str
    document_id: str
    package: Package
    digest: str
    verdict: Verdict
    blobs: list[dict[str, Any]]
    stored_package: str
    received_at: datetime
    wire_format: str = "json"
    edxml_document_id: str | None = None
    original_sha256: str | None = None
    """An edXML envelope's digest; its bytes are among `blobs`."""
    business_type: int = 0
    earlier_id: str | None = None


@dataclass
class Accepted:
    result: SubmitResult
    created: bool
    """False for a repeated submission answered with the stored receipt."""
    pushes: bool = False
    """Whether a push delivery job was queued (the worker is woken only then)."""


@dataclass
class _Rows:
    """What one batch inserts, table by table."""

    documents: list[dict[str, Any]]
    blobs: dict[str, dict[str, Any]]
    deliveries: list[dict[str, Any]]
    events: list[dict[str, Any]]


Outcome = Accepted | BaseException
_DOCUMENTS: Table = Document.__table__  # type: ignore[assignment]
_BLOBS: Table = AttachmentBlob.__table__  # type: ignore[assignment]
_DELIVERIES: Table = Delivery.__table__  # type: ignore[assignment]
_EVENTS: Table = EventLogEntry.__table__  # type: ignore[assignment]
_BLOBS_INSERT = sqlite.insert(_BLOBS)
# A body already stored is not written again, but its `stored_at` moves to now: the
# retention policy keeps a body as long as some document kept carries it.
_BLOBS_ON_CONFLICT = "ON CONFLICT (sha256) DO UPDATE SET stored_at = excluded.stored_at"
_BLOBS_REFRESHING_DUPLICATES = _BLOBS_INSERT.on_conflict_do_update(
    index_elements=["sha256"], set_={"stored_at": _BLOBS_INSERT.excluded.stored_at}
)
_MEMBERS: Table = Member.__table__  # type: ignore[assignment]
# Core statements built once: an ORM select made for every batch cost more to
# build and compile than the database took to answer it.
_STORED = select(_DOCUMENTS.c.id, _DOCUMENTS.c.manifest_digest, _DOCUMENTS.c.receipt).where(
    _DOCUMENTS.c.id.in_(bindparam("ids", expanding=True))
)
_RECIPIENTS = select(
    _MEMBERS.c.code, _MEMBERS.c.status, _MEMBERS.c.policy, _MEMBERS.c.delivery_mode
).where(_MEMBERS.c.code.in_(bindparam("codes", expanding=True)))


class IngestWriter:
    """Stores submissions for one hub process: `write_batch` is the group-commit writer."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        identity: HubIdentity,
        hub_id: str,
    ) -> None:
        self.sessions = sessions
        self.identity = identity
        self.receipts = receipt_signer(identity.key, identity.chain)
        self.hub_id = hub_id

    async def write_batch(self, items: Sequence[Submission]) -> list[Outcome]:
        """Every item's outcome; written items are committed before this returns."""
        try:
            return await self._write_reconnecting(items)
        except SQLAlchemyError:
            if len(items) == 1:
                raise
        outcomes: list[Outcome] = []
        for item in items:  # one transaction each: the bad one fails alone
            try:
                outcomes.extend(await self._write_reconnecting([item]))
            except Exception as exc:
                outcomes.append(exc)
        return outcomes

    async def _write_reconnecting(self, items: Sequence[Submission]) -> list[Outcome]:
        """`_write`, once more on a fresh connection if the server ended the session.

        A PostgreSQL restart or `pg_terminate_backend` ends pooled sessions; the
        driver notices only at the next statement ("connection is closed", or
        asyncpg's "cannot switch to state 15; another operation (2) is in
        progress" when the server's goodbye arrived between two statements),
        and the pool drops that connection. Writing again is safe: the batch
        was rolled back, or, if its commit went through before the reply was
        lost, its ids are found stored and answered with their receipts.
        """
        try:
            return await self._write(items)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        return await self._write(items)

    async def _write(self, items: Sequence[Submission]) -> list[Outcome]:
        async with self.sessions() as session:
            try:
                outcomes = await self._stage(session, items)
                await session.commit()
            except IntegrityError:
                await session.rollback()
                if len(items) > 1:
                    raise
                # one item: the id was stored since we looked; answer as a repeat
                repeated = (await _stored(session, [items[0].document_id])).get(
                    items[0].document_id
                )
                if repeated is None:
                    raise
                return [_repeat(items[0], *repeated)]
        for item, outcome in zip(items, outcomes, strict=True):
            if isinstance(outcome, Accepted) and outcome.created:
                metrics.document_accepted(item.verdict.compliant, item.verdict.violations)
        return outcomes

    async def _stage(self, session: AsyncSession, items: Sequence[Submission]) -> list[Outcome]:
        stored = await _stored(session, [item.document_id for item in items])
        outcomes: list[Outcome | None] = [
            _repeat(item, *stored[item.document_id]) if item.document_id in stored else None
            for item in items
        ]
        codes = {code for item in items for code in item.package.recipients}
        members = await _members(session, codes)
        rows = _Rows([], {}, [], [])
        written: list[Submission] = []
        for i, item in enumerate(items):
            if outcomes[i] is not None:
                continue
            unknown = [code for code in item.package.recipients if code not in members]
            if unknown:
                outcomes[i] = _unknown_recipients(unknown)
                continue
            outcomes[i] = self._add(rows, item, members)
            written.append(item)
        if written:
            # every table's rows, then the report facts and counters, whose
            # row locks are held until commit: last before it
            await record_facts(session, _facts(written), along_with=_inserts(rows))
            queued = (d["recipient"] for d in rows.deliveries if d["state"] == "queued")
            await announce(session, map(inbox_key, queued))  # long polls, once committed
        return [outcome for outcome in outcomes if outcome is not None]

    def _add(self, rows: _Rows, item: Submission, members: dict[str, Any]) -> Accepted:
        results, deliveries = _route(item, members)
        claims = ReceiptClaims(
            iss=self.hub_id,
            sub=item.sender,
            document_id=item.document_id,
            manifest_digest=item.digest,
            received_at=item.received_at,
            verdict=item.verdict,
            recipients=results,
        )
        receipt = sign_receipt(claims, self.receipts)
        verdict = item.verdict
        violations = [str(v) for v in verdict.violations]
        rows.documents.append(_document_row(item, receipt, violations))
        now = utcnow()
        for blob in item.blobs:
            rows.blobs.setdefault(blob["sha256"], {**blob, "stored_at": now})
        rows.deliveries.extend(deliveries)
        rows.events.append(
            {
                "recorded_at": now,
                "kind": "document.accepted",
                "subject": item.document_id,
                "data": event_json(
                    {
                        "sender": item.sender,
                        "manifest_digest": item.digest,
                        "compliant": verdict.compliant,
                        "violations": violations,
                        "recipients": [r.model_dump(mode="json") for r in results],
                    }
                ),
            }
        )
        result = SubmitResult(
            document_id=item.document_id,
            manifest_digest=item.digest,
            received_at=item.received_at,
            verdict=verdict,
            recipients=results,
            receipt=receipt,
        )
        pushes = any(d["mode"] == "push" and d["state"] == "queued" for d in deliveries)
        return Accepted(result, created=True, pushes=pushes)


def _document_row(item: Submission, receipt: str, violations: list[str]) -> dict[str, Any]:
    """The `documents` row of an accepted submission, its search columns included."""
    return {
        "id": item.document_id,
        "sender": item.sender,
        "manifest_digest": item.digest,
        "package": item.stored_package,
        "verdict": item.verdict.model_dump_json(),
        "compliant": item.verdict.compliant,
        "violations": " ".join(violations),
        "received_at": item.received_at,
        "receipt": receipt,
        "wire_format": item.wire_format,
        "edxml_document_id": item.edxml_document_id,
        "original_sha256": item.original_sha256,
        "business_type": item.business_type,
        "earlier_id": item.earlier_id,
        **search_columns(item.package.header),
    }


def _inserts(rows: _Rows) -> list[Inserts]:
    """Every table's rows, parents first (`hub.db.bulk`: one statement on PostgreSQL)."""
    blobs = [rows.blobs[sha] for sha in sorted(rows.blobs)]
    return [
        Inserts(_DOCUMENTS, rows.documents),
        Inserts(
            _BLOBS,
            blobs,
            on_conflict=_BLOBS_ON_CONFLICT,
            fallback=_BLOBS_REFRESHING_DUPLICATES,
        ),
        Inserts(_DELIVERIES, rows.deliveries),
        Inserts(_EVENTS, rows.events),
    ]


def _facts(items: Sequence[Submission]) -> list[dict[str, object]]:
    """The report facts of the documents written (one per recipient)."""
    return [
        row
        for item in items
        for row in fact_rows(
            item.document_id,
            item.sender,
            item.package.recipients,
            item.received_at,
            item.package.header.type,
            item.verdict,
        )
    ]


def event_json(data: dict[str, Any]) -> str:
    """RFC 8785 text of an event made of strings, booleans, lists and objects with ASCII keys.

    For such values the standard library's sorted, compact, non-ASCII-preserving
    dump is byte-for-byte what `hub.eventlog.chain.canonical_json` writes (a test
    checks it), at a fraction of the cost; numbers would need JCS's own rules.
    """
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def result_of(receipt: str) -> SubmitResult:
    """The submit answer rebuilt from a stored receipt."""
    claims = read_receipt(receipt)
    return SubmitResult(
        document_id=claims.document_id,
        manifest_digest=claims.manifest_digest,
        received_at=claims.received_at,
        verdict=claims.verdict,
        recipients=claims.recipients,
        receipt=receipt,
    )


async def _stored(session: AsyncSession, ids: list[str]) -> dict[str, tuple[str, str]]:
    """`id -> (manifest_digest, receipt)` of the ids already stored."""
    rows = await session.execute(_STORED, {"ids": ids})
    return {row.id: (row.manifest_digest, row.receipt) for row in rows}


def _repeat(item: Submission, digest: str, receipt: str) -> Outcome:
    if digest != item.digest:
        return Problem(
            409,
            "document_id_conflict",
            f"document {item.document_id} was already submitted with a different manifest",
        )
    return Accepted(result_of(receipt), created=False)


async def _members(session: AsyncSession, codes: set[str]) -> dict[str, Any]:
    rows = await session.execute(_RECIPIENTS, {"codes": sorted(codes)})
    return {row.code: row for row in rows}


def _unknown_recipients(unknown: list[str]) -> Problem:
    return Problem(
        422,
        "unknown_recipient",
        f"not members of the hub: {', '.join(unknown[:20])}",
        errors=[{"field": "recipients", "message": f"unknown {code}"} for code in unknown],
    )


def _route(
    item: Submission, members: dict[str, Any]
) -> tuple[list[RecipientResult], list[dict[str, Any]]]:
    results: list[RecipientResult] = []
    deliveries: list[dict[str, Any]] = []
    violations = [str(v) for v in item.verdict.violations]
    now = item.received_at
    for code in item.package.recipients:
        member = members[code]
        outcome, reasons = decide(member.status, member.policy, violations)
        delivery_id = str(uuid.uuid4())
        deliveries.append(
            {
                "id": delivery_id,
                "document_id": item.document_id,
                "recipient": code,
                "mode": member.delivery_mode,
                "outcome": outcome.value,
                "reasons": " ".join(reasons),
                "state": "queued" if outcome is RecipientOutcome.ACCEPTED else "refused",
                "status_rank": 0,
                "attempts": 0,
                "created_at": now,
                "next_attempt_at": now,
                "recall_pending": False,
            }
        )
        results.append(
            RecipientResult(
                recipient=code, outcome=outcome, delivery_id=delivery_id, reasons=reasons
            )
        )
    return results, deliveries
