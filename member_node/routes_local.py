"""The DMS's side of the node: send a document, list the inbox, read one document.

Meant for the agency's own network (bind the node to loopback or put it
behind the agency's gateway): these calls sign with the agency's keys.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from member_node.context import NodeContext, node_context
from member_node.errors import BadRequest, HubError, SigningError
from member_node.problems import NodeProblem
from signing.package import Header

router = APIRouter(prefix="/local", tags=["for the DMS"])
Context = Annotated[NodeContext, Depends(node_context)]


class LocalFile(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    media_type: str = Field(default="application/octet-stream", min_length=1, max_length=255)
    content: str
    """Base64 of the file."""


class LocalSend(BaseModel):
    """What the DMS asks the node to send: the node builds and signs the package."""

    recipients: list[str] = Field(min_length=1)
    header: Header
    files: list[LocalFile] = Field(default_factory=list)
    personal: bool = True
    """Sign with the official's key (needs `official.key`)."""
    organization: bool = True
    """Sign with the organisation's key."""
    id: str | None = None
    """The package id (UUID), for idempotent retries; chosen by the node when unset."""


def hub_problem(exc: HubError) -> NodeProblem:
    """A hub error as this node's answer: the hub's 4xx code, or 502 when the hub failed."""
    if isinstance(exc, SigningError | BadRequest):
        return NodeProblem(422, exc.code, exc.detail, exc.errors)
    if exc.status is not None and 400 <= exc.status < 500:
        return NodeProblem(exc.status, exc.code, exc.detail, exc.errors)
    return NodeProblem(502, exc.code, f"The hub failed: {exc.detail}")


@router.post("/documents", status_code=202, summary="Sign and send a document")
async def send_document(body: LocalSend, context: Context) -> dict[str, Any]:
    files = []
    for index, f in enumerate(body.files):
        try:
            files.append((f.name, f.media_type, base64.b64decode(f.content, validate=True)))
        except (binascii.Error, ValueError) as exc:
            raise NodeProblem(
                422,
                "validation_error",
                "The request is not valid.",
                [{"field": f"files.{index}.content", "message": "not base64"}],
            ) from exc
    try:
        result = await context.client.send(
            body.recipients,
            body.header,
            files,
            personal=body.personal,
            organization=body.organization,
            package_id=body.id,
        )
    except HubError as exc:
        raise hub_problem(exc) from exc
    answer = result.model_dump(mode="json")
    context.store.add_sent(result.document_id, body.recipients, body.header.subject, answer)
    return answer


@router.get("/inbox", summary="Documents received, newest first")
async def inbox(
    context: Context,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    include_recalled: bool = False,
) -> dict[str, Any]:
    documents = context.store.inbox(limit, include_recalled=include_recalled)
    return {"documents": [d.summary() for d in documents]}


@router.get("/documents/{document_id}", summary="One document, received or sent")
async def document(document_id: str, context: Context) -> dict[str, Any]:
    statuses = [s.as_dict() for s in context.store.statuses(document_id)]
    received = context.store.received(document_id)
    if received is not None:
        return {
            "direction": "in",
            **received.summary(),
            "package": received.package or None,
            "edxml": received.edxml,
            "hub_verdict": received.hub_verdict,
            "local_verdict": received.local_verdict,
            "delivery_receipt": received.delivery_receipt,
            "statuses": statuses,
        }
    sent = context.store.sent(document_id)
    if sent is None:
        raise NodeProblem(404, "document_not_found", f"No document {document_id} at this node.")
    trace: dict[str, Any] | None = None
    trace_error: str | None = None
    try:
        trace = (await context.client.trace(document_id)).model_dump(mode="json")
    except HubError as exc:
        trace_error = exc.code
    return {
        "direction": "out",
        **sent,
        "statuses": statuses,
        "trace": trace,
        "trace_error": trace_error,
    }
