"""`/ui`: the hub at a glance: arrivals per day and per hour, delivery health, the
signature compliance trend, what expires within 30 days, the event log's signed head."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from hub.alerts.conditions import Expiry, expiries
from hub.context import hub_context
from hub.delivery.health import delivery_health
from hub.eventlog.heads import latest_head
from hub.reports.activity import HourCount, documents_per_day, documents_per_hour
from hub.reports.compliance import ComplianceRow
from hub.reports.facts import vietnam_day
from hub.ui.auth import require_session
from hub.ui.charts import count_columns, trend_line
from hub.ui.compliance import COMPLIANT, SIGNED
from hub.ui.render import page
from hub.ui.session import UiSession
from hub.ui.sorting import parse_sort, sort_rows
from hub.ui.times import VIETNAM
from registry.db import utcnow
from registry.members import MemberFilter, list_members

__all__ = ["EXPIRY_DAYS", "router"]

router = APIRouter(prefix="/ui", include_in_schema=False)

EXPIRY_DAYS = 30
"""How far ahead the overview lists expiring certificates and the CRL's next update."""

DAY_KEYS: dict[str, Callable[[ComplianceRow], Any]] = {
    "day": lambda r: r.key,
    "day_documents": lambda r: r.documents,
    "day_signed_share": lambda r: r.share(r.signed),
    "day_compliant_share": lambda r: r.share(r.compliant),
}
HOUR_KEYS: dict[str, Callable[[HourCount], Any]] = {
    "hour": lambda h: h.hour,
    "hour_documents": lambda h: h.documents,
}
EXPIRY_KEYS: dict[str, Callable[[Expiry], Any]] = {
    "expiry_owner": lambda e: e.owner,
    "expiry_what": lambda e: e.what,
    "expiry_at": lambda e: e.not_after,
}


def _month_total(days: list[ComplianceRow]) -> ComplianceRow:
    total = ComplianceRow(key="total")
    for row in days:
        total.add(row)
    return total


@router.get("")
async def overview(request: Request, session: UiSession = Depends(require_session)) -> Response:
    sort = parse_sort(request, [*DAY_KEYS, *HOUR_KEYS, *EXPIRY_KEYS])
    context = hub_context(request)
    now = utcnow()
    async with context.sessions() as db:
        days = await documents_per_day(db, vietnam_day(now), 30)
        hours = await documents_per_hour(db, now, 48)
        health = await delivery_health(db)
        horizon = now + timedelta(days=EXPIRY_DAYS)
        expiring = [e for e in await expiries(db, context.identity) if e.not_after <= horizon]
        head = await latest_head(db)
        members = (await list_members(db, MemberFilter(), limit=0))[1]
    busy = [d for d in days if d.documents]
    hour_labels = [h.hour.astimezone(VIETNAM).strftime("%d/%m %Hh") for h in hours]
    charts = {
        "days": count_columns(
            [d.key[5:] for d in days], [d.documents for d in days], "văn bản/ngày (per day)",
            every=5,
        ),
        "hours": count_columns(
            hour_labels, [h.documents for h in hours], "văn bản/giờ (per hour)", every=8
        ),
        "trend": trend_line(  # days without documents have no share to draw
            [d.key for d in busy],
            {SIGNED: [d.share(d.signed) for d in busy],
             COMPLIANT: [d.share(d.compliant) for d in busy]},
        ),
    }  # fmt: skip
    return page(
        request, "overview.html", session, today=days[-1], month=_month_total(days),
        days=sort_rows(sort, DAY_KEYS, days), hours=sort_rows(sort, HOUR_KEYS, hours),
        health=health, expiring=sort_rows(sort, EXPIRY_KEYS, expiring), head=head,
        members=members, charts=charts, sort=sort, now=now, expiry_days=EXPIRY_DAYS,
    )  # fmt: skip
