"""Turning a verdict into report facts, and recording them (and their counters) at ingest."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.bulk import Inserts, insert_all, sends_arrays
from hub.reports.counters import COUNT_INSERTED_FACTS, add_to_counters
from hub.reports.models import ReportFact
from signing.compliance import ENVELOPE, SignatureFacts, Violation
from signing.verify import Verdict
from signing.workdays import VIETNAM_TZ

_FACTS: Table = ReportFact.__table__  # type: ignore[assignment]
VIOLATION_CODES: tuple[str, ...] = tuple(v.value for v in Violation)
"""The bit order of `ReportFact.violations`; append new codes, never reorder."""


def violation_bits(violations: Sequence[str]) -> int:
    """The bitmask of `violations`; unknown codes are ignored."""
    bits = 0
    for code in violations:
        if code in VIOLATION_CODES:
            bits |= 1 << VIOLATION_CODES.index(code)
    return bits


def bit_of(code: str) -> int:
    return 1 << VIOLATION_CODES.index(code)


def _good(facts: SignatureFacts, kind: str, certificate_kind: str, sender: str) -> bool:
    return (
        facts.kind == kind
        and facts.signature_valid
        and facts.chain_trusted
        and facts.valid_at_signing_time is not False
        and not facts.revoked_at_signing_time
        and facts.agency_code == sender
        and facts.certificate_kind == certificate_kind
    )


def vietnam_day(moment: datetime) -> date:
    return moment.astimezone(VIETNAM_TZ).date()


def fact_rows(
    document_id: str,
    sender: str,
    recipients: Sequence[str],
    received_at: datetime,
    doc_type: str,
    verdict: Verdict,
) -> list[dict[str, object]]:
    """One row per recipient; the first is the document's `lead` row."""
    signatures = verdict.signatures
    in_pdf = int(any(f.source != ENVELOPE for f in signatures))
    on_envelope = int(any(f.source == ENVELOPE for f in signatures))
    common = {
        "document_id": document_id,
        "sender": sender,
        "day": vietnam_day(received_at),
        "doc_type": doc_type[:16],
        "signed": int(bool(signatures)),
        "personal_ok": int(any(_good(f, "personal", "official", sender) for f in signatures)),
        "org_ok": int(any(_good(f, "organization", "organization", sender) for f in signatures)),
        "compliant": int(verdict.compliant),
        "violations": violation_bits(verdict.violations),
        "signed_pdf": in_pdf,
        "signed_envelope": on_envelope,
        "signed_both": in_pdf & on_envelope,
    }
    return [
        {**common, "recipient": recipient, "lead": int(i == 0)}
        for i, recipient in enumerate(recipients)
    ]


async def record_ingest(
    session: AsyncSession,
    document_id: str,
    sender: str,
    recipients: Sequence[str],
    received_at: datetime,
    doc_type: str,
    verdict: Verdict,
) -> None:
    """Add one document's facts and count them, in the caller's transaction."""
    await record_facts(
        session, fact_rows(document_id, sender, recipients, received_at, doc_type, verdict)
    )


async def record_facts(
    session: AsyncSession,
    rows: Sequence[dict[str, object]],
    *,
    along_with: Sequence[Inserts] = (),
) -> None:
    """Add the `fact_rows` of one or many documents and count them.

    The facts are inserted and the counters upserted (summed per key, in key
    order) by one statement on PostgreSQL, where the database works out the
    counters from the inserted facts; by two on SQLite. A writer committing
    several documents together passes all their rows in one call, so the
    whole batch locks its counters once, in one global order. Call it last
    before commit: the upsert holds its counters' row locks until then.
    `along_with` are other tables' rows to insert first (the documents the
    facts are about): on PostgreSQL in the same statement, one round trip.
    """
    inserts = [*along_with, Inserts(_FACTS, rows)]
    if sends_arrays(session):
        await insert_all(session, inserts, then=COUNT_INSERTED_FACTS if rows else "")
        return
    await insert_all(session, inserts)
    if rows:
        await add_to_counters(session, rows)


async def doc_type_of(session: AsyncSession, document_id: str) -> str | None:
    """The document type its facts were counted under (None before any fact)."""
    return await session.scalar(
        select(ReportFact.doc_type).where(ReportFact.document_id == document_id).limit(1)
    )
