"""`/v1/documents`: submit, trace, recall and status (members, bearer JWT)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from hub.context import hub_context
from hub.ingest import service as ingest
from hub.protocol import StatusEntry, StatusPost, SubmitResult, Trace
from hub.tracking import recall, statuses, trace
from registry.member_auth import (
    MEMBER_SCHEME,
    AuthenticatedMember,
    authenticated_member,
    member_only,
)
from registry.problems import Problem, problems

router = APIRouter(prefix="/v1/documents", tags=["documents"])

_SUBMIT = {
    "security": [{MEMBER_SCHEME: []}],
    "requestBody": {
        "required": True,
        "description": "The signed package (DESIGN section 3)",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Package"}}},
    },
}


def _document_id(text: str) -> str:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise Problem(404, "document_not_found", f"no document {text} for you") from None


@router.post(
    "",
    status_code=202,
    response_model=SubmitResult,
    responses={
        200: {"model": SubmitResult, "description": "Submitted before: the same receipt"},
        **problems(401, 403, 409, 413),
    },
    openapi_extra=_SUBMIT,
    summary="Submit a signed package",
)
async def submit_document(request: Request) -> Response:
    """Verify and durably accept a package; `202` with the hub's signed receipt.

    The same `id` with the same manifest answers `200` and the same receipt;
    with another manifest, `409`. (Authentication and the context are plain
    calls rather than `Depends`: this is the hub's busiest route, and FastAPI's
    dependency solving, with a thread hop for a sync dependency, cost more than
    the cached token check itself.)
    """
    member = await authenticated_member(request)
    context = hub_context(request)
    body = await ingest.read_limited(
        request.stream(), context.settings.max_package_bytes, request.headers.get("content-length")
    )
    accepted = await context.ingest.submit(member.code, body)
    if accepted.pushes:
        context.wake_delivery()
    return Response(  # pydantic's own JSON writer: no dict of the result in between
        accepted.result.model_dump_json(),
        status_code=202 if accepted.created else 200,
        media_type="application/json",
    )


@router.get(
    "/{document_id}",
    response_model=Trace,
    **member_only(404),
    summary="A document's trace",
)
async def get_trace(
    document_id: str,
    request: Request,
    member: AuthenticatedMember = Depends(authenticated_member),
) -> Trace:
    """Verdict, per-recipient state, statuses and attempts; a recipient sees its own line."""
    async with hub_context(request).sessions() as session:
        return await trace.build_trace(session, member.code, _document_id(document_id))


@router.post(
    "/{document_id}/recall",
    response_model=Trace,
    **member_only(404),
    summary="Recall a document (sender)",
)
async def recall_document(
    document_id: str,
    request: Request,
    member: AuthenticatedMember = Depends(authenticated_member),
) -> Trace:
    """Every recipient gets status 13; those that accepted it must answer 15 or 16."""
    context = hub_context(request)
    result = await recall.recall(context.sessions, member.code, _document_id(document_id))
    context.wake_delivery()
    return result


@router.post(
    "/{document_id}/status",
    response_model=StatusEntry,
    **member_only(404, 409),
    summary="Report a status (recipient)",
)
async def post_status(
    document_id: str,
    post: StatusPost,
    request: Request,
    member: AuthenticatedMember = Depends(authenticated_member),
) -> StatusEntry:
    """01 arrived, 02 rejected (with a reason), 03–06, and 15/16 answering a recall."""
    context = hub_context(request)
    entry = await statuses.post_status(
        context.sessions, member.code, _document_id(document_id), post
    )
    context.wake_delivery()
    return entry
