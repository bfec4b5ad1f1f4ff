"""The operator API for members: lifecycle, validation and the change log, over HTTP."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from signing.certs import cert_to_pem, fingerprint
from tests.conftest import PKIFixture

Register = Callable[..., Awaitable[Any]]
PROBLEM = "application/problem+json"


def _problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    assert body["status"] == status
    return body


async def test_create_read_list_update(
    hub_client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    created = await hub_client.post(
        "/v1/admin/members",
        json={"code": "000.00.00.H26", "name": "UBND Hưng Yên", "kind": "province"},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/v1/admin/members/000.00.00.H26"
    child = await hub_client.post(
        "/v1/admin/members",
        json={
            "code": "000.00.12.H26",
            "name": "Sở Nội vụ",
            "kind": "department",
            "delivery_mode": "push",
            "endpoint": "https://snv.hungyen.gov.vn",
        },
        headers=admin,
    )
    assert child.status_code == 201, child.text
    assert child.json()["parent"] == "000.00.00.H26"

    read = await hub_client.get("/v1/admin/members/000.00.12.H26", headers=admin)
    assert read.json()["endpoint"] == "https://snv.hungyen.gov.vn"

    page = await hub_client.get(
        "/v1/admin/members", params={"parent": "000.00.00.H26", "limit": 1}, headers=admin
    )
    assert page.json()["total"] == 1
    assert [m["code"] for m in page.json()["items"]] == ["000.00.12.H26"]
    provinces = await hub_client.get(
        "/v1/admin/members", params={"kind": "province"}, headers=admin
    )
    assert [m["code"] for m in provinces.json()["items"]] == ["000.00.00.H26"]

    updated = await hub_client.patch(
        "/v1/admin/members/000.00.12.H26",
        json={"policy": "require_compliant", "delivery_mode": "pull"},
        headers=admin,
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["policy"] == "require_compliant"
    assert updated.json()["delivery_mode"] == "pull"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"code": "000.00.00.X1"}, 422, "invalid_agency_code"),
        ({"code": "000.00.12.H27"}, 422, "parent_not_found"),
        ({"code": "000.00.00.G22", "parent": "000.00.00.H26"}, 422, "parent_mismatch"),
        ({"code": "000.00.00.G22", "delivery_mode": "push"}, 422, "endpoint_required"),
        (
            {"code": "000.00.00.G22", "delivery_mode": "push", "endpoint": "ftp://x.gov.vn"},
            422,
            "invalid_endpoint",
        ),
        ({"code": "000.00.00.G22", "policy": "accept_some"}, 422, "validation_error"),
        ({"code": "000.00.00.H26"}, 409, "duplicate_member"),
    ],
)
async def test_bad_input_is_refused_and_nothing_is_written(
    hub_client: httpx.AsyncClient,
    admin: dict[str, str],
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    await hub_client.post(
        "/v1/admin/members", json={"code": "000.00.00.H26", "name": "Hưng Yên"}, headers=admin
    )
    before = (await hub_client.get("/v1/admin/changes", headers=admin)).json()["total"]
    response = await hub_client.post(
        "/v1/admin/members", json={"name": "Agency", **body}, headers=admin
    )
    problem = _problem(response, status, code)
    if code == "validation_error":
        assert problem["errors"][0]["field"] == "policy"
    after = await hub_client.get("/v1/admin/changes", headers=admin)
    assert after.json()["total"] == before
    listed = await hub_client.get("/v1/admin/members", headers=admin)
    assert listed.json()["total"] == 1


async def test_lifecycle_and_the_change_log(
    hub_client: httpx.AsyncClient, admin: dict[str, str], register: Register
) -> None:
    await register("000.00.00.G22", with_cert=False)
    url = "/v1/admin/members/000.00.00.G22"
    assert (await hub_client.post(f"{url}/suspend", headers=admin)).json()["status"] == "suspended"
    _problem(
        await hub_client.post(f"{url}/suspend", headers=admin), 409, "invalid_status_transition"
    )
    assert (await hub_client.post(f"{url}/reinstate", headers=admin)).json()["status"] == "active"
    assert (await hub_client.post(f"{url}/revoke", headers=admin)).json()["status"] == "revoked"
    _problem(
        await hub_client.post(f"{url}/reinstate", headers=admin), 409, "invalid_status_transition"
    )
    _problem(await hub_client.patch(url, json={"name": "x"}, headers=admin), 409, "member_revoked")

    changes = (
        await hub_client.get("/v1/admin/changes", params={"member": "000.00.00.G22"}, headers=admin)
    ).json()["items"]
    assert [c["action"] for c in changes] == ["revoke", "reinstate", "suspend", "create"]
    suspend = changes[2]
    assert suspend["actor"] == "operator:admin-1"
    assert suspend["before"]["status"] == "active"
    assert suspend["after"]["status"] == "suspended"


async def test_certificates_are_checked_and_rotation_keeps_history(
    hub_client: httpx.AsyncClient, admin: dict[str, str], register: Register, pki: PKIFixture
) -> None:
    first = await register("000.00.00.G22")
    url = "/v1/admin/members/000.00.00.G22/certificates"

    other = pki.issue_member("000.00.00.H26")
    response = await hub_client.post(
        url, json={"certificate": cert_to_pem(other.cert).decode()}, headers=admin
    )
    _problem(response, 422, "certificate_agency_mismatch")

    from signing.pki import CertificateAuthority

    rogue = CertificateAuthority.init(pki.directory.parent / "rogue").issue(
        "organization", "000.00.00.G22", "Rogue"
    )
    response = await hub_client.post(
        url, json={"certificate": cert_to_pem(rogue.cert).decode()}, headers=admin
    )
    _problem(response, 422, "untrusted_certificate")
    response = await hub_client.post(url, json={"certificate": "not a pem"}, headers=admin)
    _problem(response, 422, "invalid_certificate")
    response = await hub_client.post(
        url, json={"certificate": cert_to_pem(first.cert).decode()}, headers=admin
    )
    _problem(response, 409, "duplicate_certificate")

    second = pki.issue_member("000.00.00.G22")
    rotated = await hub_client.post(
        f"{url}/rotate", json={"certificate": cert_to_pem(second.cert).decode()}, headers=admin
    )
    assert rotated.status_code == 201, rotated.text
    certs = {c["fingerprint"]: c for c in rotated.json()["certificates"]}
    assert certs[fingerprint(first.cert)]["retired_at"] is not None
    assert certs[fingerprint(second.cert)]["retired_at"] is None


async def test_operators_need_a_token_and_the_right_role(
    hub_client: httpx.AsyncClient,
    operator_token: Callable[[str], Awaitable[dict[str, str]]],
) -> None:
    _problem(await hub_client.get("/v1/admin/members"), 401, "operator_token_missing")
    _problem(
        await hub_client.get("/v1/admin/members", headers={"Authorization": "Bearer lto_nope"}),
        401,
        "operator_token_invalid",
    )
    auditor = await operator_token("auditor")
    assert (await hub_client.get("/v1/admin/members", headers=auditor)).status_code == 200
    assert (await hub_client.get("/v1/admin/changes", headers=auditor)).status_code == 200
    response = await hub_client.post(
        "/v1/admin/members", json={"code": "000.00.00.G22", "name": "VPCP"}, headers=auditor
    )
    _problem(response, 403, "forbidden_role")


async def test_unknown_routes_and_methods_are_problems(hub_client: httpx.AsyncClient) -> None:
    _problem(await hub_client.get("/v1/nowhere"), 404, "not_found")
    _problem(await hub_client.delete("/v1/directory"), 405, "method_not_allowed")


async def test_the_name_search_folds_every_letter_and_takes_wildcards_literally(
    hub_client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    names = {
        "000.00.00.H26": "ỦY BAN NHÂN DÂN TỈNH HƯNG YÊN",
        "000.00.00.H62": "Ủy ban nhân dân tỉnh Điện Biên",
        "000.00.00.G22": "Bộ Nội vụ (100% số hóa)",
    }
    for code, name in names.items():
        created = await hub_client.post(
            "/v1/admin/members", json={"code": code, "name": name}, headers=admin
        )
        assert created.status_code == 201, created.text

    async def found(q: str) -> list[str]:
        page = await hub_client.get("/v1/admin/members", params={"q": q}, headers=admin)
        assert page.status_code == 200, page.text
        return [m["code"] for m in page.json()["items"]]

    assert await found("ủy ban nhân dân") == ["000.00.00.H26", "000.00.00.H62"]
    assert await found("ĐIỆN BIÊN") == ["000.00.00.H62"]
    assert await found("100%") == ["000.00.00.G22"]
    assert await found("%") == ["000.00.00.G22"]
    assert await found("_") == []
