"""`/v1/admin/deliveries` and `/v1/admin/status-pushes`: operators redrive what failed."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from hub.api.deps import problems
from hub.context import HubContext, hub_context
from hub.delivery import redrive as redriving
from hub.delivery.queue import DeliveryRow, deliveries_in_state
from hub.protocol import DeliveryRef, DeliveryState
from registry.operator_auth import AuthenticatedOperator, require_role

router = APIRouter(prefix="/v1/admin/deliveries", tags=["operators"])
status_router = APIRouter(prefix="/v1/admin/status-pushes", tags=["operators"])


class DeliveryList(BaseModel):
    deliveries: list[DeliveryRow]


@router.get(
    "",
    response_model=DeliveryList,
    responses=problems(401, 403, 422),
    summary="Deliveries in a state (default: failed)",
)
async def list_deliveries(
    state: DeliveryState = Query(DeliveryState.FAILED),
    limit: int = Query(100, ge=1, le=1000),
    operator: AuthenticatedOperator = Depends(require_role("auditor")),
    context: HubContext = Depends(hub_context),
) -> DeliveryList:
    async with context.sessions() as session:
        return DeliveryList(deliveries=await deliveries_in_state(session, state, limit=limit))


@router.post(
    "/{delivery_id}/redrive",
    response_model=DeliveryRef,
    responses=problems(401, 403, 404, 409),
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
    responses=problems(401, 403, 404, 422),
    summary="Requeue failed status pushes",
)
async def redrive_status_pushes(
    audience: str | None = Query(None, description="Only the pushes to this member"),
    operator: AuthenticatedOperator = Depends(require_role("admin")),
    context: HubContext = Depends(hub_context),
) -> StatusRedrive:
    """Statuses a member's endpoint never took get a fresh round of attempts."""
    requeued = await redriving.redrive_status_pushes(context.sessions, audience)
    if requeued:
        context.wake_delivery()
    return StatusRedrive(requeued=requeued)
