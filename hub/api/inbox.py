"""`/v1/inbox` and `/v1/status-updates`: what pull members collect."""

from __future__ import annotations

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from hub.context import HubContext, hub_context
from hub.db.notify import inbox_key, status_key
from hub.delivery import inbox
from hub.delivery.arrivals import MAX_WAIT_SECONDS
from hub.delivery.outbox import edxml_delivery_headers, edxml_status_headers
from hub.ingest.edxml import accepts_xml
from hub.protocol import EDXML_MEDIA_TYPE, AckRequest, DeliveryRef, InboxBatch, StatusUpdatesPage
from hub.tracking import statuses
from registry.db import INT64_MAX
from registry.member_auth import AuthenticatedMember, authenticated_member, member_only

router = APIRouter(prefix="/v1", tags=["inbox"])
WAIT = (
    "Seconds (at most 60) to hold the answer while there is nothing to return: it comes as "
    "soon as something arrives, or empty when the time is up (long poll). 0: answer at once."
)


@router.get(
    "/inbox",
    response_model=InboxBatch,
    **member_only(),
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
    batch = await context.arrivals.poll(
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
        lambda found: not found.deliveries,
    )
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
    **member_only(),
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
