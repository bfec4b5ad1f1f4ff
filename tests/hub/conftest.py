"""A messaging hub for tests: app and client, an admin, agencies, a controllable worker."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from hub.app import create_app
from hub.db.models import Delivery
from hub.delivery.worker import DeliveryWorker
from hub.settings import HubSettings
from registry.operators import create_operator
from signing.package import Package
from tests.conftest import PKIFixture
from tests.hub.helpers import Agencies, Agency, FakeMembers, body_of


@dataclass
class Hub:
    app: Any
    client: httpx.AsyncClient
    settings: HubSettings
    agencies: Agencies
    admin: dict[str, str]
    members: FakeMembers
    workers: list[DeliveryWorker] = field(default_factory=list)

    @property
    def context(self) -> Any:
        return self.app.state.hub

    async def add(self, code: str, **kwargs: Any) -> Agency:
        if kwargs.get("mode") == "push":
            kwargs.setdefault("endpoint", self.members.endpoint(code))
        agency = await self.agencies.add(code, **kwargs)
        self.members.agencies[code] = agency
        return agency

    async def submit(self, agency: Agency, pkg: Package | bytes) -> httpx.Response:
        content = pkg if isinstance(pkg, bytes) else body_of(pkg)
        return await self.client.post(
            "/v1/documents",
            content=content,
            headers={**agency.headers, "Content-Type": "application/json"},
        )

    async def trace(self, agency: Agency, document_id: str) -> httpx.Response:
        return await self.client.get(f"/v1/documents/{document_id}", headers=agency.headers)

    async def status(
        self, agency: Agency, document_id: str, code: str, **body: Any
    ) -> httpx.Response:
        return await self.client.post(
            f"/v1/documents/{document_id}/status",
            json={"code": code, **body},
            headers=agency.headers,
        )

    def worker(self, owner: str | None = None, **overrides: Any) -> DeliveryWorker:
        """A push worker on this hub's database, pushing to the fake members."""
        settings = self.settings.model_copy(update=overrides)
        worker = DeliveryWorker(
            settings,
            self.context.sessions,
            self.context.identity,
            transport=self.members.transport(),
            owner=owner,
            rng=random.Random(7),
        )
        self.workers.append(worker)
        return worker

    async def make_due(self) -> None:
        """Every queued delivery is due now (skips the backoff wait)."""
        async with self.context.sessions.begin() as session:
            await session.execute(
                update(Delivery)
                .where(Delivery.state == "queued")
                .values(next_attempt_at=Delivery.created_at)
            )


@pytest.fixture
def hub_overrides() -> dict[str, Any]:
    """Settings a test module wants changed (override this fixture)."""
    return {}


@pytest.fixture
async def hub(
    hub_settings: HubSettings, pki: PKIFixture, hub_overrides: dict[str, Any]
) -> AsyncIterator[Hub]:
    """A running hub without a background worker: tests drive `hub.worker().run_once()`."""
    settings = hub_settings.model_copy(
        update={"delivery_worker": False, "eventlog_sealer": False, **hub_overrides}
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            async with app.state.hub.sessions.begin() as session:
                _, token = await create_operator(session, "admin-1", "admin")
            admin = {"Authorization": f"Bearer {token}"}
            result = Hub(app, client, settings, Agencies(client, admin, pki), admin, FakeMembers())
            try:
                yield result
            finally:
                for worker in result.workers:
                    await worker.stop()
