"""Recipients' statuses: checking them against the delivery's state, recording, relaying.

Codes 01 and 03–06 move a delivery forward and never back: a status that
arrives late (out of order across processes) is kept in the trace with its
own time but does not regress the state. 02 ends the workflow. 15 and 16
answer a recall. Each status is also a message to the sender, pushed or read
from `GET /v1/status-updates` by cursor.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.models import Delivery, Document, StatusCounter, StatusUpdateRow
from hub.db.notify import announce, status_key
from hub.db.sql import insert_ignoring_duplicates
from hub.eventlog import chain as eventlog
from hub.protocol import (
    STATUS_STATES,
    StatusCode,
    StatusEntry,
    StatusPost,
    StatusUpdate,
    StatusUpdatesPage,
)
from registry.db import utcnow
from registry.models import Member
from registry.problems import Problem
from signing.edxml import DocumentRef, EdxmlStatus, status_to_edxml
from signing.edxml.ids import edxml_timestamp

ACCEPTED_STATES = frozenset({"accepted", "assigned", "processing", "completed"})
"""States in which the recipient has taken the document in: a recall needs its answer."""


async def next_seq(session: AsyncSession, audience: str) -> int:
    """The next number of `audience`'s stream; the counter row stays locked until commit."""
    await session.execute(
        insert_ignoring_duplicates(
            session, StatusCounter, [{"audience": audience, "last_seq": 0}], ["audience"]
        )
    )
    result = await session.execute(
        update(StatusCounter)
        .where(StatusCounter.audience == audience)
        .values(last_seq=StatusCounter.last_seq + 1)
        .returning(StatusCounter.last_seq)
    )
    return int(result.scalar_one())


async def pushes_to(session: AsyncSession, member: str) -> bool:
    """Whether `member` takes statuses by push (mode `push` with an endpoint)."""
    row = (
        await session.execute(
            select(Member.delivery_mode, Member.endpoint).where(Member.code == member)
        )
    ).one_or_none()
    return row is not None and row.delivery_mode == "push" and bool(row.endpoint)


async def add_status(
    session: AsyncSession,
    delivery: Delivery,
    code: StatusCode,
    *,
    audience: str,
    at: datetime,
    now: datetime,
    reason: str | None = None,
) -> StatusUpdateRow:
    """Record a status of `delivery` addressed to `audience`, in the caller's transaction."""
    push = await pushes_to(session, audience)
    row = StatusUpdateRow(
        delivery_id=delivery.id,
        document_id=delivery.document_id,
        recipient=delivery.recipient,
        audience=audience,
        seq=await next_seq(session, audience),
        code=code.value,
        reason=reason,
        at=at,
        recorded_at=now,
        push_state="pending" if push else "pull",
        push_attempts=0,
        next_attempt_at=now if push else None,
    )
    session.add(row)
    await announce(session, [status_key(audience)])
    await eventlog.record(
        session,
        "status.recorded",
        delivery.document_id,
        {
            "delivery_id": delivery.id,
            "recipient": delivery.recipient,
            "code": code.value,
            "reason": reason,
            "at": at,
        },
    )
    return row


def check_transition(delivery: Delivery, seen: set[str], post: StatusPost) -> None:
    """Refuse a status that makes no sense now (409, or 422 for a missing reason)."""
    code = post.code
    if delivery.outcome != "accepted":
        raise Problem(409, "delivery_refused", "this document was never delivered to you")
    if delivery.state == "recalled":
        raise Problem(409, "document_recalled", "the sender recalled this document")
    if code in (StatusCode.RECALL_AGREED, StatusCode.RECALL_REFUSED):
        if not delivery.recall_pending:
            raise Problem(409, "no_recall_pending", f"{code.value} answers a recall; none is open")
        return
    if StatusCode.REJECTED.value in seen:
        raise Problem(409, "status_after_rejection", "the document was rejected (02) already")
    if code is not StatusCode.ARRIVED and StatusCode.ARRIVED.value not in seen:
        raise Problem(409, "status_before_arrival", f"{code.value} needs 01 (arrived) first")
    if code is StatusCode.REJECTED:
        if not (post.reason or "").strip():
            raise Problem(
                422,
                "reason_required",
                "a rejection (02) needs a reason",
                errors=[{"field": "reason", "message": "required for 02"}],
            )
        if delivery.state in ACCEPTED_STATES:
            raise Problem(409, "already_accepted", "the document was accepted (03) already")


def apply(delivery: Delivery, code: StatusCode, now: datetime) -> None:
    """Move the delivery's state for a status that passed `check_transition`."""
    delivery.delivered_at = delivery.delivered_at or now
    delivery.leased_until = None
    delivery.lease_owner = None
    if code is StatusCode.RECALL_AGREED:
        delivery.state, delivery.recall_pending = "recalled", False
    elif code is StatusCode.RECALL_REFUSED:
        delivery.recall_pending = False
    elif code is StatusCode.REJECTED:
        delivery.state = "rejected"
    else:
        rank = int(code.value)
        if rank > delivery.status_rank:
            delivery.status_rank = rank
            delivery.state = STATUS_STATES[code]


