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
from dataclasses import asdict, dataclass, field
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
        return {
            "recipients": [asdict(r) for r in self.recipients],
            "senders": [asdict(s) for s in self.senders],
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


async def _counts(
    session: AsyncSession, flt: ReportFilter, senders: set[str] | None, today: date
) -> dict[str, RecipientRow]:
    dialect = session.get_bind().dialect.name
    first_arrival = (
        select(
            StatusUpdateRow.delivery_id.label("delivery_id"),
            func.min(StatusUpdateRow.recorded_at).label("at"),
        )
        .where(StatusUpdateRow.code == "01")
        .group_by(StatusUpdateRow.delivery_id)
        .subquery()
    )
    delivered_day = vietnam_date(dialect, Delivery.delivered_at)
    overdue = and_(
        Delivery.delivered_at.is_not(None),
        or_(
            and_(first_arrival.c.at.is_(None), delivered_day < literal(today, Date())),
            vietnam_date(dialect, first_arrival.c.at) > delivered_day,
        ),
    )
    state = Delivery.state
    query = _filtered(
        select(
            Delivery.recipient,
            func.count(),
            _count(Delivery.delivered_at.is_not(None)),
            _count(state == "queued"),
            _count(state == "failed"),
            _count(state == "refused"),
            _count(overdue),
            *[_count(state == name) for name in STATUS_STATES.values()],
        ).outerjoin(first_arrival, first_arrival.c.delivery_id == Delivery.id),
        flt,
        senders,
    ).group_by(Delivery.recipient)
    rows: dict[str, RecipientRow] = {}
    for recipient, total, delivered, pending, failed, refused, late, *states in (
        await session.execute(query)
    ).all():
        rows[recipient] = RecipientRow(
            recipient=recipient,
            deliveries=int(total),
            delivered=int(delivered or 0),
            pending=int(pending or 0),
            failed=int(failed or 0),
            refused=int(refused or 0),
            overdue_receipts=int(late or 0),
            statuses={code: int(n or 0) for code, n in zip(STATUS_STATES, states, strict=True)},
        )
    return rows


async def _latencies(
    session: AsyncSession, flt: ReportFilter, senders: set[str] | None
) -> dict[str, dict[str, float | None]]:
    seconds = seconds_between(
        session.get_bind().dialect.name, Delivery.created_at, Delivery.delivered_at
    )
    ranked = _filtered(
        select(
            Delivery.recipient.label("recipient"),
            seconds.label("seconds"),
            func.row_number().over(partition_by=Delivery.recipient, order_by=seconds).label("rn"),
            func.count().over(partition_by=Delivery.recipient).label("n"),
        ).where(Delivery.delivered_at.is_not(None)),
        flt,
        senders,
    ).subquery()
    picks = [
        func.min(case((ranked.c.rn >= (ranked.c.n * p + 99) // 100, ranked.c.seconds)))
        for p in PERCENTILES
    ]
    query = select(ranked.c.recipient, *picks).group_by(ranked.c.recipient)
    return {
        recipient: {
            f"p{p}": round(float(v), 3) if v is not None else None
            for p, v in zip(PERCENTILES, values, strict=True)
        }
        for recipient, *values in (await session.execute(query)).all()
    }


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
    is put back as soon as the two queries are done.
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
        rows = await _counts(session, flt, senders, today)
        latencies = await _latencies(session, flt, senders)
    for recipient, latency in latencies.items():
        if recipient in rows:
            rows[recipient].latency_seconds = latency
    for row in rows.values():
        row.name = hierarchy.names.get(row.recipient, "")
    sender_rows = await _late_senders(session, flt, senders)
    for s in sender_rows:
        s.name = hierarchy.names.get(s.sender, "")
    return DeliveryReport(
        recipients=sorted(rows.values(), key=lambda r: r.recipient),
        senders=sorted(sender_rows, key=lambda s: s.sender),
    )
