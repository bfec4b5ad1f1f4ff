"""`GET /v1/directory`: gzip when asked for, deltas since a version, and their refusals."""

from __future__ import annotations

import gzip
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from signing.jose import mint_token, unverified_header, verify_compact
from tests.conftest import HUB_ID, PKIFixture

Register = Callable[..., Awaitable[Any]]
CODE = "000.00.00.G22"


async def _headers(register: Register) -> dict[str, str]:
    issued = await register(CODE)
    return {"Authorization": f"Bearer {mint_token(issued.key, issued.cert, CODE, HUB_ID)}"}


async def _raw(
    client: httpx.AsyncClient, headers: dict[str, str], **params: Any
) -> tuple[httpx.Response, bytes]:
    """The response and its body as sent, before httpx decodes any Content-Encoding."""
    async with client.stream("GET", "/v1/directory", headers=headers, params=params) as response:
        return response, b"".join([chunk async for chunk in response.aiter_raw()])


async def test_the_directory_is_gzipped_only_for_clients_that_ask(
    hub_client: httpx.AsyncClient, register: Register, pki: PKIFixture
) -> None:
    auth = await _headers(register)
    plain, body = await _raw(hub_client, {**auth, "Accept-Encoding": "identity"})
    assert plain.status_code == 200
    assert "content-encoding" not in plain.headers
    assert plain.headers["vary"] == "Accept-Encoding"
    verify_compact(body.decode(), pki.hub.cert)

    for accept in ("gzip", "br;q=1, gzip;q=0.5", "*"):
        zipped, raw = await _raw(hub_client, {**auth, "Accept-Encoding": accept})
        assert zipped.headers["content-encoding"] == "gzip", accept
        assert gzip.decompress(raw) == body
        assert len(raw) < len(body)
        assert zipped.headers["etag"] == plain.headers["etag"]
    refused, raw = await _raw(hub_client, {**auth, "Accept-Encoding": "gzip;q=0, br"})
    assert "content-encoding" not in refused.headers
    assert raw == body


async def test_a_delta_holds_only_the_members_changed_since_the_version(
    hub_client: httpx.AsyncClient, register: Register, admin: dict[str, str], pki: PKIFixture
) -> None:
    auth = await _headers(register)
    for code in ("000.00.00.H26", "000.00.00.H49", "000.00.00.H62"):
        await register(code, with_cert=False)
    whole = await hub_client.get("/v1/directory", headers=auth)
    held = verify_compact(whole.text, pki.hub.cert)
    assert len(held["members"]) == 4

    suspended = await hub_client.post("/v1/admin/members/000.00.00.H49/suspend", headers=admin)
    assert suspended.status_code == 200
    await register("000.00.12.H26", with_cert=False)

    delta = await hub_client.get(
        "/v1/directory",
        params={"since": held["version"]},
        headers={**auth, "If-None-Match": whole.headers["etag"]},
    )
    assert delta.status_code == 200, delta.text
    assert unverified_header(delta.text)["typ"] == "lienthong-directory-delta+jws"
    claims = verify_compact(delta.text, pki.hub.cert)
    assert claims["since"] == held["version"] and claims["version"] > held["version"]
    assert [(m["code"], m["status"]) for m in claims["members"]] == [
        ("000.00.00.H49", "suspended"),
        ("000.00.12.H26", "active"),
    ]
    assert claims["crl"] == held["crl"] and claims["hub_certificate"] == held["hub_certificate"]

    now_whole = await hub_client.get("/v1/directory", headers=auth)
    assert delta.headers["etag"] == now_whole.headers["etag"] != whole.headers["etag"]
    current = verify_compact(now_whole.text, pki.hub.cert)
    assert current["version"] == claims["version"]
    assert current["generated_at"] == claims["generated_at"]

    unchanged = await hub_client.get(
        "/v1/directory",
        params={"since": claims["version"]},
        headers={**auth, "If-None-Match": delta.headers["etag"]},
    )
    assert unchanged.status_code == 304
    empty = await hub_client.get("/v1/directory", params={"since": claims["version"]}, headers=auth)
    assert verify_compact(empty.text, pki.hub.cert)["members"] == []


@pytest.mark.parametrize(
    ("since", "code"),
    [
        ("abc", "validation_error"),
        ("-1", "validation_error"),
        ("1.5", "validation_error"),
        ("99999999999999999999", "validation_error"),
        ("1000000", "directory_version_unknown"),
    ],
)
async def test_a_bad_or_future_version_is_a_problem(
    hub_client: httpx.AsyncClient, register: Register, since: str, code: str
) -> None:
    auth = await _headers(register)
    response = await hub_client.get("/v1/directory", params={"since": since}, headers=auth)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code
    assert any(error["field"] == "since" for error in body["errors"])
