"""The delivery report: per recipient health and latency, per sender late dispatch.

Percentiles use the nearest-rank method with window functions, so the same
SQL runs on SQLite and PostgreSQL and only the chosen values come back.
Overdue receipts follow Decree 30: a recipient notifies arrival (01) the day
it receives a document; a delivery whose first 01 came on a later Vietnam
day, or that has none after its day is over, is overdue.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Select, and_, case, func, literal, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from hub import protocol
from hub.db.models import Delivery, StatusUpdateRow
from hub.reports.dialect import seconds_between, vietnam_date
from hub.reports.facts import bit_of, vietnam_day
from hub.reports.filters import Hierarchy, ReportFilter, load_hierarchy, senders_of
from hub.reports.models import ReportFact

STATUS_STATES = protocol.STATE_BY_CODE | {"recalled": "recalled"}
PERCENTILES = (50, 90, 95, 99)


@dataclass
class RecipientRow:
    recipient: str
    name: str = ""
    deliveries: int = 0
    delivered: int = 0
    pending: int = 0
    failed: int = 0
    refused: int = 0
    overdue_receipts: int = 0
    statuses: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUS_STATES, 0))
    latency_seconds: dict[str, float | None] = field(
        default_factory=lambda: {f"p{p}": None for p in PERCENTILES}
    )


@dataclass
class SenderRow:
    sender: str
    name: str = ""
    documents: int = 0
    late_dispatch: int = 0


@dataclass
class DeliveryReport:
    recipients: list[RecipientRow]
    senders: list[SenderRow]

    def as_dict(self) -> dict[str, Any]:
        """Shallow copies by hand: `dataclasses.asdict` deep-copies every value, which
        costs more than the query when twelve thousand recipients come back."""
        return {
            "recipients": [
                {
                    **vars(r),
                    "statuses": dict(r.statuses),
                    "latency_seconds": dict(r.latency_seconds),
                }
                for r in self.recipients
            ],
            "senders": [dict(vars(s)) for s in self.senders],
        }


def _filtered(query: Select[Any], flt: ReportFilter, senders: set[str] | None) -> Select[Any]:
    """Join the deliveries to their facts, which carry sender, day and document type."""
    f = ReportFact
    query = query.join(
        f, and_(f.document_id == Delivery.document_id, f.recipient == Delivery.recipient)
    )
    if flt.recipient is not None:
        query = query.where(Delivery.recipient == flt.recipient)
    if flt.only_member is not None:
        query = query.where(Delivery.recipient == flt.only_member)
    if flt.since is not None:
        query = query.where(f.day >= flt.since)
    if flt.until is not None:
        query = query.where(f.day <= flt.until)
    if flt.doc_type is not None:
        query = query.where(f.doc_type == flt.doc_type)
    if senders is not None:
        query = query.where(f.sender.in_(sorted(senders)))
    return query


def _count(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _first_arrival() -> Any:
    """When the delivery's recipient first notified arrival (01): looked up for the
    report's own deliveries only, through the status updates' delivery index."""
    return (
        select(func.min(StatusUpdateRow.recorded_at))
        .where(StatusUpdateRow.delivery_id == Delivery.id, StatusUpdateRow.code == "01")
        .correlate(Delivery)
        .scalar_subquery()
    )


def _per_delivery(dialect: str, flt: ReportFilter, senders: set[str] | None) -> Any:
    """One row per delivery the filter keeps: its state, delivery and first arrival, its
    latency and that latency's rank among its recipient's delivered ones."""
    seconds = seconds_between(dialect, Delivery.created_at, Delivery.delivered_at)
    return _filtered(
        select(
            Delivery.recipient.label("recipient"),
            Delivery.state.label("state"),
            Delivery.delivered_at.label("delivered_at"),
            case((Delivery.delivered_at.is_not(None), _first_arrival())).label("arrival"),
            seconds.label("seconds"),
            func.row_number()
            .over(
                partition_by=Delivery.recipient, order_by=(Delivery.delivered_at.is_(None), seconds)
            )
            .label("rn"),
            func.count(Delivery.delivered_at).over(partition_by=Delivery.recipient).label("n"),
        ),
        flt,
        senders,
    ).subquery()


def _overdue(dialect: str, delivered_at: Any, arrival: Any, today: date) -> Any:
    """Delivered, and no 01 the same Vietnam day: a later one, or none once that day is over."""
    delivered_day = vietnam_date(dialect, delivered_at)
    return and_(
        delivered_at.is_not(None),
        or_(
            and_(arrival.is_(None), delivered_day < literal(today, Date())),
            vietnam_date(dialect, arrival) > delivered_day,
        ),
    )


async def _recipients(
    session: AsyncSession, flt: ReportFilter, senders: set[str] | None, today: date
) -> dict[str, RecipientRow]:
    """Counts, statuses, overdue receipts and latency percentiles per recipient, in one
    pass over the filtered deliveries."""
    dialect = session.get_bind().dialect.name
    d = _per_delivery(dialect, flt, senders)
    picks = [
        func.min(case((and_(d.c.seconds.is_not(None), d.c.rn >= (d.c.n * p + 99) // 100),
                      d.c.seconds)))
        for p in PERCENTILES
    ]  # fmt: skip
    query = select(
        d.c.recipient,
        func.count(),
        _count(d.c.seconds.is_not(None)),
        _count(d.c.state == "queued"),
        _count(d.c.state == "failed"),
        _count(d.c.state == "refused"),
        _count(_overdue(dialect, d.c.delivered_at, d.c.arrival, today)),
        *[_count(d.c.state == name) for name in STATUS_STATES.values()],
        *picks,
    ).group_by(d.c.recipient)
    rows: dict[str, RecipientRow] = {}
    width = len(STATUS_STATES)
    for recipient, total, delivered, pending, failed, refused, late, *rest in (
        await session.execute(query)
    ).all():
        states, values = rest[:width], rest[width:]
        rows[recipient] = RecipientRow(
            recipient=recipient,
            deliveries=int(total),
            delivered=int(delivered or 0),
            pending=int(pending or 0),
            failed=int(failed or 0),
            refused=int(refused or 0),
            overdue_receipts=int(late or 0),
            statuses={code: int(n or 0) for code, n in zip(STATUS_STATES, states, strict=True)},
            latency_seconds={
                f"p{p}": round(float(v), 3) if v is not None else None
                for p, v in zip(PERCENTILES, values, strict=True)
            },
        )
    return rows


async def _late_senders(
    session: AsyncSession, flt: ReportFilter, senders: set[str] | None
) -> list[SenderRow]:
    f = ReportFact
    late = bit_of("LATE_DISPATCH")
    query = select(f.sender, func.count(), _count(f.violations.op("&")(late) != 0)).group_by(
        f.sender
    )
    query = query.where(f.recipient == flt.recipient) if flt.recipient else query.where(f.lead == 1)
    if flt.since is not None:
        query = query.where(f.day >= flt.since)
    if flt.until is not None:
        query = query.where(f.day <= flt.until)
    if flt.doc_type is not None:
        query = query.where(f.doc_type == flt.doc_type)
    if flt.only_member is not None:
        query = query.where(f.sender == flt.only_member)
    if senders is not None:
        query = query.where(f.sender.in_(sorted(senders)))
    return [
        SenderRow(sender=s, documents=int(n), late_dispatch=int(late_n or 0))
        for s, n, late_n in (await session.execute(query)).all()
    ]


@asynccontextmanager
async def _probing_deliveries(session: AsyncSession, subtree: bool) -> AsyncIterator[None]:
    """For a sender subtree on PostgreSQL, join the facts to their deliveries one index
    probe each rather than by hashing the whole deliveries table.

    The planner misjudges the two-column join (it multiplies the selectivities of
    document and recipient) and hashes (or merges) every delivery: with 3,000,000 of them one
    province's report took 11 s. `SET LOCAL` lasts until the transaction ends and
    is put back as soon as the query is done.
    """
    hint = subtree and session.get_bind().dialect.name == "postgresql"
    if hint:
        await session.execute(text("SET LOCAL enable_hashjoin = off"))
        await session.execute(text("SET LOCAL enable_mergejoin = off"))
    yield  # on an error the transaction is lost, and the settings with it
    if hint:
        await session.execute(text("SET LOCAL enable_hashjoin TO DEFAULT"))
        await session.execute(text("SET LOCAL enable_mergejoin TO DEFAULT"))


async def delivery_report(
    session: AsyncSession,
    flt: ReportFilter,
    hierarchy: Hierarchy | None = None,
    now: datetime | None = None,
) -> DeliveryReport:
    flt.check()
    hierarchy = hierarchy or await load_hierarchy(session)
    senders = senders_of(flt, hierarchy)
    today = vietnam_day(now or datetime.now().astimezone())
    async with _probing_deliveries(session, senders is not None):
        rows = await _recipients(session, flt, senders, today)
    for row in rows.values():
        row.name = hierarchy.names.get(row.recipient, "")
    sender_rows = await _late_senders(session, flt, senders)
    for s in sender_rows:
        s.name = hierarchy.names.get(s.sender, "")
    return DeliveryReport(
        recipients=sorted(rows.values(), key=lambda r: r.recipient),
        senders=sorted(sender_rows, key=lambda s: s.sender),
    )
