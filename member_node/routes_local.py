"""The DMS's side of the node (`/local/...`): send, read, answer, follow, in plain JSON.

A DMS in any language runs a node next to it and never touches JOSE: it sends
metadata and base64 files, pages through what is new with a cursor
(`GET /local/feed?after=N`), marks documents taken, posts processing statuses
(01-06, 02 with a reason), answers recalls (15 agree, 16 refuse) and recalls
its own documents. Meant for the agency's own network (bind the node to
loopback or put it behind the agency's gateway): these calls sign with the
agency's keys.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from hub.protocol import StatusCode, SubmitResult, Trace
from member_node.context import NodeContext, node_context
from member_node.errors import BadRequest, HubError, SigningError
from member_node.local_models import (
    DocumentView,
    FeedPage,
    InboxItem,
    InboxList,
    LocalFile,
    LocalSend,
    PostStatus,
    RecallAnswer,
    StatusView,
)
from member_node.problems import NodeProblem, problem_responses
from member_node.store import FeedEntry, ReceivedDocument

router = APIRouter(prefix="/local", tags=["for the DMS"])
Context = Annotated[NodeContext, Depends(node_context)]

__all__ = ["LocalFile", "LocalSend", "hub_problem", "router"]


def hub_problem(exc: HubError) -> NodeProblem:
    """A hub error as this node's answer: the hub's 4xx code, or 502 when the hub failed."""
    if isinstance(exc, SigningError | BadRequest):
        return NodeProblem(422, exc.code, exc.detail, exc.errors)
    if exc.status is not None and 400 <= exc.status < 500:
        return NodeProblem(exc.status, exc.code, exc.detail, exc.errors)
    return NodeProblem(502, exc.code, f"The hub failed: {exc.detail}")


@router.post(
    "/documents",
    status_code=202,
    summary="Sign and send a document",
    response_model=SubmitResult,
    responses=problem_responses(403, 409, 413, 422, 502),
)
async def send_document(body: LocalSend, context: Context) -> dict[str, Any]:
    """The node builds the package, signs it (the official, then the organisation) and
    submits it; the answer is the hub's receipt. Hub refusals keep their status and code."""
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


@router.get(
    "/inbox",
    summary="Documents received, newest first",
    response_model=InboxList,
    responses=problem_responses(422),
)
async def inbox(
    context: Context,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    include_recalled: Annotated[
        bool, Query(description="Also list recalled (deleted) documents.")
    ] = False,
    taken: Annotated[
        bool | None,
        Query(description="false: only what the DMS has not taken yet; true: only taken ones."),
    ] = None,
) -> dict[str, Any]:
    """Each with its sender, header, verdicts and whether the DMS has taken it; to follow
    what is new without missing anything, read `GET /local/feed` instead."""
    documents = context.store.inbox(limit, include_recalled=include_recalled, taken=taken)
    return {"documents": [d.summary() for d in documents]}


