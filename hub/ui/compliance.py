"""The compliance ranking and one sender's page: the `/v1/reports` figures, sortable,
with each chart's numbers in a table beside it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from hub.context import hub_context
from hub.reports.compliance import ComplianceRow, compliance_report
from hub.reports.facts import VIOLATION_CODES
from hub.reports.filters import Grouping, ReportFilter, load_hierarchy
from hub.tracking.search import SORT_COLUMNS, DocumentQuery, search_documents
from hub.ui.auth import require_session
from hub.ui.charts import Bar, share_bars, trend_line
from hub.ui.forms import PAGE_SIZE, ui_filter
from hub.ui.labels import violation_label
from hub.ui.render import page
from hub.ui.session import UiSession
from hub.ui.sorting import parse_sort, sort_rows
from registry.db import INT64_MAX
from registry.problems import Problem

__all__ = ["ROW_KEYS", "router"]

router = APIRouter(prefix="/ui", include_in_schema=False)

ROW_KEYS: dict[str, Callable[[ComplianceRow], Any]] = {
    "key": lambda r: r.key,
    "name": lambda r: r.name.casefold(),
    "documents": lambda r: r.documents,
    "signed": lambda r: r.signed,
    "personal_ok": lambda r: r.personal_ok,
    "org_ok": lambda r: r.org_ok,
    "compliant": lambda r: r.compliant,
    "signed_pdf_only": lambda r: r.signed_pdf_only,
    "signed_envelope_only": lambda r: r.signed_envelope_only,
    "signed_both": lambda r: r.signed_both,
    "signed_share": lambda r: r.share(r.signed),
    "compliant_share": lambda r: r.share(r.compliant),
}
"""The compliance table's columns and how each sorts."""

SIGNED, COMPLIANT = "đã ký (signed)", "tuân thủ (compliant)"


@router.get("/compliance")
async def compliance(
    request: Request,
    flt: ReportFilter = Depends(ui_filter),
    group: Grouping = Grouping.SENDER,
    offset: int = Query(0, ge=0, le=INT64_MAX),
    session: UiSession = Depends(require_session),
) -> Response:
    """One page of the ranking in the chosen order; `/ui/compliance.csv` has every row."""
    sort = parse_sort(request, ROW_KEYS, "key")
    async with hub_context(request).sessions() as db:
        report = await compliance_report(db, flt, group)
    ranked = sort_rows(sort, ROW_KEYS, report.rows)
    rows = ranked[offset : offset + PAGE_SIZE]
    chart = share_bars(
        [Bar(f"{r.key} {r.name}", (r.share(r.signed), r.share(r.compliant))) for r in rows],
        [SIGNED, COMPLIANT],
    )
    return page(
        request, "compliance.html", session, rows=rows, total=report.total, chart=chart,
        flt=flt, group=group.value, sort=sort, codes=VIOLATION_CODES,
        offset=offset, more=len(ranked) > offset + PAGE_SIZE, page_size=PAGE_SIZE,
        count=len(ranked),
    )  # fmt: skip


VIOLATION_KEYS: dict[str, Callable[[tuple[str, int, float]], Any]] = {
    "violation": lambda v: v[0],
    "count": lambda v: v[1],
    "share": lambda v: v[2],
}
TREND_KEYS: dict[str, Callable[[ComplianceRow], Any]] = {
    "day": lambda r: r.key,
    "day_documents": lambda r: r.documents,
    "day_signed_share": lambda r: r.share(r.signed),
    "day_compliant_share": lambda r: r.share(r.compliant),
}
SENDER_DOCUMENT_COLUMNS = tuple(c for c in SORT_COLUMNS if c != "sender")


@router.get("/senders/{code}")
async def sender(
    request: Request,
    code: str,
    flt: ReportFilter = Depends(ui_filter),
    offset: int = Query(0, ge=0, le=INT64_MAX),
    session: UiSession = Depends(require_session),
) -> Response:
    # each table its own order, so sorting one keeps the others as they were
    sort = parse_sort(request, SENDER_DOCUMENT_COLUMNS, "-received_at")
    violations_sort = parse_sort(
        request, VIOLATION_KEYS, param="violations_sort", offset_param="violations_offset"
    )
    trend_sort = parse_sort(request, TREND_KEYS, param="trend_sort", offset_param="trend_offset")
    own = replace(flt, sender=None, only_member=code)
    async with hub_context(request).sessions() as db:
        hierarchy = await load_hierarchy(db)
        if code not in hierarchy.names:
            raise Problem(404, "member_not_found", f"no member {code}")
        total = (await compliance_report(db, own, hierarchy=hierarchy)).total
        trend = await compliance_report(db, own, Grouping.DAY, hierarchy)
        documents = await search_documents(
            db, DocumentQuery(sender=code, since=flt.since, until=flt.until,
                              recipient=flt.recipient, doc_type=flt.doc_type),
            sort=sort.value, offset=offset, limit=PAGE_SIZE + 1,
        )  # fmt: skip
    chart = trend_line(
        [r.key for r in trend.rows],
        {
            SIGNED: [r.share(r.signed) for r in trend.rows],
            COMPLIANT: [r.share(r.compliant) for r in trend.rows],
        },
    )
    violations = [
        (c, total.violations[c], total.violations[c] / total.documents if total.documents else 0.0)
        for c in VIOLATION_CODES
        if total.violations[c]
    ]
    breakdown = share_bars(
        [Bar(violation_label(c), (share,)) for c, _, share in violations],
        ["tỷ lệ văn bản (share of documents)"],
    )
    return page(
        request, "sender.html", session, code=code, name=hierarchy.names[code], total=total,
        chart=chart, breakdown=breakdown, sort=sort, flt=flt,
        violations_sort=violations_sort, trend_sort=trend_sort,
        violations=sort_rows(violations_sort, VIOLATION_KEYS, violations),
        trend=sort_rows(trend_sort, TREND_KEYS, trend.rows), names=hierarchy.names,
        documents=documents[:PAGE_SIZE], offset=offset, more=len(documents) > PAGE_SIZE,
        page_size=PAGE_SIZE,
    )  # fmt: skip
