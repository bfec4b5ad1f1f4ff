"""The dashboard pages: overview, compliance, a sender, a trace.

Every figure comes from the same report functions as `/v1/reports`, so the
page and the API agree; lists are paged and use indexed queries.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from hub.context import hub_context
from hub.delivery.queue import queue_depth
from hub.protocol import DeliveryState
from hub.reports.compliance import ComplianceRow, compliance_report
from hub.reports.facts import VIOLATION_CODES, doc_type_of, vietnam_day
from hub.reports.filters import Grouping, ReportFilter, load_hierarchy
from hub.tracking.documents import operator_trace, sent_by
from hub.ui.auth import require_session
from hub.ui.charts import Bar, share_bars, trend_line
from hub.ui.render import page
from hub.ui.session import UiSession
from hub.ui.signatures import document_problems, panel
from registry.db import utcnow
from registry.members import MemberFilter, list_members
from registry.problems import Problem

router = APIRouter(prefix="/ui", include_in_schema=False)
SORTS = {
    "key": (lambda r: r.key, False),
    "documents": (lambda r: r.documents, True),
    "signed_share": (lambda r: r.share(r.signed), True),
    "compliant_share": (lambda r: r.share(r.compliant), True),
}
PAGE_SIZE = 50


def _date(value: str | None, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Problem(
            422, "validation_error", f"{field} is not a date (YYYY-MM-DD)",
            errors=[{"field": field, "message": "expected YYYY-MM-DD"}],
        ) from None  # fmt: skip


def ui_filter(
    since: str | None = None,
    until: str | None = None,
    recipient: str | None = Query(None, max_length=13),
    sender: str | None = Query(None, max_length=13),
    doc_type: str | None = Query(None, max_length=16),
) -> ReportFilter:
    """The API's filters from a form (empty fields mean no restriction)."""
    return ReportFilter(
        since=_date(since, "since"),
        until=_date(until, "until"),
        recipient=recipient or None,
        sender=sender or None,
        doc_type=doc_type or None,
    )


@router.get("")
async def overview(request: Request, session: UiSession = Depends(require_session)) -> Response:
    context = hub_context(request)
    today = vietnam_day(utcnow())
    async with context.sessions() as db:
        today_total = (await compliance_report(db, ReportFilter(since=today))).total
        month_total = (
            await compliance_report(db, ReportFilter(since=today - timedelta(days=29)))
        ).total
        depth = await queue_depth(db)
        members = (await list_members(db, MemberFilter(), limit=0))[1]
    return page(
        request, "overview.html", session, today=today, today_total=today_total,
        month_total=month_total, queued=depth[DeliveryState.QUEUED],
        failed=depth[DeliveryState.FAILED],
        members=members,
    )  # fmt: skip


@router.get("/compliance")
async def compliance(
    request: Request,
    flt: ReportFilter = Depends(ui_filter),
    group: Grouping = Grouping.SENDER,
    sort: str = Query("key", pattern="^(key|documents|signed_share|compliant_share)$"),
    session: UiSession = Depends(require_session),
) -> Response:
    async with hub_context(request).sessions() as db:
        report = await compliance_report(db, flt, group)
    key, descending = SORTS[sort]
    rows = sorted(report.rows, key=key, reverse=descending)
    chart = share_bars(
        [Bar(f"{r.key} {r.name}", (r.share(r.signed), r.share(r.compliant))) for r in rows],
        ["đã ký (signed)", "tuân thủ (compliant)"],
    )
    return page(
        request, "compliance.html", session, rows=rows, total=report.total, chart=chart,
        flt=flt, group=group.value, sort=sort, codes=VIOLATION_CODES,
    )  # fmt: skip


@router.get("/senders/{code}")
async def sender(
    request: Request,
    code: str,
    flt: ReportFilter = Depends(ui_filter),
    offset: int = Query(0, ge=0),
    session: UiSession = Depends(require_session),
) -> Response:
    own = replace(flt, sender=None, only_member=code)
    async with hub_context(request).sessions() as db:
        hierarchy = await load_hierarchy(db)
        if code not in hierarchy.names:
            raise Problem(404, "member_not_found", f"no member {code}")
        total = (await compliance_report(db, own, hierarchy=hierarchy)).total
        trend = await compliance_report(db, own, Grouping.DAY, hierarchy)
        documents = await sent_by(db, code, offset=offset, limit=PAGE_SIZE + 1)
    days = [r.key for r in trend.rows]
    chart = trend_line(
        days,
        {
            "đã ký (signed)": [r.share(r.signed) for r in trend.rows],
            "tuân thủ (compliant)": [r.share(r.compliant) for r in trend.rows],
        },
    )
    breakdown = share_bars(
        [Bar(c, (total.violations[c] / total.documents if total.documents else 0.0,))
         for c in VIOLATION_CODES if total.violations[c]],
        ["tỷ lệ văn bản (share of documents)"],
    )  # fmt: skip
    return page(
        request, "sender.html", session, code=code, name=hierarchy.names[code], total=total,
        chart=chart, breakdown=breakdown, codes=VIOLATION_CODES,
        documents=documents[:PAGE_SIZE], offset=offset, more=len(documents) > PAGE_SIZE,
        page_size=PAGE_SIZE,
    )  # fmt: skip


def _timeline(trace: Any) -> list[dict[str, Any]]:
    verdict = (
        "tuân thủ (compliant)"
        if trace.verdict.compliant
        else "vi phạm: " + " ".join(trace.verdict.violations)
    )
    events = [
        {"at": trace.received_at, "what": "submitted", "detail": f"từ {trace.sender}"},
        {"at": trace.received_at, "what": "verdict", "detail": verdict},
    ]
    for d in trace.deliveries:
        who = d.recipient
        if d.outcome.value != "accepted":
            events.append({"at": trace.received_at, "what": "refused", "detail": f"{who}: "
                           f"{d.outcome.value} {' '.join(d.reasons)}"})  # fmt: skip
        events.extend(
            {"at": a.started_at, "what": f"attempt {a.attempt}",
             "detail": f"{who}: {a.outcome} {a.detail or ''}"}
            for a in d.attempt_log
        )  # fmt: skip
        events.extend(
            {"at": s.recorded_at, "what": f"status {s.code.value}",
             "detail": f"{who}: {s.reason or ''}"}
            for s in d.statuses
        )  # fmt: skip
    if trace.recalled_at is not None:
        events.append({"at": trace.recalled_at, "what": "recall", "detail": "thu hồi"})
    return sorted(events, key=lambda e: e["at"])


@router.get("/documents/{document_id}")
async def trace_page(
    request: Request, document_id: str, session: UiSession = Depends(require_session)
) -> Response:
    try:
        document_id = str(uuid.UUID(document_id))
    except ValueError:
        raise Problem(404, "document_not_found", f"no document {document_id}") from None
    async with hub_context(request).sessions() as db:
        try:
            trace = await operator_trace(db, document_id)
        except ValidationError as exc:  # a stored verdict that no longer parses
            raise Problem(409, "trace_unreadable", str(exc)) from exc
        doc_type = await doc_type_of(db, document_id)
    return page(
        request, "trace.html", session, trace=trace, events=_timeline(trace), doc_type=doc_type,
        signatures=panel(trace.verdict), document_problems=document_problems(trace.verdict),
    )  # fmt: skip


__all__ = ["ComplianceRow", "router"]
