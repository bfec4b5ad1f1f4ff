"""The dashboard's delivery page and its redrive actions.

Figures come from the delivery report and the queue services that
`/v1/reports/delivery` and `/v1/admin/deliveries` answer with.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from hub.context import hub_context
from hub.delivery.queue import deliveries_in_state
from hub.delivery.redrive import redrive as redrive_delivery
from hub.protocol import DeliveryState
from hub.reports.delivery import delivery_report
from hub.reports.filters import ReportFilter
from hub.ui.auth import check_csrf, require_session
from hub.ui.pages import PAGE_SIZE, ui_filter
from hub.ui.render import page
from hub.ui.session import UiSession
from registry.problems import Problem

__all__ = ["router"]

router = APIRouter(prefix="/ui", include_in_schema=False)


@router.get("/delivery")
async def delivery_health(
    request: Request,
    flt: ReportFilter = Depends(ui_filter),
    session: UiSession = Depends(require_session),
) -> Response:
    async with hub_context(request).sessions() as db:
        report = await delivery_report(db, flt)
        failed = await deliveries_in_state(db, DeliveryState.FAILED, limit=PAGE_SIZE)
    return page(
        request, "delivery.html", session, report=report, failed=failed, flt=flt,
        redriven=request.query_params.get("redriven"),
    )  # fmt: skip


@router.post("/deliveries/{delivery_id}/redrive")
async def redrive(
    request: Request, delivery_id: str, session: UiSession = Depends(require_session)
) -> Response:
    await check_csrf(request, session)
    if not session.is_admin:
        raise Problem(403, "forbidden_role", "redrive needs the admin role")
    context = hub_context(request)
    await redrive_delivery(context.sessions, delivery_id, actor=session.actor)
    context.wake_delivery()
    return RedirectResponse(f"/ui/delivery?redriven={delivery_id}", status_code=303)
