"""Member bearer tokens and the signed directory, through HTTP."""

from __future__ import annotations

import base64
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from signing.certs import cert_to_pem, fingerprint, load_certificates
from signing.jose import JoseError, mint_token, sign_compact, verify_compact
from tests.conftest import HUB_ID, PKIFixture

Register = Callable[..., Awaitable[Any]]
CODE = "000.00.00.G22"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _code(response: httpx.Response) -> tuple[int, str]:
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.status_code, response.json()["code"]


async def test_directory_is_signed_by_the_hub_and_cached_by_etag(
    hub_client: httpx.AsyncClient, register: Register, pki: PKIFixture
) -> None:
    issued = await register(CODE)
    headers = _bearer(mint_token(issued.key, issued.cert, CODE, HUB_ID))
    response = await hub_client.get("/v1/directory", headers=headers)
    assert response.status_code == 200, response.text
    token = response.text
    claims = verify_compact(token, pki.hub.cert)
    assert claims["hub_id"] == HUB_ID
    assert claims["generated_at"] < claims["expires_at"]
    assert [m["code"] for m in claims["members"]] == [CODE]
    entry = claims["members"][0]
    assert entry["certificates"][0]["fingerprint"] == fingerprint(issued.cert)
    assert load_certificates(claims["hub_certificate"])[0] == pki.hub.cert
    assert load_certificates(claims["ca_chain"][0])[0] == pki.ca.certificate
    assert claims["crl"].startswith("-----BEGIN X509 CRL-----")

    etag = response.headers["etag"]
    again = await hub_client.get("/v1/directory", headers={**headers, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["etag"] == etag

    await register("000.00.00.H26", with_cert=False)
    changed = await hub_client.get("/v1/directory", headers={**headers, "If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert len(verify_compact(changed.text, pki.hub.cert)["members"]) == 2


async def test_one_changed_byte_breaks_the_directory_signature(
    hub_client: httpx.AsyncClient, register: Register, pki: PKIFixture
) -> None:
    issued = await register(CODE)
    headers = _bearer(mint_token(issued.key, issued.cert, CODE, HUB_ID))
    token = (await hub_client.get("/v1/directory", headers=headers)).text
    header, payload, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    index = raw.index(CODE.encode())
    raw[index] = ord("1")
    forged = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    with pytest.raises(JoseError):
        verify_compact(f"{header}.{forged}.{signature}", pki.hub.cert)


async def test_a_token_is_reused_until_suspension_or_rotation_stops_it(
    hub_client: httpx.AsyncClient, register: Register, admin: dict[str, str], pki: PKIFixture
) -> None:
    issued = await register(CODE)
    headers = _bearer(mint_token(issued.key, issued.cert, CODE, HUB_ID))
    for _ in range(3):
        assert (await hub_client.get("/v1/directory", headers=headers)).status_code == 200

    await hub_client.post(f"/v1/admin/members/{CODE}/suspend", headers=admin)
    assert _code(await hub_client.get("/v1/directory", headers=headers)) == (
        403,
        "member_suspended",
    )
    await hub_client.post(f"/v1/admin/members/{CODE}/reinstate", headers=admin)
    assert (await hub_client.get("/v1/directory", headers=headers)).status_code == 200

    new = pki.issue_member(CODE)
    rotated = await hub_client.post(
        f"/v1/admin/members/{CODE}/certificates/rotate",
        json={"certificate": cert_to_pem(new.cert).decode()},
        headers=admin,
    )
    assert rotated.status_code == 201
    assert _code(await hub_client.get("/v1/directory", headers=headers)) == (401, "key_retired")
    fresh = _bearer(mint_token(new.key, new.cert, CODE, HUB_ID))
    assert (await hub_client.get("/v1/directory", headers=fresh)).status_code == 200

    await hub_client.post(f"/v1/admin/members/{CODE}/revoke", headers=admin)
    assert _code(await hub_client.get("/v1/directory", headers=fresh)) == (403, "member_revoked")


async def test_bad_tokens_are_refused_with_stable_codes(
    hub_client: httpx.AsyncClient, register: Register, pki: PKIFixture
) -> None:
    issued = await register(CODE)
    stranger = pki.issue_member("000.00.00.H26")
    now = int(time.time())

    async def refusal(headers: dict[str, str]) -> tuple[int, str]:
        return _code(await hub_client.get("/v1/directory", headers=headers))

    assert await refusal({}) == (401, "member_token_missing")
    assert await refusal(_bearer("not.a.token")) == (401, "malformed_token")
    expired = mint_token(issued.key, issued.cert, CODE, HUB_ID, now=now - 1000)
    assert await refusal(_bearer(expired)) == (401, "token_expired")
    too_long = mint_token(issued.key, issued.cert, CODE, HUB_ID, lifetime=3600)
    assert await refusal(_bearer(too_long)) == (401, "token_lifetime_too_long")
    elsewhere = mint_token(issued.key, issued.cert, CODE, "another-hub")
    assert await refusal(_bearer(elsewhere)) == (401, "wrong_audience")
    unknown = mint_token(stranger.key, stranger.cert, CODE, HUB_ID)
    assert await refusal(_bearer(unknown)) == (401, "unknown_key")
    claims = {"iss": CODE, "aud": HUB_ID, "iat": now, "exp": now + 60}
    forged = sign_compact(claims, stranger.key, issued.cert)  # kid of G22, key of a stranger
    assert await refusal(_bearer(forged)) == (401, "invalid_token")
