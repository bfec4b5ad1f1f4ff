"""The event log's signed head and inclusion proofs, as members and auditors read them.

A proof names the first signed head at or after the entry: that head's
`entries_root` is the RFC 9162 Merkle root over the entries since the head
before it, so the proof is the entry, the head and a path of at most
log2(head interval) hashes; no other entry's content is revealed. A member
may prove the entries about itself only (a document it sent, one it received
but not another recipient's lines, a registry change to itself); operators
any entry.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.models import Delivery, Document
from hub.eventlog import heads
from hub.eventlog.chain import EventLogEntry, EventLogHead, format_time
from hub.protocol import LogEntries, LogEntry, LogHead, LogInclusionProof
from registry.problems import Problem
from signing import merkle
from signing.jose import unverified_claims

__all__ = ["entries_about", "inclusion_proof", "signed_head"]


def _head(row: EventLogHead) -> LogHead:
    claims = unverified_claims(row.jws)
    return LogHead(
        seq=row.seq,
        hash=row.hash,
        first_seq=claims.get("first_seq"),
        entries_root=claims.get("entries_root"),
        signed_at=row.signed_at,
        jws=row.jws,
    )


async def signed_head(session: AsyncSession) -> LogHead:
    """The latest signed head; 404 `eventlog_no_head` before the hub signed any."""
    row = await heads.latest_head(session)
    if row is None:
        raise Problem(404, "eventlog_no_head", "the hub has not signed an event-log head yet")
    return _head(row)


def _not_found(seq: int) -> Problem:
    return Problem(404, "eventlog_entry_not_found", f"no sealed event-log entry {seq} for you")


async def _visible(session: AsyncSession, entry: EventLogEntry, member: str) -> bool:
    return (await _viewer(session, entry.subject, member))(entry)


async def _viewer(
    session: AsyncSession, subject: str, member: str
) -> Callable[[EventLogEntry], bool]:
    """Which entries about `subject` `member` may read."""
    if subject == member:
        return lambda entry: True
    document = await session.get(Document, subject)
    if document is None:
        return lambda entry: False
    if document.sender == member:
        return lambda entry: True
    delivery = await session.scalar(
        select(Delivery.id).where(Delivery.document_id == document.id, Delivery.recipient == member)
    )
    if delivery is None:
        return lambda entry: False
    return lambda entry: json.loads(entry.data).get("recipient") in (None, member)


async def entries_about(
    session: AsyncSession, subject: str, *, member: str | None, after: int, limit: int
) -> LogEntries:
    """The sealed entries about `subject` after `after`, as `member` may read them (None:
    an operator, every entry); `next_after` is where the next page starts."""
    rows = list(
        await session.scalars(
            select(EventLogEntry)
            .where(EventLogEntry.subject == subject, EventLogEntry.seq > after)
            .order_by(EventLogEntry.seq)
            .limit(limit)
        )
    )
    visible = (lambda entry: True) if member is None else await _viewer(session, subject, member)
    last = rows[-1].seq if rows else None
    return LogEntries(
        entries=[_entry(row) for row in rows if visible(row)],
        next_after=after if last is None else last,
    )


async def inclusion_proof(
    session: AsyncSession, seq: int, *, member: str | None, retry_after: int
) -> LogInclusionProof:
    """Entry `seq` and the proof that the first head covering it includes it.

    `member`: the caller's code (only entries about it), or None for an operator.
    """
    entry = await session.scalar(select(EventLogEntry).where(EventLogEntry.seq == seq))
    if entry is None or (member is not None and not await _visible(session, entry, member)):
        raise _not_found(seq)
    head_row = await session.scalar(
        select(EventLogHead).where(EventLogHead.seq >= seq).order_by(EventLogHead.seq).limit(1)
    )
    if head_row is None:
        raise Problem(
            409,
            "eventlog_entry_unsigned",
            f"entry {seq} is sealed but no signed head covers it yet; ask again shortly",
            headers={"Retry-After": str(retry_after)},
        )
    head = _head(head_row)
    if head.first_seq is None or head.entries_root is None:
        raise Problem(
            409,
            "eventlog_proof_unavailable",
            f"the head covering entry {seq} was signed without an entries root; "
            "prove it from an export (`lienthong log verify`)",
        )
    hashes = list(
        await session.scalars(
            select(EventLogEntry.hash)
            .where(EventLogEntry.seq >= head.first_seq, EventLogEntry.seq <= head.seq)
            .order_by(EventLogEntry.seq)
        )
    )
    leaves = [bytes.fromhex(str(digest)) for digest in hashes]
    index = seq - head.first_seq
    return LogInclusionProof(
        entry=_entry(entry),
        head=head,
        leaf_index=index,
        tree_size=len(leaves),
        path=[node.hex() for node in merkle.inclusion_path(leaves, index)],
    )


def _entry(row: EventLogEntry) -> LogEntry:
    assert row.seq is not None and row.prev_hash is not None and row.hash is not None
    return LogEntry(
        seq=row.seq,
        at=format_time(row.recorded_at),
        kind=row.kind,
        subject=row.subject,
        data=json.loads(row.data),
        prev=row.prev_hash,
        hash=row.hash,
    )