@router.get(
    "/feed",
    summary="What is new since a cursor: documents received and statuses heard",
    response_model=FeedPage,
    responses=problem_responses(422),
)
async def feed(
    context: Context,
    after: Annotated[
        int, Query(ge=0, description="The `next_cursor` of the last page read; 0 from the start.")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Items in the order the node recorded them. The cursor is a number that only grows and
    is never reused: reading again with the same `after` gives the same items (plus any newer
    ones), so a DMS that saves `next_cursor` after handling a page misses nothing."""
    entries = context.store.feed(after, limit)
    return {
        "items": [_feed_item(e) for e in entries],
        "next_cursor": entries[-1].seq if entries else after,
    }


def _feed_item(entry: FeedEntry) -> dict[str, Any]:
    return {
        "cursor": entry.seq,
        "kind": entry.kind,
        "document_id": entry.document_id,
        "at": entry.at,
        "document": entry.document.summary() if entry.document is not None else None,
        "status": entry.status.as_dict() if entry.status is not None else None,
    }


@router.get(
    "/documents/{document_id}",
    summary="One document, received or sent",
    response_model=DocumentView,
    response_model_exclude_none=False,
    responses=problem_responses(404),
)
async def document(document_id: str, context: Context) -> dict[str, Any]:
    """Received: the package, the hub's and this node's verdicts, the delivery receipt and
    the statuses. Sent: the hub's receipt, the statuses heard and the live trace."""
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
        raise _not_found(document_id)
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


@router.post(
    "/documents/{document_id}/taken",
    summary="Mark a received document as taken by the DMS",
    response_model=InboxItem,
    responses=problem_responses(404),
)
async def take(document_id: str, context: Context) -> dict[str, Any]:
    """Idempotent: the first time is kept. `GET /local/inbox?taken=false` lists the rest."""
    document = context.store.mark_taken(document_id)
    if document is None:
        raise _not_found(document_id)
    return document.summary()


@router.post(
    "/documents/{document_id}/status",
    summary="Post a processing status (01-06) about a received document",
    response_model=StatusView,
    responses=problem_responses(404, 409, 422, 502),
)
async def post_status(document_id: str, body: PostStatus, context: Context) -> dict[str, Any]:
    """01 arrived, 02 rejected (a reason is required), 03 accepted, 04 assigned, 05 processing,
    06 completed. The node posts it to the hub, which tells the sender."""
    received = _received(context, document_id)
    if received.recalled_at is not None:
        raise NodeProblem(409, "document_recalled", f"{document_id} was recalled and deleted.")
    return await _post(context, document_id, StatusCode(body.code), body.reason)


@router.post(
    "/documents/{document_id}/recall-answer",
    summary="Answer the sender's recall (13): agree (15) or refuse (16)",
    response_model=StatusView,
    responses=problem_responses(404, 409, 422, 502),
)
async def answer_recall(document_id: str, body: RecallAnswer, context: Context) -> dict[str, Any]:
    """Decree 30: the recipient deletes a recalled document and tells the sender (15), or
    refuses (16). Agreeing deletes the document here once the hub has the answer. A document
    not accepted yet (no 03) is recalled at once, without an answer: it is already deleted."""
    if _received(context, document_id).recalled_at is not None:
        raise NodeProblem(409, "document_recalled", f"{document_id} was recalled and deleted.")
    statuses = context.store.statuses(document_id)
    if not any(s.code == StatusCode.RECALLED.value and s.direction == "in" for s in statuses):
        raise NodeProblem(409, "no_recall_requested", f"The sender has not recalled {document_id}.")
    answered = {StatusCode.RECALL_AGREED.value, StatusCode.RECALL_REFUSED.value}
    if any(s.code in answered and s.direction == "out" for s in statuses):
        raise NodeProblem(409, "recall_already_answered", f"{document_id}'s recall is answered.")
    agree = body.answer == "agree"
    code = StatusCode.RECALL_AGREED if agree else StatusCode.RECALL_REFUSED
    posted = await _post(context, document_id, code, body.reason)
    if agree:
        context.store.mark_recalled(document_id)
    return posted


@router.post(
    "/documents/{document_id}/recall",
    summary="Recall a document this agency sent",
    response_model=Trace,
    responses=problem_responses(404, 409, 502),
)
async def recall(document_id: str, context: Context) -> dict[str, Any]:
    """The hub tells every recipient (status 13); their answers (15/16) arrive in the feed."""
    if context.store.sent(document_id) is None:
        raise _not_found(document_id)
    try:
        trace = await context.client.recall(document_id)
    except HubError as exc:
        raise hub_problem(exc) from exc
    return trace.model_dump(mode="json")


def _not_found(document_id: str) -> NodeProblem:
    return NodeProblem(404, "document_not_found", f"No document {document_id} at this node.")


def _received(context: NodeContext, document_id: str) -> ReceivedDocument:
    received = context.store.received(document_id)
    if received is None:
        raise _not_found(document_id)
    return received


async def _post(
    context: NodeContext, document_id: str, code: StatusCode, reason: str | None
) -> dict[str, Any]:
    try:
        entry = await context.client.post_status(document_id, code, reason=reason)
    except HubError as exc:
        raise hub_problem(exc) from exc
    context.store.add_status(
        document_id,
        context.client.code,
        code.value,
        entry.at.isoformat(),
        reason=reason,
        direction="out",
    )
    return {
        "document_id": document_id,
        "member": context.client.code,
        "code": code.value,
        "reason": reason,
        "at": entry.at.isoformat(),
        "direction": "out",
    }
