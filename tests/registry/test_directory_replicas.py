"""Hub replicas on one database give the directory one ETag: a `304` from any of them.

Each replica signs its own directory, but the ETag names what it says (version,
members, CRL, certificates, validity window), not the signing; a new window is a
new directory with a new ETag, so a member is never held on one about to expire.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

import registry.signed_directory as signed_directory
from signing.jose import mint_token, verify_compact
from tests.conftest import HUB_ID, PKIFixture

Register = Callable[..., Awaitable[Any]]
CODE = "000.00.00.G22"


@pytest.fixture
async def other_hub(hub_settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A second hub app on the same database and PKI (another replica)."""
    from hub.app import create_app

    app = create_app(hub_settings.model_copy())
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub-2") as http,
    ):
        yield http


async def _auth(register: Register) -> dict[str, str]:
    issued = await register(CODE)
    return {"Authorization": f"Bearer {mint_token(issued.key, issued.cert, CODE, HUB_ID)}"}


async def test_each_replica_answers_304_to_the_etag_of_the_other(
    hub_client: httpx.AsyncClient, other_hub: httpx.AsyncClient, register: Register
) -> None:
    auth = await _auth(register)
    first = await hub_client.get("/v1/directory", headers=auth)
    assert first.status_code == 200
    etag = first.headers["etag"]
    again = await other_hub.get("/v1/directory", headers={**auth, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["etag"] == etag
    whole = await other_hub.get("/v1/directory", headers=auth)
    assert whole.headers["etag"] == etag

    await register("000.00.00.H26", with_cert=False)  # a new version, seen by both
    changed = await other_hub.get("/v1/directory", headers={**auth, "If-None-Match": etag})
    assert changed.status_code == 200
    new = changed.headers["etag"]
    assert new != etag
    back = await hub_client.get("/v1/directory", headers={**auth, "If-None-Match": new})
    assert back.status_code == 304


async def test_a_delta_from_one_replica_is_a_304_at_the_other(
    hub_client: httpx.AsyncClient,
    other_hub: httpx.AsyncClient,
    register: Register,
    pki: PKIFixture,
) -> None:
    auth = await _auth(register)
    held = verify_compact((await hub_client.get("/v1/directory", headers=auth)).text, pki.hub.cert)
    await register("000.00.00.H49", with_cert=False)
    since = {"since": held["version"]}
    delta = await hub_client.get("/v1/directory", headers=auth, params=since)
    assert delta.status_code == 200
    assert verify_compact(delta.text, pki.hub.cert)["since"] == held["version"]
    headers = {**auth, "If-None-Match": delta.headers["etag"]}
    assert (await other_hub.get("/v1/directory", headers=headers, params=since)).status_code == 304
    assert (await other_hub.get("/v1/directory", headers=headers)).status_code == 304


async def test_a_new_validity_window_is_a_new_directory_with_a_new_etag(
    hub_client: httpx.AsyncClient,
    register: Register,
    pki: PKIFixture,
    hub_settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    auth = await _auth(register)
    first = await hub_client.get("/v1/directory", headers=auth)
    claims = verify_compact(first.text, pki.hub.cert)
    ttl = hub_settings.directory_ttl_seconds
    later = datetime.now(UTC) + timedelta(seconds=ttl / 2)
    monkeypatch.setattr(signed_directory, "utcnow", lambda: later)
    headers = {**auth, "If-None-Match": first.headers["etag"]}
    renewed = await hub_client.get("/v1/directory", headers=headers)
    assert renewed.status_code == 200
    assert renewed.headers["etag"] != first.headers["etag"]
    fresh = verify_compact(renewed.text, pki.hub.cert)
    assert fresh["version"] == claims["version"]
    generated = datetime.fromisoformat(fresh["generated_at"])
    assert datetime.fromisoformat(claims["generated_at"]) < generated <= later
    assert datetime.fromisoformat(fresh["expires_at"]) - later >= timedelta(seconds=ttl / 2)
