"""`/v1/admin/deliveries` and `/v1/admin/status-pushes`: operators redrive what failed."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from hub.context import HubContext, hub_context
from hub.delivery import redrive as redriving
from hub.delivery.queue import DeliveryRow, deliveries_in_state
from hub.protocol import DeliveryRef, DeliveryState
from registry.codes import AGENCY_CODE_PATTERN
from registry.operator_auth import AuthenticatedOperator, operators_only, require_role

router = APIRouter(prefix="/v1/admin/deliveries", tags=["operators"])
status_router = APIRouter(prefix="/v1/admin/status-pushes", tags=["operators"])


class DeliveryList(BaseModel):
    deliveries: list[DeliveryRow]


@router.get(
    "",
    response_model=DeliveryList,
    **operators_only("auditor"),
    summary="Deliveries in a state (default: failed)",
)
async def list_deliveries(
    state: DeliveryState = Query(DeliveryState.FAILED),
    limit: int = Query(100, ge=1, le=1000),
    operator: AuthenticatedOperator = Depends(require_role("auditor")),
    context: HubContext = Depends(hub_context),
) -> DeliveryList:
    """Up to `limit` deliveries in `state`, with their attempts and last error; `failed` ones
    wait for a redrive (`POST /v1/admin/deliveries/{delivery_id}/redrive`)."""
    async with context.sessions() as session:
        return DeliveryList(deliveries=await deliveries_in_state(session, state, limit=limit))


@router.post(
    "/{delivery_id}/redrive",
    response_model=DeliveryRef,
    **operators_only("admin", 404, 409),
    summary="Requeue a failed delivery",
)
async def redrive(
    delivery_id: str,
    operator: AuthenticatedOperator = Depends(require_role("admin")),
    context: HubContext = Depends(hub_context),
) -> DeliveryRef:
    """A failed delivery gets a fresh round of attempts, starting now."""
    redriven = await redriving.redrive(context.sessions, delivery_id)
    context.wake_delivery()
    return DeliveryRef(delivery_id=redriven.id, state=DeliveryState(redriven.state))


class StatusRedrive(BaseModel):
    requeued: int
    """Failed status pushes put back in the queue."""


@status_router.post(
    "/redrive",
    response_model=StatusRedrive,
    **operators_only("admin", 404),
    summary="Requeue failed status pushes",
)
async def redrive_status_pushes(
    audience: str | None = Query(
        None, pattern=AGENCY_CODE_PATTERN, description="Only the pushes to this member"
    ),
    operator: AuthenticatedOperator = Depends(require_role("admin")),
    context: HubContext = Depends(hub_context),
) -> StatusRedrive:
    """Statuses a member's endpoint never took get a fresh round of attempts."""
    requeued = await redriving.redrive_status_pushes(context.sessions, audience)
    if requeued:
        context.wake_delivery()
    return StatusRedrive(requeued=requeued)
