"""The hub's FastAPI application: `create_app` and its lifespan; the work lives in services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from apidocs.pages import install_docs
from hub.alerts.job import AlertJob
from hub.alerts.job import running as alerts_running
from hub.api import (
    admin_deliveries,
    admin_documents,
    documents,
    eventlog,
    health,
    inbox,
    metrics,
    reports,
)
from hub.api.deps import install_openapi
from hub.context import HubContext
from hub.db.notify import bind_bus
from hub.delivery.arrivals import Arrivals
from hub.delivery.arrivals import running as arrivals_running
from hub.delivery.worker import DeliveryWorker
from hub.delivery.worker import running as delivery_running
from hub.eventlog.sealer import hub_sealer
from hub.eventlog.sealer import running as eventlog_running
from hub.identity import HubIdentity
from hub.ingest.pdf_workers import WORKERS
from hub.ingest.service import CONCURRENT_BATCHES, Ingest, PdfBounds
from hub.ops.limits import BodyTimeoutMiddleware, MemberRateLimit
from hub.ops.logging import configure_logging, install_request_logging
from hub.retention.purge import running as retention_running
from hub.settings import HubSettings
from hub.ui.routes import install_ui
from registry import admin_api, directory
from registry.db import assert_migrated, create_engine, session_factory
from registry.member_auth import add_admission_check
from registry.problems import install_problem_handlers
from signing.workdays import DEFAULT_CALENDAR, WorkCalendar

__all__ = ["create_app"]


def work_calendar(settings: HubSettings) -> WorkCalendar:
    """The working days LATE_DISPATCH counts: the package's, with the announced changes."""
    if settings.workdays_file is None:
        return DEFAULT_CALENDAR
    return WorkCalendar.load(settings.workdays_file)


def create_app(
    settings: HubSettings | None = None,
    *,
    push_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """Build the hub app. Start-up fails on an unmigrated database or a missing identity.

    `push_transport` carries the push worker's requests (default: the network);
    the simulation and tests pass an in-process transport to reach their nodes.
    """
    settings = settings or HubSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.resolved_database_url())
        try:
            await assert_migrated(engine)
            identity = HubIdentity.load(settings)
            sessions = session_factory(engine)
            ingest = Ingest(
                sessions,
                identity,
                settings.hub_id,
                writers=CONCURRENT_BATCHES.get(engine.dialect.name, 1),
                pdf_bounds=PdfBounds.of(settings),
                calendar=work_calendar(settings),
            )
            worker = (
                DeliveryWorker(settings, sessions, identity, transport=push_transport)
                if settings.delivery_worker
                else None
            )
            arrivals = Arrivals(settings.long_poll_max_seconds)
            bind_bus(sessions, arrivals.committed)
            app.state.hub = HubContext(
                settings, engine, sessions, identity, ingest, worker, arrivals
            )
            sealer = hub_sealer(sessions, identity, settings)
            WORKERS.acquire()
            try:
                async with (
                    eventlog_running(sealer if settings.eventlog_sealer else None),
                    delivery_running(worker),
                    arrivals_running(arrivals, engine),
                    retention_running(sessions, settings),
                    alerts_running(AlertJob(sessions, identity, settings)),
                ):
                    yield
            finally:
                WORKERS.release()
            ingest.checkers.shutdown(wait=False)
        finally:
            await engine.dispose()

    app = FastAPI(
        title="lienthong hub",
        version="1",
        summary="National document-interconnection hub",
        lifespan=lifespan,
        docs_url=None,  # served by hub.api.docs without a CDN
        redoc_url=None,
    )
    install_problem_handlers(app)
    app.add_middleware(BodyTimeoutMiddleware, timeout=settings.body_timeout_seconds)
    add_admission_check(
        app, MemberRateLimit(settings.rate_limits, settings.rate_limit_burst_seconds)
    )
    configure_logging(settings.log_level, settings.log_json)
    install_request_logging(app)
    # members' routes first: a request is matched against the routes in order
    app.include_router(documents.router)
    app.include_router(inbox.router)
    app.include_router(admin_api.router)
    app.include_router(directory.router)
    app.include_router(health.router)
    app.include_router(admin_deliveries.router)
    app.include_router(admin_deliveries.status_router)
    app.include_router(admin_documents.router)
    app.include_router(reports.router)
    app.include_router(eventlog.router)
    app.include_router(metrics.router)
    install_ui(app)
    install_openapi(app)
    install_docs(app, title="lienthong hub: API")
    return app
