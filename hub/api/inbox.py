"""`/v1/inbox` and `/v1/status-updates`: what pull members collect."""

from __future__ import annotations

from fastapi import APIRouter, Body, Depends, Query
from fastapi.responses import JSONResponse

from hub.context import HubContext, hub_context
from hub.delivery import inbox
from hub.protocol import AckRequest, DeliveryRef, InboxBatch, StatusUpdatesPage
from hub.tracking import statuses
from registry.db import INT64_MAX
from registry.member_auth import AuthenticatedMember, authenticated_member, member_only

router = APIRouter(prefix="/v1", tags=["inbox"])


@router.get(
    "/inbox",
    response_model=InboxBatch,
    **member_only(),
    summary="Lease pending deliveries",
)
async def get_inbox(
    limit: int = Query(10, ge=1, le=1000),
    member: AuthenticatedMember = Depends(authenticated_member),
    context: HubContext = Depends(hub_context),
) -> JSONResponse:
    """Up to `limit` deliveries, leased; acknowledge each or it comes back after the lease."""
    batch = await inbox.lease_inbox(
        context.sessions,
        member.code,
        min(limit, context.settings.inbox_max_batch),
        context.settings.inbox_lease_seconds,
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
    after: int = Query(0, ge=0, le=INT64_MAX, description="The last cursor already read"),
    limit: int = Query(100, ge=1, le=1000),
    member: AuthenticatedMember = Depends(authenticated_member),
    context: HubContext = Depends(hub_context),
) -> StatusUpdatesPage:
    """Recipients' statuses about your documents and recalls (13) of documents sent to you."""
    return await statuses.status_updates(
        context.sessions, member.code, after, min(limit, context.settings.inbox_max_batch)
    )
