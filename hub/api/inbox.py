"""`/v1/inbox` and `/v1/status-updates`: what pull members collect."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from hub.context import HubContext, hub_context
from hub.db.notify import inbox_key, status_key
from hub.delivery import inbox
from hub.delivery.arrivals import MAX_WAIT_SECONDS
from hub.delivery.outbox import edxml_delivery_headers, edxml_status_headers
from hub.ingest.edxml import accepts_xml
from hub.protocol import (
    ATTEMPT_HEADER,
    COMPLIANT_HEADER,
    CURSOR_HEADER,
    DELIVERY_ID_HEADER,
    DOCUMENT_ID_HEADER,
    EDXML_MEDIA_TYPE,
    RECIPIENT_HEADER,
    SENDER_HEADER,
    VIOLATIONS_HEADER,
    AckRequest,
    DeliveryRef,
    InboxBatch,
    StatusUpdatesPage,
)
from hub.tracking import statuses
from registry.db import INT64_MAX
from registry.member_auth import AuthenticatedMember, authenticated_member, member_only

router = APIRouter(prefix="/v1", tags=["inbox"])
WAIT = (
    "Seconds (at most 60) to hold the answer while there is nothing to return: it comes as "
    "soon as something arrives, or empty when the time is up (long poll). 0: answer at once."
)
_XML = {"schema": {"type": "string", "format": "binary"}}
_BARE = "With `Accept: application/xml` and `limit=1`, an edXML member's answer"


def _bare_answer(page: str, what: str, headers: dict[str, str], empty: str) -> dict[int | str, Any]:
    """The OpenAPI of a pull route's answers: `page` as JSON, or `what` as edXML with
    `headers` beside it (name -> meaning), and `204` when there is `empty`."""
    return {
        200: {
            "description": f"{page} (JSON); {_BARE[0].lower()}{_BARE[1:]}: {what}",
            "content": {"application/xml": _XML},
            "headers": {
                name: {"description": f"{_BARE}: {text}", "schema": {"type": "string"}}
                for name, text in headers.items()
            },
        },
        204: {"description": f"With `Accept: application/xml` and `limit=1` (any member): {empty}"},
    }


_INBOX_XML = _bare_answer(
    "The leased deliveries",
    "the hub-signed edXML document",
    {
        DELIVERY_ID_HEADER: "the delivery (acknowledge it)",
        DOCUMENT_ID_HEADER: "the document",
        SENDER_HEADER: "the sender's agency code",
        ATTEMPT_HEADER: "the attempt number, from 1",
        COMPLIANT_HEADER: "`true` or `false`, the hub's verdict",
        VIOLATIONS_HEADER: "the verdict's violation codes",
    },
    "nothing is pending",
)
_STATUS_XML = _bare_answer(
    "The updates after `after`",
    "the edXML status message",
    {
        CURSOR_HEADER: "the update's cursor (pass it as `after` next)",
        DOCUMENT_ID_HEADER: "the document",
        RECIPIENT_HEADER: "the recipient whose status it is",
    },
    "there is no update after `after`",
)


def _member_only(answers: dict[int | str, Any]) -> dict[str, Any]:
    keywords = member_only()
    return {**keywords, "responses": {**keywords["responses"], **answers}}


@router.get(
    "/inbox",
    response_model=InboxBatch,
    **_member_only(_INBOX_XML),
    summary="Lease pending deliveries",
)
async def get_inbox(
    request: Request,
    limit: int = Query(10, ge=1, le=1000),
    wait: float = Query(0, ge=0, le=MAX_WAIT_SECONDS, description=WAIT),
    member: AuthenticatedMember = Depends(authenticated_member),
    context: HubContext = Depends(hub_context),
) -> Response:
    """Up to `limit` deliveries, leased; acknowledge each or it comes back after the lease.
    With `wait`, an empty inbox holds the answer until a delivery arrives (long poll).

    An edXML member's items carry `edxml` (the hub-signed edXML document)
    instead of `package`. With `Accept: application/xml` and `limit=1`, the
    answer is the bare edXML document, the delivery id in the
    `Lienthong-Delivery-Id` header (`204` when nothing is pending).
    """
    leased = await context.arrivals.poll(
        inbox_key(member.code),
        wait,
        lambda: inbox.lease_inbox(
            context.sessions,
            member.code,
            min(limit, context.settings.inbox_max_batch),
            context.settings.inbox_lease_seconds,
            identity=context.identity,
            hub_id=context.settings.hub_id,
        ),
        lambda found: not found.batch.deliveries,
        lambda found: found.lease_ends_in,
    )
    batch = leased.batch
    if limit == 1 and accepts_xml(request.headers.get("accept")):
        if not batch.deliveries:
            return Response(status_code=204)
        (item,) = batch.deliveries
        if item.edxml is not None:
            return Response(
                item.edxml.encode(),
                media_type=EDXML_MEDIA_TYPE,
                headers=edxml_delivery_headers(item),
            )
    # exclude_unset keeps each package exactly as the sender gave it (its manifest).
    return JSONResponse(batch.model_dump(mode="json", exclude_unset=True))


@router.post(
    "/inbox/{delivery_id}/ack",
    response_model=DeliveryRef,
    **member_only(404),
    summary="Acknowledge a delivery",
)
async def ack(
    delivery_id: str,
    body: AckRequest | None = Body(default=None),
    member: AuthenticatedMember = Depends(authenticated_member),
    context: HubContext = Depends(hub_context),
) -> DeliveryRef:
    """The delivery is done; send the node's signed delivery receipt as proof."""
    receipt = body.receipt if body is not None else None
    return await inbox.acknowledge(context.sessions, member.code, delivery_id, receipt)


@router.get(
    "/status-updates",
    response_model=StatusUpdatesPage,
    **_member_only(_STATUS_XML),
    summary="Statuses addressed to this member",
)
async def status_updates(
    request: Request,
    after: int = Query(0, ge=0, le=INT64_MAX, description="The last cursor already read"),
    limit: int = Query(100, ge=1, le=1000),
    wait: float = Query(0, ge=0, le=MAX_WAIT_SECONDS, description=WAIT),
    member: AuthenticatedMember = Depends(authenticated_member),
    context: HubContext = Depends(hub_context),
) -> Response:
    """Recipients' statuses about your documents and recalls (13) of documents sent to you.
    With `wait`, an empty page holds the answer until a status arrives (long poll).

    An edXML member's updates also carry `edxml` (the edXML status message).
    With `Accept: application/xml` and `limit=1`, an edXML member gets the
    bare status message, its cursor in the `Lienthong-Cursor` header (`204`
    when there is none).
    """
    page = await context.arrivals.poll(
        status_key(member.code),
        wait,
        lambda: statuses.status_updates(
            context.sessions, member.code, after, min(limit, context.settings.inbox_max_batch)
        ),
        lambda found: not found.updates,
    )
    if limit == 1 and accepts_xml(request.headers.get("accept")):
        if not page.updates:
            return Response(status_code=204)
        (update,) = page.updates
        if update.edxml is not None:
            return Response(
                update.edxml.encode(),
                media_type=EDXML_MEDIA_TYPE,
                headers=edxml_status_headers(update),
            )
    return JSONResponse(page.model_dump(mode="json", exclude_none=True))
