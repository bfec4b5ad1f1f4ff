"""`/v1/documents`: submit, trace, recall and status (members, bearer JWT)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError

from hub.context import hub_context
from hub.ingest import edxml
from hub.ingest import service as ingest
from hub.ingest.receipts import receipt_xml
from hub.protocol import StatusEntry, StatusPost, SubmitResult, Trace
from hub.tracking import export, recall, statuses, trace
from registry.db import utcnow
from registry.member_auth import (
    MEMBER_SCHEME,
    AuthenticatedMember,
    authenticated_member,
    member_only,
)
from registry.problems import Problem, problems

router = APIRouter(prefix="/v1/documents", tags=["documents"])
STATUS_MAX_BYTES = 1024 * 1024
"""A status (JSON or an edXML status message) is small; a larger body is 413."""

_XML = {"schema": {"type": "string", "format": "binary"}}
_MEMBER_SECURITY: dict[str, Any] = {"security": [{MEMBER_SCHEME: []}]}
_SUBMIT = {
    **_MEMBER_SECURITY,
    "requestBody": {
        "required": True,
        "description": "The signed package (DESIGN section 3), or an edXML envelope "
        "(QCVN 102:2016, docs/EDXML.md) as `application/xml` or `application/edxml+xml`",
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Package"}},
            "application/xml": _XML,
            "application/edxml+xml": _XML,
        },
    },
}
_STATUS_SCHEMA = {
    k: v
    for k, v in StatusPost.model_json_schema(ref_template="#/components/schemas/{model}").items()
    if k != "$defs"  # StatusCode: in the components already (StatusEntry)
}
_STATUS_BODY = {
    **_MEMBER_SECURITY,
    "requestBody": {
        "required": True,
        "description": "A status, or an edXML status message (`application/xml`)",
        "content": {"application/json": {"schema": _STATUS_SCHEMA}, "application/xml": _XML},
    },
}
_RECEIPT_XML = {
    "application/xml": {
        "schema": {
            "type": "string",
            "description": "With `Accept: application/xml`: the answer as `<Receipt>` "
            "(urn:lienthong:receipt), the hub's signed receipt in `Token`",
        }
    }
}
_EDXML_ANSWER = {"content": {"application/xml": _XML}, "description": "An edXML document"}


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
        202: {"content": _RECEIPT_XML},
        200: {
            "model": SubmitResult,
            "description": "Submitted before: the same receipt",
            "content": _RECEIPT_XML,
        },
        **problems(401, 403, 409, 413, 422),
    },
    openapi_extra=_SUBMIT,
    summary="Submit a signed package",
)
async def submit_document(request: Request) -> Response:
    """Verify and durably accept a package; `202` with the hub's signed receipt.

    The same `id` with the same manifest answers `200` and the same receipt;
    with another manifest, `409`. Each accepted recipient then gets the document:
    a push member at its endpoint (the `memberInbox` webhook), a pull member in
    `GET /v1/inbox`.
    """
    # Authentication and the context are plain calls rather than `Depends`: this is the
    # hub's busiest route, and FastAPI's dependency solving, with a thread hop for a sync
    # dependency, cost more than the cached token check itself.
    member = await authenticated_member(request)
    context = hub_context(request)
    body = await ingest.read_limited(
        request.stream(), context.settings.max_package_bytes, request.headers.get("content-length")
    )
    wire_format = "edxml" if edxml.is_edxml(request.headers.get("content-type")) else "json"
    accepted = await context.ingest.submit(member.code, body, wire_format=wire_format)
    if accepted.pushes:
        context.wake_delivery()
    if edxml.accepts_xml(request.headers.get("accept")):
        return Response(
            receipt_xml(accepted.result),
            status_code=202 if accepted.created else 200,
            media_type="application/xml",
        )
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
    """Every recipient gets status 13 (a push member at its `memberStatus` webhook);
    those that accepted it must answer 15 or 16."""
    context = hub_context(request)
    result = await recall.recall(context.sessions, member.code, _document_id(document_id))
    context.wake_delivery()
    return result


@router.post(
    "/{document_id}/status",
    response_model=StatusEntry,
    responses=problems(401, 403, 404, 409, 413),
    openapi_extra=_STATUS_BODY,
    summary="Report a status (recipient)",
)
async def post_status(
    document_id: str,
    request: Request,
    member: AuthenticatedMember = Depends(authenticated_member),
) -> StatusEntry:
    """01 arrived, 02 rejected (with a reason), 03–06, and 15/16 answering a recall.

    JSON (`StatusPost`) or an edXML status message (`application/xml`), whose
    From must be the caller and whose ResponseFor must name this document. The
    sender hears it in `GET /v1/status-updates`, or as a push member at its
    `memberStatus` webhook.
    """
    context = hub_context(request)
    doc_id = _document_id(document_id)
    body = await ingest.read_limited(
        request.stream(), STATUS_MAX_BYTES, request.headers.get("content-length")
    )
    if edxml.is_edxml(request.headers.get("content-type")):
        entry = await edxml.post_edxml_status(context.sessions, member.code, doc_id, body)
    else:
        try:
            post = StatusPost.model_validate_json(body)
        except ValidationError as exc:
            raise RequestValidationError(
                [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
            ) from None
        entry = await statuses.post_status(context.sessions, member.code, doc_id, post)
    context.wake_delivery()
    return entry


@router.get(
    "/{document_id}/edxml",
    response_class=Response,
    responses={200: _EDXML_ANSWER, **problems(401, 403, 404, 422)},
    openapi_extra=_MEMBER_SECURITY,
    summary="A document as edXML",
)
async def get_edxml(
    document_id: str,
    request: Request,
    original: bool = Query(False, description="The sender's own envelope, byte for byte"),
    member: AuthenticatedMember = Depends(authenticated_member),
) -> Response:
    """The document as an edXML document signed by the hub, whatever format it came in.

    The hub's signature comes first, over the whole document (`URI=""`), with
    the hub certificate in X509Data; the sender's signature is carried in
    `OriginalSignatures`, and each hop has a TraceHeader. With `original=1`,
    the sender's envelope exactly as received (edXML-born documents only:
    `404 no_original_edxml` for one submitted as JSON).
    """
    context = hub_context(request)
    async with context.sessions() as session:
        document = await export.visible_document(session, member.code, _document_id(document_id))
        if original:
            data = await export.original_envelope(session, document)
        else:
            data = await export.edxml_export(
                session, document, context.identity, context.settings.hub_id, at=utcnow()
            )
    return Response(data, media_type="application/xml")
