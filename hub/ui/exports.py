"""The dashboard's tables as CSV, whole: the pages show one page of rows at a time.

The same figures and columns as `/v1/reports/*` with `format=csv`, for an operator
who is logged in to the dashboard rather than holding a bearer token.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from hub.context import hub_context
from hub.reports.compliance import compliance_report
from hub.reports.delivery import delivery_report
from hub.reports.filters import Grouping, ReportFilter
from hub.reports.render import CSV_BOM, compliance_csv, csv_filename, delivery_csv
from hub.ui.auth import require_session
from hub.ui.forms import ui_filter
from hub.ui.session import UiSession

__all__ = ["router"]

router = APIRouter(prefix="/ui", include_in_schema=False)


def _csv(text: str, filename: str) -> Response:
    return Response(
        CSV_BOM + text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/compliance.csv")
async def compliance_export(
    request: Request,
    flt: ReportFilter = Depends(ui_filter),
    group: Grouping = Grouping.SENDER,
    session: UiSession = Depends(require_session),
) -> Response:
    async with hub_context(request).sessions() as db:
        report = await compliance_report(db, flt, group)
    return _csv(compliance_csv(report), csv_filename("signature-compliance", flt))


@router.get("/delivery.csv")
async def delivery_export(
    request: Request,
    flt: ReportFilter = Depends(ui_filter),
    session: UiSession = Depends(require_session),
) -> Response:
    async with hub_context(request).sessions() as db:
        report = await delivery_report(db, flt)
    return _csv(delivery_csv(report), csv_filename("delivery", flt))
