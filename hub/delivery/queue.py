"""Which deliveries wait or failed: the one answer the admin API, the CLI, the dashboard
and `/metrics` all show."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Subquery, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.models import Delivery
from hub.db.sql import lowered
from hub.protocol import DeliveryState
from registry.models import Member
from registry.sorting import sort_order

__all__ = [
    "FAILED_SORT_COLUMNS",
    "PENDING_STATES",
    "TROUBLE_SORT_COLUMNS",
    "DeliveryRow",
    "RecipientTrouble",
    "deliveries_in_state",
    "delivery_row",
    "queue_depth",
    "troubled_recipients",
]

PENDING_STATES = (DeliveryState.QUEUED, DeliveryState.FAILED)
"""The states an operator watches: still to deliver, and given up."""
FAILED_SORT_COLUMNS = ("document", "attempts", "last_error")
"""The columns `deliveries_in_state` may sort by (`-column`: descending)."""
TROUBLE_SORT_COLUMNS = ("recipient", "name", "failed", "overdue", "oldest", "last_error")
"""The columns `troubled_recipients` may sort by (`-column`: descending)."""


class DeliveryRow(BaseModel):
    """One delivery as operators see it."""

    delivery_id: str
    document_id: str
    recipient: str
    state: DeliveryState
    attempts: int
    last_error: str | None


async def deliveries_in_state(
    session: AsyncSession,
    state: DeliveryState,
    *,
    recipient: str | None = None,
    limit: int | None = None,
    sort: str | None = None,
) -> list[DeliveryRow]:
    """Deliveries in `state` (optionally one recipient's), oldest first or in `sort` order."""
    query = select(Delivery).where(Delivery.state == state.value)
    if recipient is not None:
        query = query.where(Delivery.recipient == recipient)
    keys: dict[str, list[Any]] = {
        "document": [Delivery.document_id],
        "attempts": [Delivery.attempts],
        "last_error": [Delivery.last_error],
    }
    if sort:
        query = query.order_by(*sort_order(keys, sort, [Delivery.created_at, Delivery.id]))
    else:
        query = query.order_by(Delivery.created_at, Delivery.id)
    if limit is not None:
        query = query.limit(limit)
    return [
        DeliveryRow(
            delivery_id=d.id,
            document_id=d.document_id,
            recipient=d.recipient,
            state=DeliveryState(d.state),
            attempts=d.attempts,
            last_error=d.last_error,
        )
        for d in (await session.execute(query)).scalars()
    ]


async def delivery_row(session: AsyncSession, delivery_id: str) -> DeliveryRow | None:
    """One delivery as operators see it, or None."""
    d = await session.get(Delivery, delivery_id)
    if d is None:
        return None
    return DeliveryRow(
        delivery_id=d.id,
        document_id=d.document_id,
        recipient=d.recipient,
        state=DeliveryState(d.state),
        attempts=d.attempts,
        last_error=d.last_error,
    )


async def queue_depth(session: AsyncSession) -> dict[DeliveryState, int]:
    """How many deliveries are queued and how many failed, across every hub process."""
    rows = (
        await session.execute(
            select(Delivery.state, func.count())
            .where(Delivery.state.in_([s.value for s in PENDING_STATES]))
            .group_by(Delivery.state)
        )
    ).all()
    counts = {DeliveryState(state): int(n) for state, n in rows}
    return {state: counts.get(state, 0) for state in PENDING_STATES}


class RecipientTrouble(BaseModel):
    """One recipient's deliveries that need an operator: given up, or waiting too long."""

    recipient: str
    failed: int
    overdue: int
    """Still `queued` since before the cut-off (a push endpoint retrying, a pull member
    that does not pull)."""
    oldest: datetime
    """When the oldest of them began its current round of attempts."""
    last_error: str | None
    """The error of the most recently tried of them, if any was tried."""


def _troubled(overdue_before: datetime | None) -> ColumnElement[bool]:
    failed = Delivery.state == DeliveryState.FAILED.value
    if overdue_before is None:
        return failed
    return or_(
        failed,
        and_(Delivery.state == DeliveryState.QUEUED.value, Delivery.created_at < overdue_before),
    )


async def troubled_recipients(
    session: AsyncSession,
    overdue_before: datetime | None,
    *,
    recipient: str | None = None,
    sort: str | None = None,
) -> list[RecipientTrouble]:
    """Recipients with failed or overdue deliveries, most failed first, then most overdue,
    or in `sort` order (then by recipient).

    `overdue_before`: a delivery queued since before it is overdue; None: failed ones only.

    One query over the few deliveries in trouble (the state index finds them): the
    counts grouped by recipient, joined to each recipient's latest error by a window.
    """
    where = [_troubled(overdue_before)]
    if recipient is not None:
        where.append(Delivery.recipient == recipient)
    counts = _trouble_counts(where)
    errors = _latest_errors(where)
    name = select(Member.name).where(Member.code == counts.c.recipient).scalar_subquery()
    keys: dict[str, list[Any]] = {
        "recipient": [counts.c.recipient],
        "name": [lowered(session.get_bind().dialect.name, name)],
        "failed": [counts.c.failed],
        "overdue": [counts.c.overdue],
        "oldest": [counts.c.oldest],
        "last_error": [errors.c.last_error],
    }
    if sort:
        order = sort_order(keys, sort, [counts.c.recipient])
    else:
        order = [
            counts.c.failed.desc(),
            counts.c.overdue.desc(),
            counts.c.oldest,
            counts.c.recipient,
        ]
    found = await session.execute(
        select(counts, errors.c.last_error)
        .outerjoin(errors, errors.c.recipient == counts.c.recipient)
        .order_by(*order)
    )
    return [
        RecipientTrouble(
            recipient=code,
            failed=int(failed or 0),
            overdue=int(overdue or 0),
            oldest=oldest,
            last_error=last_error,
        )
        for code, failed, overdue, oldest, last_error in found.all()
    ]


def _trouble_counts(where: list[ColumnElement[bool]]) -> Subquery:
    """Per recipient among `where`: failed and overdue deliveries, the oldest's queuing."""
    return (
        select(
            Delivery.recipient.label("recipient"),
            func.sum(case((Delivery.state == DeliveryState.FAILED.value, 1), else_=0)).label(
                "failed"
            ),
            func.sum(case((Delivery.state == DeliveryState.QUEUED.value, 1), else_=0)).label(
                "overdue"
            ),
            func.min(Delivery.created_at).label("oldest"),
        )
        .where(*where)
        .group_by(Delivery.recipient)
        .subquery()
    )


def _latest_errors(where: list[ColumnElement[bool]]) -> Subquery:
    """Each recipient's error of its most recently tried delivery among `where`."""
    latest = (
        select(
            Delivery.recipient.label("recipient"),
            Delivery.last_error.label("last_error"),
            func.row_number()
            .over(
                partition_by=Delivery.recipient,
                order_by=(Delivery.next_attempt_at.desc(), Delivery.id.desc()),
            )
            .label("rn"),
        )
        .where(*where, Delivery.last_error.is_not(None))
        .subquery()
    )
    return select(latest.c.recipient, latest.c.last_error).where(latest.c.rn == 1).subquery()
