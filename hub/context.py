"""`HubContext`: what a running hub holds, and the one way handlers, pages and metrics reach it.

One context per process, made in the app's lifespan. Routes take it with
`Depends(hub_context)` (or call `hub_context(request)` on the hottest path);
services never see the request: they take the parts they need (sessions,
identity, settings) as plain arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hub.delivery.arrivals import Arrivals
from hub.delivery.worker import DeliveryWorker
from hub.identity import HubIdentity
from hub.ingest.service import Ingest
from hub.settings import HubSettings

__all__ = ["HubContext", "hub_context"]


@dataclass
class HubContext:
    """What every request handler may need; one per process."""

    settings: HubSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    identity: HubIdentity
    ingest: Ingest
    """The submission service: it holds the group commit that batches concurrent submits."""
    delivery_worker: DeliveryWorker | None = None
    """This process's push worker, when `settings.delivery_worker` runs one."""
    arrivals: Arrivals = field(default_factory=Arrivals)
    """The long polls waiting in this process (`GET /v1/inbox?wait=`), woken by commits."""

    def wake_delivery(self) -> None:
        """Tell this process's push worker that new jobs are committed (no-op without one)."""
        if self.delivery_worker is not None:
            self.delivery_worker.wake()


def hub_context(request: Request) -> HubContext:
    """FastAPI dependency: the running hub's context (set by the lifespan of `create_app`)."""
    context: HubContext = request.app.state.hub
    return context
