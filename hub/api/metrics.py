"""`/metrics`: the Prometheus scrape, with the shared queue's depth read at scrape time."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hub.context import HubContext, hub_context
from hub.delivery.queue import queue_depth
from hub.ops import metrics as instruments

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
    summary="Prometheus metrics",
)
async def metrics(context: HubContext = Depends(hub_context)) -> Response:
    """The Prometheus text format: documents, verdicts, deliveries, queue depth, long polls,
    the event log's lag (docs/OPERATIONS.md lists the alerts built on them)."""
    async with context.sessions() as session:
        counts = await queue_depth(session)
    instruments.queue_depth_read({state.value: n for state, n in counts.items()})
    instruments.long_polls_read(context.arrivals.waiting)
    return Response(generate_latest(instruments.REGISTRY), media_type=CONTENT_TYPE_LATEST)
