"""`/v1/reports/*`: compliance and delivery reports, JSON or CSV.

Operators with the auditor role (or admin) see every row; a member calling
with its own bearer JWT sees only its own rows (as sender for compliance,
as recipient for delivery).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from hub.api.callers import MEMBER_OR_OPERATOR, member_or_auditor
from hub.context import HubContext, hub_context
from hub.reports.compliance import compliance_report
from hub.reports.delivery import RecipientRow, SenderRow, delivery_report
from hub.reports.filters import Grouping, ReportFilter
from hub.reports.render import CSV_BOM, compliance_csv, csv_filename, delivery_csv
from registry.codes import AGENCY_CODE_PATTERN
from registry.params import IsoDate
from registry.problems import problems

router = APIRouter(prefix="/v1/reports", tags=["reports"])

_CSV = {"text/csv": {"schema": {"type": "string"}}}


class ComplianceRowBody(BaseModel):
    """One sender's (or top-level unit's, or day's) figures; shares are 0-1, 4 decimals."""

    key: str
    name: str
    documents: int
    signed: int
    personal_ok: int
    org_ok: int
    compliant: int
    signed_share: float
    personal_ok_share: float
    org_ok_share: float
    compliant_share: float
    violations: dict[str, int]
    """Documents per violation code."""


class ComplianceReportBody(BaseModel):
    grouping: Grouping
    rows: list[ComplianceRowBody]
    total: ComplianceRowBody


class DeliveryReportBody(BaseModel):
    recipients: list[RecipientRow]
    senders: list[SenderRow]


def report_filter(
    since: IsoDate | None = Query(None, description="First Vietnam day counted (inclusive)"),
    until: IsoDate | None = Query(None, description="Last Vietnam day counted (inclusive)"),
    recipient: str | None = Query(
        None, pattern=AGENCY_CODE_PATTERN, description="Only documents sent to it"
    ),
    sender: str | None = Query(
        None, pattern=AGENCY_CODE_PATTERN, description="A member and all under it"
    ),
    doc_type: str | None = Query(None, max_length=16, description="Document type code, e.g. QD"),
) -> ReportFilter:
    return ReportFilter(
        since=since, until=until, recipient=recipient, sender=sender, doc_type=doc_type
    )


def wants_csv(request: Request, format: str | None) -> bool:
    if format is not None:
        return format == "csv"
    return "text/csv" in request.headers.get("accept", "")


def _answer(
    request: Request, format: str | None, data: dict[str, Any], csv: str, filename: str
) -> Response:
    if wants_csv(request, format):
        return Response(
            CSV_BOM + csv,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    return JSONResponse(data)


@router.get(
    "/signature-compliance",
    response_model=ComplianceReportBody,
    responses={200: {"content": _CSV}, **problems(401, 403)},
    openapi_extra=MEMBER_OR_OPERATOR,
    summary="Per sender: documents, signed, valid personal/organisation signatures, violations",
)
async def signature_compliance(
    request: Request,
    flt: ReportFilter = Depends(report_filter),
    group: Grouping = Query(Grouping.SENDER, description="sender, parent (roll-up) or day"),
    format: str | None = Query(None, pattern="^(json|csv)$"),
    member: str | None = Depends(member_or_auditor),
    context: HubContext = Depends(hub_context),
) -> Response:
    """Per sender (or top-level unit with `group=parent`, or day with `group=day`): documents,
    signed, valid personal and organisation signatures, compliant, and violations by code.

    Auditors and admins see every sender; a member calling with its own token sees its
    own row only. JSON, or CSV (UTF-8 with a BOM) with `format=csv` or `Accept: text/csv`.
    """
    flt = replace(flt, only_member=member)
    async with context.sessions() as session:
        report = await compliance_report(session, flt, group)
    filename = csv_filename("signature-compliance", flt)
    return _answer(request, format, report.as_dict(), compliance_csv(report), filename)


@router.get(
    "/delivery",
    response_model=DeliveryReportBody,
    responses={200: {"content": _CSV}, **problems(401, 403)},
    openapi_extra=MEMBER_OR_OPERATOR,
    summary="Per recipient: delivered, pending, failed, latency, statuses, overdue receipts",
)
async def delivery(
    request: Request,
    flt: ReportFilter = Depends(report_filter),
    format: str | None = Query(None, pattern="^(json|csv)$"),
    member: str | None = Depends(member_or_auditor),
    context: HubContext = Depends(hub_context),
) -> Response:
    """Per recipient: delivered, pending and failed deliveries, delivery latency, statuses and
    receipts overdue; per sender, how its documents fared.

    Auditors and admins see every row; a member calling with its own token sees the rows
    where it is the recipient. JSON, or CSV with `format=csv` or `Accept: text/csv`.
    """
    flt = replace(flt, only_member=member)
    async with context.sessions() as session:
        report = await delivery_report(session, flt)
    filename = csv_filename("delivery", flt)
    return _answer(request, format, report.as_dict(), delivery_csv(report), filename)
