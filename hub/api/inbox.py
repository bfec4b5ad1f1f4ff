"""`/v1/inbox` and `/v1/status-updates`: what pull members collect."""

from __future__ import annotations

from fastapi import APIRouter, Body, Depends, Query
from fastapi.responses import JSONResponse

from hub.api.deps import problems
from hub.context import HubContext, hub_context
from hub.db.notify import inbox_key, status_key
from hub.delivery import inbox
from hub.delivery.arrivals import MAX_WAIT_SECONDS
from hub.protocol import AckRequest, DeliveryRef, InboxBatch, StatusUpdatesPage
from hub.tracking import statuses
from registry.member_auth import AuthenticatedMember, authenticated_member

router = APIRouter(prefix="/v1", tags=["inbox"])
WAIT = (
    "Seconds (at most 60) to hold the answer while there is nothing to return: it comes as "
    "soon as something arrives, or empty when the time is up (long poll). 0: answer at once."
)


@router.get(
    "/inbox",
    response_model=InboxBatch,
    responses=problems(401, 422),
    summary="Lease pending deliveries",
)
async def get_inbox(
    limit: int = Query(10, ge=1, le=1000),
    wait: float = Query(0, ge=0, le=MAX_WAIT_SECONDS, description=WAIT),
    member: AuthenticatedMember = Depends(authenticated_member),
    context: HubContext = Depends(hub_context),
) -> JSONResponse:
    """Up to `limit` deliveries, leased; acknowledge each or it comes back after the lease.
    With `wait`, an empty inbox holds the answer until a delivery arrives (long poll)."""
    batch = await context.arrivals.poll(
        inbox_key(member.code),
        wait,
        lambda: inbox.lease_inbox(
            context.sessions,
            member.code,
            min(limit, context.settings.inbox_max_batch),
            context.settings.inbox_lease_seconds,
        ),
        lambda found: not found.deliveries,
    )
    # exclude_unset keeps each package exactly as the sender gave it (its manifest).
    return JSONResponse(batch.model_dump(mode="json", exclude_unset=True))


@router.post(
    "/inbox/{delivery_id}/ack",
    response_model=DeliveryRef,
    responses=problems(401, 404, 422),
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
    responses=problems(401, 422),
    summary="Statuses addressed to this member",
)
async def status_updates(
    after: int = Query(0, ge=0, description="The last cursor already read"),
    limit: int = Query(100, ge=1, le=1000),
    wait: float = Query(0, ge=0, le=MAX_WAIT_SECONDS, description=WAIT),
    member: AuthenticatedMember = Depends(authenticated_member),
    context: HubContext = Depends(hub_context),
) -> StatusUpdatesPage:
    """Recipients' statuses about your documents and recalls (13) of documents sent to you.
    With `wait`, an empty page holds the answer until a status arrives (long poll)."""
    return await context.arrivals.poll(
        status_key(member.code),
        wait,
        lambda: statuses.status_updates(
            context.sessions, member.code, after, min(limit, context.settings.inbox_max_batch)
        ),
        lambda found: not found.updates,
    )
