"""The dashboard's delivery page and its redrive actions.

What needs an operator comes first: failed and overdue deliveries grouped by
recipient (`troubled_recipients`, also `GET /v1/admin/deliveries/troubled`),
then latency per recipient, then the full per-recipient report
(`delivery_report`, also `/v1/reports/delivery`). Redrives go through
`hub.delivery.redrive`, as the admin API's do, naming the operator.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from hub.context import hub_context
from hub.delivery.queue import (
    DeliveryRow,
    deliveries_in_state,
    delivery_row,
    troubled_recipients,
)
from hub.delivery.redrive import redrive as redrive_delivery
from hub.delivery.redrive import redrive_recipient
from hub.protocol import DeliveryState
from hub.reports.delivery import STATUS_STATES, DeliveryReport, delivery_report
from hub.reports.filters import ReportFilter, load_hierarchy
from hub.ui.auth import check_csrf, require_session
from hub.ui.charts import Bar, value_bars
from hub.ui.delivery_tables import RECIPIENT_KEYS, delivery_sorts, late_rows, latency_rows
from hub.ui.forms import PAGE_SIZE, ui_filter
from hub.ui.render import page
from hub.ui.session import UiSession
from hub.ui.sorting import sort_rows
from registry.codes import AGENCY_CODE_PATTERN
from registry.db import INT64_MAX, utcnow
from registry.problems import Problem

__all__ = ["router"]

router = APIRouter(prefix="/ui", include_in_schema=False)
SHOWN_FAILED = 20
"""Failed deliveries listed under each recipient (the oldest); the rest by bulk redrive."""
SHOWN_TROUBLED = PAGE_SIZE
"""Recipients in trouble listed, the worst first; a national outage lists thousands, all
of them in `GET /v1/admin/deliveries/troubled`."""
DETAILED_RECIPIENTS = 20
"""Recipients whose failed deliveries are listed one by one (the first in the table): one
query each, so a national outage does not turn the page into hundreds of queries."""
CHARTED = 30
"""Recipients drawn in the latency chart, slowest first; a chart of hundreds reads as none."""
Recipient = Path(pattern=AGENCY_CODE_PATTERN)


def _admin(session: UiSession, what: str) -> None:
    if not session.is_admin:
        raise Problem(403, "forbidden_role", f"{what} needs the admin role")


def _latency_chart(report: DeliveryReport) -> Markup:
    """The p50 and p90 of the slowest `CHARTED` recipients, slowest first."""
    nan = float("nan")
    return value_bars(
        [
            Bar(
                f"{r.recipient} {r.name}",
                tuple(
                    nan if (v := r.latency_seconds.get(k)) is None else float(v)
                    for k in ("p50", "p90")
                ),
            )
            for r in latency_rows(report)[:CHARTED]
        ],
        ["p50", "p90"],
        "s",
    )


@router.get("/delivery")
async def delivery_health(
    request: Request,
    flt: ReportFilter = Depends(ui_filter),
    requeued: int | None = Query(None, ge=0),
    recipient_done: str | None = Query(None, alias="done", pattern=AGENCY_CODE_PATTERN),
    offset: int = Query(0, ge=0, le=INT64_MAX),
    session: UiSession = Depends(require_session),
) -> Response:
    sorts = delivery_sorts(request)
    context = hub_context(request)
    overdue_minutes = context.settings.delivery_overdue_minutes
    async with context.sessions() as db:
        hierarchy = await load_hierarchy(db)
        report = await delivery_report(db, flt, hierarchy)
        trouble = await troubled_recipients(
            db, utcnow() - timedelta(minutes=overdue_minutes), recipient=flt.recipient,
            sort=sorts.trouble.value or None,
        )  # fmt: skip
        failed: dict[str, list[DeliveryRow]] = {}
        for row in trouble[:DETAILED_RECIPIENTS]:
            if row.failed:
                failed[row.recipient] = await deliveries_in_state(
                    db, DeliveryState.FAILED, recipient=row.recipient, limit=SHOWN_FAILED,
                    sort=sorts.failed.value or None,
                )  # fmt: skip
    latency = latency_rows(report, sorts.latency)
    recipients = sort_rows(sorts.recipients, RECIPIENT_KEYS, report.recipients)
    late = late_rows(report, sorts.late)
    return page(
        request, "delivery.html", session, report=report, trouble=trouble[:SHOWN_TROUBLED],
        trouble_count=len(trouble), failed=failed, sorts=sorts,
        names=hierarchy.names, overdue_minutes=overdue_minutes, latency=latency[:PAGE_SIZE],
        latency_count=len(latency), chart=_latency_chart(report), sort=sorts.recipients,
        offset=offset,
        recipients=recipients[offset : offset + PAGE_SIZE],
        more=len(recipients) > offset + PAGE_SIZE, page_size=PAGE_SIZE,
        late=late[:PAGE_SIZE], late_count=len(late),
        flt=flt, redriven=request.query_params.get("redriven"), requeued=requeued,
        recipient_done=recipient_done, shown_failed=SHOWN_FAILED, status_codes=list(STATUS_STATES),
        charted=CHARTED,
    )  # fmt: skip


@router.get("/deliveries/{delivery_id}/redrive")
async def confirm_redrive(
    request: Request, delivery_id: str, session: UiSession = Depends(require_session)
) -> Response:
    """The confirmation step of one delivery's redrive."""
    _admin(session, "redrive")
    async with hub_context(request).sessions() as db:
        row = await delivery_row(db, delivery_id)
    if row is None:
        raise Problem(404, "delivery_not_found", f"no delivery {delivery_id}")
    return page(request, "redrive_one_confirm.html", session, row=row)


@router.post("/deliveries/{delivery_id}/redrive")
async def redrive(
    request: Request, delivery_id: str, session: UiSession = Depends(require_session)
) -> Response:
    await check_csrf(request, session)
    _admin(session, "redrive")
    context = hub_context(request)
    await redrive_delivery(context.sessions, delivery_id, actor=session.actor)
    context.wake_delivery()
    return RedirectResponse(f"/ui/delivery?redriven={delivery_id}", status_code=303)


@router.get("/delivery/recipients/{code}/redrive")
async def confirm_recipient_redrive(
    request: Request, code: str = Recipient, session: UiSession = Depends(require_session)
) -> Response:
    """The confirmation step: what a bulk redrive would requeue, and the button that does it."""
    _admin(session, "redrive")
    context = hub_context(request)
    async with context.sessions() as db:
        hierarchy = await load_hierarchy(db)
        if code not in hierarchy.names:
            raise Problem(404, "member_not_found", f"no member {code}")
        trouble = await troubled_recipients(db, None, recipient=code)
    row = next((r for r in trouble if r.failed), None)
    return page(
        request, "redrive_confirm.html", session, code=code, name=hierarchy.names[code], row=row
    )


@router.post("/delivery/recipients/{code}/redrive")
async def redrive_recipient_failed(
    request: Request, code: str = Recipient, session: UiSession = Depends(require_session)
) -> Response:
    """Requeue every failed delivery to `code`, then show how many on the delivery page."""
    await check_csrf(request, session)
    _admin(session, "redrive")
    context = hub_context(request)
    requeued = await redrive_recipient(context.sessions, code, actor=session.actor)
    if requeued:
        context.wake_delivery()
    return RedirectResponse(
        f"/ui/delivery?requeued={len(requeued)}&done={code}#trouble", status_code=303
    )
