"""`/v1/admin/documents`: operators find documents and read any document's whole trace.

The dashboard's document search and trace page call the same services, so
what the page shows is what this API answers.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from hub.context import HubContext, hub_context
from hub.protocol import DeliveryState
from hub.tracking import search
from hub.tracking.documents import OperatorTrace, operator_view
from hub.tracking.search import SORT_COLUMNS, DocumentListing, DocumentQuery
from registry.codes import AGENCY_CODE_PATTERN
from registry.db import INT64_MAX
from registry.operator_auth import AuthenticatedOperator, operators_only, require_role
from registry.params import IsoDate
from registry.problems import Problem
from signing.compliance import Violation

__all__ = ["router"]

router = APIRouter(prefix="/v1/admin/documents", tags=["operators"])

_SORT_PATTERN = "^-?(" + "|".join(SORT_COLUMNS) + ")$"
_VERDICT_PATTERN = "^(compliant|noncompliant|" + "|".join(v.value for v in Violation) + ")$"


class DocumentList(BaseModel):
    documents: list[DocumentListing]
    next_offset: int | None = Field(
        None, description="The `offset` of the next page; null on the last one"
    )
    total: int = Field(
        description="How many documents match in all (every page), counted up to a cap"
    )
    total_exact: bool = Field(
        description="False when more than `total` match: the count stops at the hub's "
        "`search_count_cap` (10,000 unless configured) to stay cheap"
    )


@router.get(
    "",
    response_model=DocumentList,
    **operators_only("auditor", 422),
    summary="Find documents by number, subject words, sender, recipient, type, days, verdict",
)
async def find_documents(
    q: str | None = Query(
        None, max_length=200,
        description="Words that all begin words of the subject, in any case; "
        "typed without diacritics, a word matches every spelling (`hoi`: Hội, Hồi)",
    ),
    number: str | None = Query(
        None, max_length=100, description="Part of `number/notation`, e.g. 274/QĐ-UBND"
    ),
    sender: str | None = Query(None, pattern=AGENCY_CODE_PATTERN),
    recipient: str | None = Query(None, pattern=AGENCY_CODE_PATTERN),
    doc_type: str | None = Query(None, max_length=16, description="Document type code, e.g. QD"),
    since: IsoDate | None = Query(None, description="First Vietnam day (inclusive)"),
    until: IsoDate | None = Query(None, description="Last Vietnam day (inclusive)"),
    verdict: str | None = Query(
        None, pattern=_VERDICT_PATTERN, description="compliant, noncompliant or a violation code"
    ),
    state: DeliveryState | None = Query(
        None, description="A recipient (the one in `recipient`, if given) in this state"
    ),
    sort: str = Query(
        "-received_at", pattern=_SORT_PATTERN,
        description=f"One of {', '.join(SORT_COLUMNS)}; a leading `-` sorts descending",
    ),
    offset: int = Query(0, ge=0, le=INT64_MAX),
    limit: int = Query(50, ge=1, le=500),
    operator: AuthenticatedOperator = Depends(require_role("auditor")),
    context: HubContext = Depends(hub_context),
) -> DocumentList:  # fmt: skip
    """Newest first unless `sort` says otherwise; a page of `limit`, the next offset, and how
    many documents match (exactly up to a cap, past it `total_exact` is false)."""
    if since and until and since > until:
        raise Problem(
            422, "invalid_window", "since is after until",
            errors=[{"field": "since", "message": "must not be after until"}],
        )  # fmt: skip
    query = DocumentQuery(
        words=q, number=number, sender=sender, recipient=recipient, doc_type=doc_type,
        since=since, until=until, verdict=verdict, state=state,
    )  # fmt: skip
    async with context.sessions() as session:
        found = await search.find_documents(
            session, query, sort=sort, offset=offset, limit=limit,
            cap=context.settings.search_count_cap,
        )  # fmt: skip
    return DocumentList(
        documents=found.documents, next_offset=found.next_offset, total=found.total,
        total_exact=found.total_exact,
    )  # fmt: skip


@router.get(
    "/{document_id}",
    response_model=OperatorTrace,
    **operators_only("auditor", 404),
    summary="Any document's whole trace, its header and each recipient's receipt",
)
async def document_trace(
    document_id: str,
    operator: AuthenticatedOperator = Depends(require_role("auditor")),
    context: HubContext = Depends(hub_context),
) -> OperatorTrace:
    """What the sender's trace shows (every recipient), with the number, notation, subject
    and attachment names, and each recipient's signed delivery receipt or why it has none."""
    async with context.sessions() as session:
        return await operator_view(session, document_id)
