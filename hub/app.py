"""The hub's FastAPI application: wiring only; the work lives in plain services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hub.delivery import DeliveryWorker
from hub.delivery import running as delivery_running
from hub.eventlog_sealer import hub_sealer
from hub.eventlog_sealer import running as eventlog_running
from hub.identity import HubIdentity
from hub.settings import HubSettings
from registry.db import assert_migrated, create_engine, session_factory
from registry.problems import install_problem_handlers


@dataclass
class HubContext:
    """What every request handler may need; one per process."""

    settings: HubSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    identity: HubIdentity


def hub_context(request: Request) -> HubContext:
    """FastAPI dependency: the running hub's context."""
    context: HubContext = request.app.state.hub
    return context


def create_app(settings: HubSettings | None = None) -> FastAPI:
    """Build the hub app. Start-up fails on an unmigrated database or a missing identity."""
    settings = settings or HubSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.resolved_database_url())
        try:
            await assert_migrated(engine)
            identity = HubIdentity.load(settings)
            app.state.hub = context = HubContext(
                settings, engine, session_factory(engine), identity
            )
            sealer = hub_sealer(context.sessions, identity, settings)
            app.state.delivery_worker = worker = (
                DeliveryWorker(
                    settings,
                    context.sessions,
                    identity,
                    transport=getattr(app.state, "push_transport", None),
                )
                if settings.delivery_worker
                else None
            )
            async with (
                eventlog_running(sealer if settings.eventlog_sealer else None),
                delivery_running(worker),
            ):
                yield
        finally:
            await engine.dispose()

    app = FastAPI(
        title="lienthong hub",
        version="1",
        summary="National document-interconnection hub",
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    from hub.api import admin_deliveries, documents, inbox

    # members' routes first: a request is matched against the routes in order
    app.include_router(documents.router)
    app.include_router(inbox.router)
    from registry import admin_api, directory  # the registry's HTTP face

    app.include_router(admin_api.router)
    app.include_router(directory.router)
    from hub.api import health

    app.include_router(health.router)
    app.include_router(admin_deliveries.router)
    app.include_router(admin_deliveries.status_router)
    from hub import metrics
    from hub.api import reports  # issue 6: reports, metrics, request ids
    from hub.logging import configure_logging, install_request_logging

    configure_logging(settings.log_level, settings.log_json)
    install_request_logging(app)
    app.include_router(reports.router)
    app.include_router(metrics.router)
    from hub.ui.routes import install_ui

    install_ui(app)
    return app
