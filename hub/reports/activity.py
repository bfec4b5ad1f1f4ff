"""How many documents arrive: per Vietnam day and per hour, with the empty ones counted.

A chart of only the days that had documents would draw a quiet weekend as
no time at all; both series here have one entry per day or hour of the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.models import Document
from hub.reports.compliance import ComplianceRow, compliance_report
from hub.reports.dialect import utc_hour
from hub.reports.filters import Grouping, ReportFilter

__all__ = ["HourCount", "documents_per_day", "documents_per_hour"]


@dataclass(frozen=True)
class HourCount:
    hour: datetime
    """The hour's start, UTC."""
    documents: int


async def documents_per_day(
    session: AsyncSession, today: date, days: int = 30
) -> list[ComplianceRow]:
    """The compliance report's daily trend over the `days` Vietnam days ending `today`,
    oldest first, a zero row for a day without documents."""
    first = today - timedelta(days=days - 1)
    report = await compliance_report(session, ReportFilter(since=first), Grouping.DAY)
    by_day = {row.key: row for row in report.rows}
    series = (str(first + timedelta(days=n)) for n in range(days))
    return [by_day.get(day) or ComplianceRow(key=day) for day in series]


async def documents_per_hour(
    session: AsyncSession, now: datetime, hours: int = 48
) -> list[HourCount]:
    """Documents received in each of the `hours` hours up to `now`'s, oldest first."""
    last = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    first = last - timedelta(hours=hours - 1)
    bucket = utc_hour(session.get_bind().dialect.name, Document.received_at)
    rows = await session.execute(
        select(bucket, func.count()).where(Document.received_at >= first).group_by(bucket)
    )
    counts = {str(hour): int(n) for hour, n in rows}
    series = (first + timedelta(hours=n) for n in range(hours))
    return [HourCount(hour, counts.get(hour.strftime("%Y-%m-%d %H:00:00"), 0)) for hour in series]
