"""`/v1/reports/*` over a known scenario, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest

from hub.reports.delivery import delivery_report
from hub.reports.filters import ReportFilter
from registry.db import utcnow
from tests.hub.conftest import Hub
from tests.hub.reports.scenario import DEPT, G22, H26, H49, Scenario, load_scenario

COMPLIANCE = "/v1/reports/signature-compliance"


@pytest.fixture
async def scenario(hub: Hub) -> Scenario:
    return await load_scenario(hub.client, hub.agencies)


@pytest.fixture
async def auditor(hub: Hub, operator_token: Any) -> dict[str, str]:
    from registry.operators import create_operator

    async with hub.context.sessions.begin() as session:
        _, token = await create_operator(session, "auditor-1", "auditor")
    return {"Authorization": f"Bearer {token}"}


async def _report(hub: Hub, headers: dict[str, str], path: str = COMPLIANCE, **params: Any) -> Any:
    response = await hub.client.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _by_key(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["key"]: row for row in report["rows"]}


async def test_compliance_per_sender(hub: Hub, scenario: Scenario, auditor: dict[str, str]) -> None:
    rows = _by_key(await _report(hub, auditor))
    assert set(rows) == {H26, DEPT, H49}
    h26 = rows[H26]
    assert (h26["documents"], h26["signed"], h26["personal_ok"], h26["org_ok"]) == (3, 2, 2, 2)
    assert h26["compliant"] == 2 and h26["signed_share"] == pytest.approx(2 / 3, abs=1e-4)
    assert h26["violations"]["UNSIGNED"] == 1
    assert h26["name"] == "UBND tỉnh Hưng Yên"
    dept = rows[DEPT]
    assert (dept["documents"], dept["signed"], dept["personal_ok"], dept["org_ok"]) == (1, 1, 1, 0)
    assert dept["compliant"] == 0 and dept["violations"]["NO_ORGANIZATION_SIGNATURE"] == 1
    assert rows[H49]["compliant_share"] == 1.0


async def test_filters_recipient_subtree_type_and_window(
    hub: Hub, scenario: Scenario, auditor: dict[str, str]
) -> None:
    to_g22 = _by_key(await _report(hub, auditor, recipient=G22))
    assert {k: r["documents"] for k, r in to_g22.items()} == {H26: 3, DEPT: 1}
    to_h49 = _by_key(await _report(hub, auditor, recipient=H49))
    assert {k: r["documents"] for k, r in to_h49.items()} == {DEPT: 1}
    subtree = _by_key(await _report(hub, auditor, sender=H26))
    assert set(subtree) == {H26, DEPT}
    cv = await _report(hub, auditor, doc_type="CV")
    assert cv["total"]["documents"] == 1
    tomorrow = (utcnow() + timedelta(days=2)).date().isoformat()
    assert (await _report(hub, auditor, since=tomorrow))["rows"] == []


async def test_roll_up_by_parent_and_trend_by_day(
    hub: Hub, scenario: Scenario, auditor: dict[str, str]
) -> None:
    parents = _by_key(await _report(hub, auditor, group="parent"))
    assert {k: r["documents"] for k, r in parents.items()} == {H26: 4, H49: 1}
    assert parents[H26]["compliant"] == 2
    days = await _report(hub, auditor, group="day")
    assert len(days["rows"]) == 1 and days["rows"][0]["documents"] == 5


async def test_csv_by_accept_header_and_format(
    hub: Hub, scenario: Scenario, auditor: dict[str, str]
) -> None:
    response = await hub.client.get(COMPLIANCE, headers={**auditor, "Accept": "text/csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == (
        'attachment; filename="signature-compliance.csv"'
    )
    # a BOM first, so Excel reads UTF-8 (the Vietnamese names) instead of the local code page
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    by_key = {r["key"]: r for r in rows}
    assert by_key[H26]["documents"] == "3" and by_key[H26]["UNSIGNED"] == "1"
    assert by_key["total"]["documents"] == "5"
    assert by_key[DEPT]["name"] == "Sở Nội vụ tỉnh Hưng Yên"
    again = await hub.client.get(COMPLIANCE, params={"format": "csv"}, headers=auditor)
    assert again.text == response.text


async def test_a_member_sees_only_its_own_rows(hub: Hub, scenario: Scenario) -> None:
    member = scenario.agencies[H26].headers
    rows = _by_key(await _report(hub, member))
    assert set(rows) == {H26}
    delivery = await _report(hub, scenario.agencies[G22].headers, "/v1/reports/delivery")
    assert [r["recipient"] for r in delivery["recipients"]] == [G22]
    assert delivery["senders"] == []


async def test_refusals_are_problems(hub: Hub, scenario: Scenario, auditor: dict[str, str]) -> None:
    response = await hub.client.get(COMPLIANCE)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    bad_window = await hub.client.get(
        COMPLIANCE, params={"since": "2025-02-01", "until": "2025-01-01"}, headers=auditor
    )
    assert (bad_window.status_code, bad_window.json()["code"]) == (422, "invalid_window")
    unknown = await hub.client.get(COMPLIANCE, params={"sender": "000.00.00.H99"}, headers=auditor)
    assert (unknown.status_code, unknown.json()["code"]) == (422, "unknown_member")
    bad_date = await hub.client.get(COMPLIANCE, params={"since": "yesterday"}, headers=auditor)
    assert (bad_date.status_code, bad_date.json()["code"]) == (422, "validation_error")
    bad_group = await hub.client.get(COMPLIANCE, params={"group": "x"}, headers=auditor)
    assert bad_group.status_code == 422


async def test_delivery_per_recipient_and_sender(
    hub: Hub, scenario: Scenario, auditor: dict[str, str]
) -> None:
    report = await _report(hub, auditor, "/v1/reports/delivery")
    rows = {r["recipient"]: r for r in report["recipients"]}
    g22 = rows[G22]
    assert (g22["deliveries"], g22["delivered"], g22["pending"], g22["failed"]) == (4, 4, 0, 0)
    assert g22["statuses"]["01"] == 1
    assert g22["overdue_receipts"] == 0
    assert all(v is not None and v >= 0 for v in g22["latency_seconds"].values())
    assert (rows[H49]["pending"], rows[H26]["pending"]) == (1, 1)
    assert rows[H49]["latency_seconds"]["p50"] is None
    senders = {s["sender"]: s for s in report["senders"]}
    assert senders[H26]["documents"] == 3 and senders[H26]["late_dispatch"] == 0
    answer = await hub.client.get(
        "/v1/reports/delivery",
        params={"format": "csv", "since": "2020-01-01", "until": "2099-12-31"},
        headers=auditor,
    )
    assert answer.headers["content-disposition"] == (
        'attachment; filename="delivery_2020-01-01_2099-12-31.csv"'
    )
    csv_text = answer.content.decode("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("section,code,name,deliveries")


async def test_receipts_without_arrival_become_overdue_the_next_day(
    hub: Hub, scenario: Scenario
) -> None:
    async with hub.context.sessions() as session:
        later = await delivery_report(session, ReportFilter(), now=utcnow() + timedelta(days=1))
    g22 = next(r for r in later.recipients if r.recipient == G22)
    assert g22.overdue_receipts == 3


async def test_an_arrival_notified_a_day_late_is_overdue(
    hub: Hub, scenario: Scenario, auditor: dict[str, str]
) -> None:
    """The first 01 counts: noted the next Vietnam day, the receipt was overdue."""
    from sqlalchemy import select

    from hub.db.models import StatusUpdateRow

    async with hub.context.sessions.begin() as session:
        arrivals = await session.scalars(
            select(StatusUpdateRow).where(
                StatusUpdateRow.recipient == G22, StatusUpdateRow.code == "01"
            )
        )
        for arrival in arrivals:
            arrival.recorded_at += timedelta(days=1)
    report = await _report(hub, auditor, "/v1/reports/delivery")
    g22 = next(r for r in report["recipients"] if r["recipient"] == G22)
    assert g22["statuses"]["01"] == 1 and g22["overdue_receipts"] == 1


async def test_the_subtree_follows_the_registry_as_it_changes(
    hub: Hub, scenario: Scenario, auditor: dict[str, str]
) -> None:
    """The hierarchy is kept between reports; a registry change is seen by the next one."""
    unit = "000.00.07.H49"
    before = await hub.client.get(COMPLIANCE, params={"sender": unit}, headers=auditor)
    assert (before.status_code, before.json()["code"]) == (422, "unknown_member")
    added = await hub.client.post(
        "/v1/admin/members",
        json={"code": unit, "name": "Sở Y tế tỉnh Quảng Ninh", "kind": "department"},
        headers=hub.admin,
    )
    assert added.status_code == 201, added.text
    after = await _report(hub, auditor, sender=unit)
    assert after["rows"] == [] and after["total"]["documents"] == 0
    province = _by_key(await _report(hub, auditor, sender=H49, group="parent"))
    assert set(province) == {H49}
    renamed = await hub.client.patch(
        f"/v1/admin/members/{H49}", json={"name": "UBND tỉnh Quảng Ninh (mới)"}, headers=hub.admin
    )
    assert renamed.status_code == 200, renamed.text
    named = _by_key(await _report(hub, auditor, sender=H49))
    assert named[H49]["name"] == "UBND tỉnh Quảng Ninh (mới)"
