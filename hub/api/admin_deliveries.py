"""`/v1/admin/deliveries` and `/v1/admin/status-pushes`: operators redrive what failed."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from hub.context import HubContext, hub_context
from hub.delivery import redrive as redriving
from hub.delivery.queue import (
    DeliveryRow,
    RecipientTrouble,
    deliveries_in_state,
    troubled_recipients,
)
from hub.protocol import DeliveryRef, DeliveryState
from registry.codes import AGENCY_CODE_PATTERN
from registry.db import utcnow
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
    recipient: str | None = Query(
        None, pattern=AGENCY_CODE_PATTERN, description="Only the deliveries to this member"
    ),
    limit: int = Query(100, ge=1, le=1000),
    operator: AuthenticatedOperator = Depends(require_role("auditor")),
    context: HubContext = Depends(hub_context),
) -> DeliveryList:
    """Up to `limit` deliveries in `state`, with their attempts and last error; `failed` ones
    wait for a redrive (`POST /v1/admin/deliveries/{delivery_id}/redrive`)."""
    async with context.sessions() as session:
        return DeliveryList(
            deliveries=await deliveries_in_state(session, state, recipient=recipient, limit=limit)
        )


class TroubleList(BaseModel):
    overdue_minutes: int
    """A delivery queued longer than this counted as overdue."""
    recipients: list[RecipientTrouble]


@router.get(
    "/troubled",
    response_model=TroubleList,
    **operators_only("auditor"),
    summary="Failed and overdue deliveries, grouped by recipient",
)
async def troubled(
    overdue_minutes: int | None = Query(
        None,
        ge=1,
        le=525_600,
        description="Queued longer than this is overdue (default: `delivery_overdue_minutes`)",
    ),
    recipient: str | None = Query(None, pattern=AGENCY_CODE_PATTERN, description="Only this one"),
    operator: AuthenticatedOperator = Depends(require_role("auditor")),
    context: HubContext = Depends(hub_context),
) -> TroubleList:
    """What the dashboard's delivery page lists first: per recipient, how many deliveries
    failed and how many are overdue, the oldest one's round start and the latest error."""
    minutes = overdue_minutes or context.settings.delivery_overdue_minutes
    async with context.sessions() as session:
        rows = await troubled_recipients(
            session, utcnow() - timedelta(minutes=minutes), recipient=recipient
        )
    return TroubleList(overdue_minutes=minutes, recipients=rows)


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
    redriven = await redriving.redrive(context.sessions, delivery_id, actor=operator.actor)
    context.wake_delivery()
    return DeliveryRef(delivery_id=redriven.id, state=DeliveryState(redriven.state))


class RecipientRedrive(BaseModel):
    recipient: str
    requeued: int
    """Failed deliveries put back in the queue (0 when none had failed)."""
    deliveries: list[DeliveryRef]
    """The requeued deliveries, oldest first, each now `queued`."""


@router.post(
    "/redrive",
    response_model=RecipientRedrive,
    **operators_only("admin", 404),
    summary="Requeue a recipient's failed deliveries",
)
async def redrive_recipient(
    recipient: str = Query(
        pattern=AGENCY_CODE_PATTERN,
        description="The member whose failed deliveries are requeued",
        examples=["000.00.00.G22"],
    ),
    operator: AuthenticatedOperator = Depends(require_role("admin")),
    context: HubContext = Depends(hub_context),
) -> RecipientRedrive:
    """Every failed delivery to `recipient` gets a fresh round of attempts, starting now,
    in one transaction; the event log records each with the operator. An unknown
    member is a 404; a member with nothing failed answers `requeued: 0`."""
    requeued = await redriving.redrive_recipient(context.sessions, recipient, actor=operator.actor)
    if requeued:
        context.wake_delivery()
    return RecipientRedrive(
        recipient=recipient,
        requeued=len(requeued),
        deliveries=[DeliveryRef(delivery_id=d.id, state=DeliveryState(d.state)) for d in requeued],
    )


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
    requeued = await redriving.redrive_status_pushes(
        context.sessions, audience, actor=operator.actor
    )
    if requeued:
        context.wake_delivery()
    return StatusRedrive(requeued=requeued)
