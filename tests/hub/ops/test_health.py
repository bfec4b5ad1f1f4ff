"""`/healthz` and `/readyz`: 200 when ready, 503 naming each failing check."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from hub.app import create_app
from hub.ops.health import CHECK_NAMES
from registry.db import create_engine


async def test_healthz_answers_while_the_process_lives(hub_client: httpx.AsyncClient) -> None:
    response = await hub_client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_200_when_every_check_passes(hub_client: httpx.AsyncClient) -> None:
    response = await hub_client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert body["failing"] == []
    assert list(body["checks"]) == list(CHECK_NAMES)


@pytest.fixture
async def client_without_crl(hub_settings: Any, pki: Any) -> AsyncIterator[httpx.AsyncClient]:
    (pki.directory / "crl.pem").unlink()
    app = create_app(hub_settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            yield client


async def test_readyz_names_a_missing_crl(client_without_crl: httpx.AsyncClient) -> None:
    response = await client_without_crl.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["crl"]
    assert "no CRL" in body["checks"]["crl"]["detail"]


async def test_readyz_recovers_when_the_crl_appears(
    client_without_crl: httpx.AsyncClient, pki: Any
) -> None:
    assert (await client_without_crl.get("/readyz")).status_code == 503
    pki.write_crl()
    assert (await client_without_crl.get("/readyz")).status_code == 200


async def test_readyz_names_an_unreachable_database(
    hub_app: FastAPI, hub_client: httpx.AsyncClient
) -> None:
    context = hub_app.state.hub
    working = context.engine
    context.engine = create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    try:
        response = await hub_client.get("/readyz")
    finally:
        await context.engine.dispose()
        context.engine = working
    assert response.status_code == 503
    assert response.json()["failing"] == ["database"]


async def test_readyz_names_an_expired_directory(
    hub_app: FastAPI, hub_client: httpx.AsyncClient
) -> None:
    ttl = hub_app.state.hub.settings.directory_ttl_seconds
    hub_app.state.signed_directory = SimpleNamespace(built_at=time.monotonic() - ttl - 1)
    response = await hub_client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["directory"]
