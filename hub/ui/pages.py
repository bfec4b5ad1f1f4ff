"""The dashboard's delivery health and registry pages.

Every figure comes from the same service functions as `/v1`, so the page and
the API agree; lists are paged and use indexed queries. The overview, the
compliance and sender pages and the documents pages have their own modules.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from hub.context import hub_context
from hub.delivery.queue import deliveries_in_state
from hub.delivery.redrive import redrive as redrive_delivery
from hub.protocol import DeliveryState
from hub.reports.delivery import delivery_report
from hub.reports.filters import ReportFilter
from hub.ui.auth import check_csrf, require_session
from hub.ui.forms import PAGE_SIZE, ui_filter
from hub.ui.render import page
from hub.ui.session import UiSession
from registry.members import MemberFilter, list_members
from registry.problems import Problem

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
    await redrive_delivery(context.sessions, delivery_id)
    context.wake_delivery()
    return RedirectResponse(f"/ui/delivery?redriven={delivery_id}", status_code=303)


@router.get("/registry")
async def registry_page(
    request: Request, offset: int = Query(0, ge=0), session: UiSession = Depends(require_session)
) -> Response:
    async with hub_context(request).sessions() as db:
        members, _ = await list_members(db, MemberFilter(), limit=PAGE_SIZE * 4 + 1, offset=offset)
    return page(
        request, "registry.html", session, members=members[: PAGE_SIZE * 4], offset=offset,
        more=len(members) > PAGE_SIZE * 4, page_size=PAGE_SIZE * 4,
    )  # fmt: skip


__all__ = ["router"]
