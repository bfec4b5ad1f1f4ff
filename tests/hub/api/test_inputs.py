"""Inputs schemathesis found answered outside the contract, each pinned down."""

from __future__ import annotations

from tests.hub.conftest import Hub

PROBLEM = "application/problem+json"


async def test_a_cursor_past_int64_is_422_not_a_server_error(hub: Hub) -> None:
    agency = await hub.add("000.00.00.H26")
    response = await hub.client.get(
        "/v1/status-updates",
        params={"after": "7145989753427488788815237548605440"},
        headers=agency.headers,
    )
    assert response.status_code == 422
    response = await hub.client.get(
        "/v1/status-updates", params={"after": str(2**63 - 1)}, headers=agency.headers
    )
    assert response.status_code == 200
    response = await hub.client.get(
        "/v1/admin/members", params={"offset": str(2**63)}, headers=hub.admin
    )
    assert response.status_code == 422


async def test_dates_are_iso_days_only(hub: Hub) -> None:
    for params in ({"until": "0"}, {"since": "0.5"}, {"since": "86400"}, {"since": "2024-02-30"}):
        response = await hub.client.get("/v1/reports/delivery", params=params, headers=hub.admin)
        assert response.status_code == 422, params
        assert response.headers["content-type"].startswith(PROBLEM)
    response = await hub.client.get("/v1/admin/changes", params={"since": "0"}, headers=hub.admin)
    assert response.status_code == 422
    response = await hub.client.get(
        "/v1/admin/changes", params={"since": "2024-03-12T08:00:00+07:00"}, headers=hub.admin
    )
    assert response.status_code == 200


async def test_agency_codes_are_checked_with_the_parsers_reason(hub: Hub) -> None:
    response = await hub.client.get("/v1/admin/members/001.00.00.G22", headers=hub.admin)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_agency_code"
    assert "level 4 is set while level 3 is zero" in body["errors"][0]["message"]


async def test_a_body_that_is_not_json_is_400_not_json(hub: Hub) -> None:
    await hub.add("000.00.00.H26")
    for content in (b"{not json", b"\xff\xfe{"):
        response = await hub.client.patch(
            "/v1/admin/members/000.00.00.H26",
            content=content,
            headers={**hub.admin, "Content-Type": "application/json"},
        )
        assert response.status_code == 400, content
        assert response.json()["code"] == "not_json"


async def test_405_allows_every_method_of_the_path(hub: Hub) -> None:
    response = await hub.client.request("OPTIONS", "/v1/admin/members/000.00.00.H26")
    assert response.status_code == 405
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.headers["allow"] == "GET, PATCH"
    response = await hub.client.delete("/v1/admin/members")
    assert response.headers["allow"] == "GET, POST"


async def test_a_null_name_is_refused_not_a_server_error(hub: Hub) -> None:
    await hub.add("000.00.00.H26")
    response = await hub.client.patch(
        "/v1/admin/members/000.00.00.H26", json={"name": None}, headers=hub.admin
    )
    assert response.status_code == 422
