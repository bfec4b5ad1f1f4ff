"""Helpers for registry tests: an admin's headers and a member with a certificate."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from signing.certs import cert_to_pem
from tests.conftest import PKIFixture


@pytest.fixture
async def admin(operator_token: Callable[[str], Awaitable[dict[str, str]]]) -> dict[str, str]:
    return await operator_token("admin")


@pytest.fixture
def register(
    hub_client: httpx.AsyncClient, admin: dict[str, str], pki: PKIFixture
) -> Callable[..., Awaitable[Any]]:
    """`await register(code, **fields)`: create a member with a certificate; returns it."""

    async def make(code: str, *, with_cert: bool = True, **fields: Any) -> Any:
        body = {"code": code, "name": f"Agency {code}", "kind": "other", **fields}
        response = await hub_client.post("/v1/admin/members", json=body, headers=admin)
        assert response.status_code == 201, response.text
        if not with_cert:
            return None
        issued = pki.issue_member(code)
        response = await hub_client.post(
            f"/v1/admin/members/{code}/certificates",
            json={"certificate": cert_to_pem(issued.cert).decode()},
            headers=admin,
        )
        assert response.status_code == 201, response.text
        return issued

    return make
