"""`/ui/documents`: finding a document, and its trace (timeline, receipts, signatures)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from hub.context import hub_context
from hub.protocol import DeliveryState
from hub.reports.facts import VIOLATION_CODES
from hub.reports.filters import load_hierarchy
from hub.tracking.documents import operator_view
from hub.tracking.receipts import DeliveryReceipt
from hub.tracking.search import (
    SORT_COLUMNS,
    VERDICTS,
    DocumentQuery,
    describe_documents,
    find_documents,
)
from hub.ui.auth import require_session
from hub.ui.forms import PAGE_SIZE, parse_date
from hub.ui.render import page
from hub.ui.session import UiSession
from hub.ui.signatures import document_problems, panel
from hub.ui.sorting import parse_sort, sort_rows
from hub.ui.timeline import timeline
from registry.db import INT64_MAX
from registry.problems import Problem

__all__ = ["document_query", "router"]

router = APIRouter(prefix="/ui", include_in_schema=False)


def _choice(value: str | None, allowed: tuple[str, ...], field: str) -> str | None:
    if not value:
        return None
    if value not in allowed:
        raise Problem(
            422, "validation_error", f"{field} must be one of {', '.join(allowed)}",
            errors=[{"field": field, "message": f"one of {', '.join(allowed)}"}],
        )  # fmt: skip
    return value


def document_query(
    q: str | None = Query(None, max_length=200, description="words of the subject"),
    number: str | None = Query(None, max_length=100),
    sender: str | None = Query(None, max_length=13),
    recipient: str | None = Query(None, max_length=13),
    doc_type: str | None = Query(None, max_length=16),
    since: str | None = None,
    until: str | None = None,
    verdict: str | None = Query(None, max_length=40),
    state: str | None = Query(None, max_length=16),
) -> DocumentQuery:
    """The search form's fields (empty ones mean no restriction)."""
    chosen = _choice(state, tuple(s.value for s in DeliveryState), "state")
    return DocumentQuery(
        words=q or None,
        number=number or None,
        sender=sender or None,
        recipient=recipient or None,
        doc_type=doc_type or None,
        since=parse_date(since, "since"),
        until=parse_date(until, "until"),
        verdict=_choice(verdict, (*VERDICTS, *VIOLATION_CODES), "verdict"),
        state=DeliveryState(chosen) if chosen else None,
    )


@router.get("/documents")
async def documents(
    request: Request,
    query: DocumentQuery = Depends(document_query),
    offset: int = Query(0, ge=0, le=INT64_MAX),
    session: UiSession = Depends(require_session),
) -> Response:
    sort = parse_sort(request, SORT_COLUMNS, "-received_at")
    context = hub_context(request)
    async with context.sessions() as db:
        found = await find_documents(
            db, query, sort=sort.value, offset=offset, limit=PAGE_SIZE,
            cap=context.settings.search_count_cap,
        )  # fmt: skip
        names = (await load_hierarchy(db)).names
    return page(
        request, "documents.html", session, query=query, documents=found.documents,
        found=found, more=found.more, offset=offset, page_size=PAGE_SIZE, sort=sort,
        names=names, verdicts=VERDICTS, codes=VIOLATION_CODES, states=list(DeliveryState),
    )  # fmt: skip


RECIPIENT_KEYS = {
    "recipient": lambda d: d.recipient,
    "outcome": lambda d: d.outcome.value,
    "state": lambda d: d.state.value,
    "attempts": lambda d: d.attempts,
    "delivered_at": lambda d: d.delivered_at,
}


def _receipt_rank(receipt: DeliveryReceipt | None) -> int:
    """Kept receipts first, then refused ones, then none."""
    if receipt is not None and receipt.kept:
        return 0
    return 1 if receipt is not None and receipt.refused else 2


@router.get("/documents/{document_id}")
async def trace_page(
    request: Request, document_id: str, session: UiSession = Depends(require_session)
) -> Response:
    sort = parse_sort(request, [*RECIPIENT_KEYS, "receipt"])
    async with hub_context(request).sessions() as db:
        try:
            view = await operator_view(db, document_id)
        except ValidationError as exc:  # a stored verdict that no longer parses
            raise Problem(409, "trace_unreadable", str(exc)) from exc
        names = (await load_hierarchy(db)).names
        trace = view.trace
        earlier = [trace.earlier] if trace.earlier else []
        linked = await describe_documents(db, [d.document_id for d in [*earlier, *trace.later]])
    receipts = {r.delivery_id: r for r in view.receipts}
    keys = {**RECIPIENT_KEYS, "receipt": lambda d: _receipt_rank(receipts.get(d.delivery_id))}
    return page(
        request, "trace.html", session, trace=trace, header=view.header, names=names,
        events=timeline(trace), receipts=receipts, sort=sort, linked=linked,
        deliveries=sort_rows(sort, keys, trace.deliveries),
        signatures=panel(trace.verdict), document_problems=document_problems(trace.verdict),
    )  # fmt: skip