async def post_status(
    sessions: async_sessionmaker[AsyncSession], member: str, document_id: str, post: StatusPost
) -> StatusEntry:
    """`POST /v1/documents/{id}/status` by one of the document's recipients."""
    if post.code is StatusCode.RECALLED:
        raise Problem(422, "status_not_allowed", "13 is set by the hub when the sender recalls")
    now = utcnow()
    async with sessions() as session:
        sender = (
            await session.execute(select(Document.sender).where(Document.id == document_id))
        ).scalar_one_or_none()
        delivery = (
            await session.execute(
                select(Delivery)
                .where(Delivery.document_id == document_id, Delivery.recipient == member)
                .with_for_update()
            )
        ).scalar_one_or_none()
        if sender is None or (delivery is None and sender != member):
            raise Problem(404, "document_not_found", f"no document {document_id} for you")
        if delivery is None:
            raise Problem(403, "not_a_recipient", "only a recipient may post a status")
        seen = set(
            (
                await session.execute(
                    select(StatusUpdateRow.code).where(StatusUpdateRow.delivery_id == delivery.id)
                )
            ).scalars()
        )
        check_transition(delivery, seen, post)
        apply(delivery, post.code, now)
        row = await add_status(
            session,
            delivery,
            post.code,
            audience=sender,
            at=post.at or now,
            now=now,
            reason=post.reason,
        )
        await session.commit()
    return StatusEntry(code=post.code, reason=row.reason, at=row.at, recorded_at=row.recorded_at)


async def status_updates(
    sessions: async_sessionmaker[AsyncSession], member: str, cursor: int, limit: int
) -> StatusUpdatesPage:
    """`GET /v1/status-updates`: `member`'s stream after `cursor`, oldest first.

    An edXML member's updates carry the same status as an edXML status message.
    """
    async with sessions() as session:
        rows = list(
            (
                await session.execute(
                    select(StatusUpdateRow)
                    .where(StatusUpdateRow.audience == member, StatusUpdateRow.seq > cursor)
                    .order_by(StatusUpdateRow.seq)
                    .limit(limit)
                )
            ).scalars()
        )
        messages: dict[int, bytes] = {}
        if rows and await wire_format_of(session, member) == "edxml":
            messages = await edxml_statuses(session, rows)
        updates = [status_update(row, messages.get(row.id)) for row in rows]
    return StatusUpdatesPage(updates=updates, next_cursor=updates[-1].cursor if updates else cursor)


def status_update(row: StatusUpdateRow, edxml: bytes | None = None) -> StatusUpdate:
    """A stored status as its audience hears it, pushed or pulled."""
    return StatusUpdate(
        cursor=row.seq,
        document_id=row.document_id,
        recipient=row.recipient,
        code=StatusCode(row.code),
        reason=row.reason,
        at=row.at,
        recorded_at=row.recorded_at,
        **({} if edxml is None else {"edxml": edxml.decode()}),
    )


async def wire_format_of(session: AsyncSession, member: str) -> str:
    """`json` or `edxml`: the format `member` receives in."""
    found = await session.scalar(select(Member.wire_format).where(Member.code == member))
    return found or "json"


async def edxml_statuses(
    session: AsyncSession, rows: Sequence[StatusUpdateRow]
) -> dict[int, bytes]:
    """Each status row as an edXML status message (row id -> bytes).

    `ResponseFor` names the document as its sender does: the sender's code,
    the envelope's DocumentId (the package id for a JSON-born document), its
    number/notation and promulgation date. `From` is who reports it: the
    recipient, or the sender for the hub's 13 (recalled by the sender).
    """
    ids = sorted({row.document_id for row in rows})
    documents = {
        doc.id: doc
        for doc in await session.execute(
            select(
                Document.id, Document.sender, Document.edxml_document_id, Document.package
            ).where(Document.id.in_(ids))
        )
    }
    messages: dict[int, bytes] = {}
    for row in rows:
        doc = documents.get(row.document_id)
        if doc is None:
            continue
        header = json.loads(doc.package).get("header", {})
        code = header.get("code") or {}
        status = EdxmlStatus(
            document=DocumentRef(
                organ_id=doc.sender,
                document_id=doc.edxml_document_id or doc.id,
                code=f"{code.get('number', '')}/{code.get('notation', '')}",
                promulgation_date=(header.get("promulgation") or {}).get("date"),
            ),
            organ_id=doc.sender if row.code == StatusCode.RECALLED.value else row.recipient,
            code=row.code,  # type: ignore[arg-type]
            description=row.reason,
            timestamp=edxml_timestamp(row.at),
        )
        messages[row.id] = status_to_edxml(status)
    return messages
