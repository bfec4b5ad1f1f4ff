"""Mutual TLS behind a proxy: with `client_cert_header` set, a member call must carry the
member's own registered authentication certificate as forwarded by the proxy."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from signing.certs import cert_to_pem
from tests.hub.conftest import Hub

HEADER = "X-Client-Cert"
SENDER, OTHER = "000.00.00.H26", "000.00.00.G22"


@pytest.fixture
def hub_overrides() -> dict[str, Any]:
    return {"client_cert_header": HEADER}


def forwarded(pem: bytes) -> str:
    """What nginx's `$ssl_client_escaped_cert` holds."""
    return quote(pem.decode(), safe="")


async def test_a_member_call_needs_its_own_certificate_from_the_proxy(hub: Hub) -> None:
    sender = await hub.add(SENDER)
    other = await hub.add(OTHER)
    own = forwarded(cert_to_pem(sender.org.cert))

    ok = await hub.client.get("/v1/inbox", headers={**sender.headers, HEADER: own})
    assert ok.status_code == 200, ok.text

    missing = await hub.client.get("/v1/inbox", headers=sender.headers)
    assert missing.status_code == 401
    assert missing.json()["code"] == "client_certificate_missing"

    not_pem = await hub.client.get("/v1/inbox", headers={**sender.headers, HEADER: "garbage"})
    assert not_pem.status_code == 401
    assert not_pem.json()["code"] == "client_certificate_invalid"

    theirs = forwarded(cert_to_pem(other.org.cert))
    stolen = await hub.client.get("/v1/inbox", headers={**sender.headers, HEADER: theirs})
    assert stolen.status_code == 403
    assert stolen.json()["code"] == "client_certificate_mismatch"

    # the official's certificate is the member's, but not registered for authentication
    official = forwarded(cert_to_pem(sender.official.cert))
    refused = await hub.client.get("/v1/inbox", headers={**sender.headers, HEADER: official})
    assert refused.status_code == 403


async def test_operators_and_member_reports_follow_the_same_rule(hub: Hub) -> None:
    sender = await hub.add(SENDER)
    own = forwarded(cert_to_pem(sender.org.cert))
    report = "/v1/reports/signature-compliance"
    assert (await hub.client.get(report, headers=sender.headers)).status_code == 401
    mine = await hub.client.get(report, headers={**sender.headers, HEADER: own})
    assert mine.status_code == 200, mine.text
    # operators authenticate with their own tokens; the member TLS rule is not theirs
    assert (await hub.client.get(report, headers=hub.admin)).status_code == 200
