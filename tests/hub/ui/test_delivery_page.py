"""The delivery page through HTTP: failed and overdue first, latency, labels, bulk redrive."""

from __future__ import annotations

import datetime as dt
import html as html_module
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from hub.db.models import Delivery
from hub.eventlog.chain import EventLogEntry
from registry.db import utcnow
from signing.package import new_package
from signing.sign import sign_package
from signing.workdays import VIETNAM_TZ
from tests.hub.conftest import Hub
from tests.hub.helpers import HEADER, PDF
from tests.hub.reports.scenario import DEPT, G22, H26, Scenario, load_scenario
from tests.hub.ui.ordering import walk
from tests.hub.ui.test_ui import _csrf, _login, _token

PUSHED = "000.00.00.G09"


@pytest.fixture
async def failing(hub: Hub) -> Scenario:
    """The report scenario, and two documents to a push member whose endpoint refuses."""
    scenario = await load_scenario(hub.client, hub.agencies)
    await hub.add(PUSHED, mode="push")
    h26 = scenario.agencies[H26]
    for _ in range(2):
        response = await hub.submit(h26, h26.package([PUSHED]))
        assert response.status_code == 202, response.text
    hub.members.failures[PUSHED] = 2
    assert await hub.worker(push_max_attempts=1).run_once() == 2
    return scenario


def _row(html: str, table: str, key: str) -> str:
    body = re.search(rf'<table id="{table}">(.*?)</table>', html, re.S)
    assert body, html
    row = re.search(rf'<tr data-key="{re.escape(key)}">(.*?)</tr>', body.group(1), re.S)
    assert row, body.group(1)
    return row.group(1)


def _field(row: str, name: str) -> str:
    found = re.search(rf'data-field="{name}">([^<]*)<', row)
    assert found, row
    return found.group(1)


async def test_failed_first_with_the_apis_numbers(hub: Hub, failing: Scenario) -> None:
    await _login(hub, await _token(hub, "auditor"))
    page = await hub.client.get("/ui/delivery")
    assert page.status_code == 200
    html = page.text
    assert html.index('id="trouble"') < html.index('id="latency"') < html.index('id="recipients"')
    troubled = (await hub.client.get("/v1/admin/deliveries/troubled", headers=hub.admin)).json()
    assert [r["recipient"] for r in troubled["recipients"]] == [PUSHED]
    api_row = troubled["recipients"][0]
    row = _row(html, "trouble", PUSHED)
    assert (_field(row, "failed"), _field(row, "overdue")) == ("2", "0")
    assert api_row["failed"] == 2 and api_row["last_error"] in html_module.unescape(row)
    assert "HTTP 503" in api_row["last_error"]
    assert 'class="bulk-redrive"' not in html and 'class="redrive"' not in html  # an auditor

    report = (await hub.client.get("/v1/reports/delivery", headers=hub.admin)).json()
    g22 = next(r for r in report["recipients"] if r["recipient"] == G22)
    latency = _row(html, "latency", G22)
    for k in ("p50", "p90", "p95", "p99"):
        assert _field(latency, k) == str(g22["latency_seconds"][k])
    assert g22["latency_seconds"]["p90"] is not None and "<svg" in html
    assert f'data-key="{PUSHED}"' not in re.search(
        r'<table id="latency">(.*?)</table>', html, re.S
    ).group(1)  # nothing delivered to it: no latency row
    assert "01 Đã đến (arrived)" in html and "06 Hoàn thành (completed)" in html
    assert report["senders"] and all(s["late_dispatch"] == 0 for s in report["senders"])
    assert 'id="late-none"' in html and 'id="late"' not in html


async def test_a_delivery_queued_too_long_is_overdue(hub: Hub, failing: Scenario) -> None:
    await _login(hub, await _token(hub, "auditor"))
    h26 = failing.agencies[H26]
    response = await hub.submit(h26, h26.package([PUSHED]))  # queued, not yet tried
    assert response.status_code == 202
    url = "/v1/admin/deliveries/troubled"
    fresh = (await hub.client.get(url, headers=hub.admin)).json()
    assert (fresh["overdue_minutes"], fresh["recipients"][0]["overdue"]) == (60, 0)
    async with hub.context.sessions.begin() as session:
        await session.execute(
            update(Delivery)
            .where(Delivery.state == "queued", Delivery.recipient == PUSHED)
            .values(created_at=utcnow() - timedelta(minutes=61))
        )
    late = (await hub.client.get(url, headers=hub.admin)).json()["recipients"][0]
    assert (late["failed"], late["overdue"]) == (2, 1)
    row = _row((await hub.client.get("/ui/delivery")).text, "trouble", PUSHED)
    assert (_field(row, "failed"), _field(row, "overdue")) == ("2", "1")
    wider = await hub.client.get(url, params={"overdue_minutes": 120}, headers=hub.admin)
    assert wider.json()["recipients"][0]["overdue"] == 0
    for bad in ({"overdue_minutes": 0}, {"recipient": "nope"}):
        refused = await hub.client.get(url, params=bad, headers=hub.admin)
        assert refused.status_code == 422, bad


async def test_bulk_redrive_is_confirmed_and_shows_the_count(hub: Hub, failing: Scenario) -> None:
    await _login(hub, await _token(hub, "auditor"))
    url = f"/ui/delivery/recipients/{PUSHED}/redrive"
    refused = await hub.client.get(url)
    assert refused.status_code == 403 and "text/html" in refused.headers["content-type"]
    page = await hub.client.get("/ui/delivery")
    await hub.client.post("/ui/logout", data={"csrf": _csrf(page.text)})

    await _login(hub, await _token(hub, "admin"))
    page = await hub.client.get("/ui/delivery")
    assert f'href="{url}"' in page.text
    confirm = await hub.client.get(url)
    assert confirm.status_code == 200
    assert re.search(r'id="to-requeue">2<', confirm.text)
    forged = await hub.client.post(url, data={"csrf": "forged"})
    assert forged.status_code == 403
    before = await hub.client.get(
        "/v1/admin/deliveries", params={"recipient": PUSHED}, headers=hub.admin
    )
    failed_ids = sorted(d["delivery_id"] for d in before.json()["deliveries"])
    assert len(failed_ids) == 2
    done = await hub.client.post(url, data={"csrf": _csrf(confirm.text)})
    assert done.status_code == 303
    assert done.headers["location"].startswith(f"/ui/delivery?requeued=2&done={PUSHED}")
    shown = await hub.client.get(done.headers["location"])
    assert re.search(r'id="requeued">2<', shown.text)
    after = await hub.client.get(
        "/v1/admin/deliveries", params={"recipient": PUSHED}, headers=hub.admin
    )
    assert after.json()["deliveries"] == []
    async with hub.context.sessions() as session:
        entries = (
            await session.scalars(
                select(EventLogEntry).where(EventLogEntry.kind == "delivery.redriven")
            )
        ).all()
    logged = [json.loads(e.data) for e in entries]
    assert sorted(e["delivery_id"] for e in logged) == failed_ids
    assert {e["actor"] for e in logged} == {"operator:ui-admin"}
    nothing = await hub.client.get(url)
    assert 'id="to-requeue"' in nothing.text and "nothing failed" in nothing.text
    unknown = await hub.client.get("/ui/delivery/recipients/000.00.00.A98/redrive")
    assert unknown.status_code == 404
    malformed = await hub.client.post("/ui/delivery/recipients/nope/redrive", data={"csrf": "x"})
    assert malformed.status_code == 422 and "text/html" in malformed.headers["content-type"]


async def test_late_dispatch_lists_only_the_late_senders(hub: Hub) -> None:
    scenario = await load_scenario(hub.client, hub.agencies)
    dept = scenario.agencies[DEPT]
    signed_at = (dt.datetime.now(VIETNAM_TZ) - dt.timedelta(days=8)).replace(microsecond=0)
    pkg = new_package(DEPT, [G22], HEADER, [PDF])
    pkg = sign_package(pkg, dept.official.key, dept.official.full_chain, "personal", signed_at)
    pkg = sign_package(pkg, dept.org.key, dept.org.full_chain, "organization", signed_at)
    response = await hub.submit(dept, pkg)
    assert response.status_code == 202, response.text
    assert "LATE_DISPATCH" in response.json()["verdict"]["violations"]
    await _login(hub, await _token(hub, "auditor"))
    html = (await hub.client.get("/ui/delivery")).text
    report = (await hub.client.get("/v1/reports/delivery", headers=hub.admin)).json()
    late = {s["sender"]: s["late_dispatch"] for s in report["senders"] if s["late_dispatch"]}
    assert late == {DEPT: 1} and len(report["senders"]) > 1
    table = re.search(r'<table id="late">(.*?)</table>', html, re.S)
    assert table and 'id="late-none"' not in html
    shown = dict(re.findall(r'<tr data-key="([^"]+)">.*?data-field="late_dispatch">(\d+)<',
                            table.group(1), re.S))  # fmt: skip
    assert shown == {DEPT: "1"}


async def test_one_deliverys_redrive_is_confirmed_first(hub: Hub, failing: Scenario) -> None:
    await _login(hub, await _token(hub, "admin"))
    page = await hub.client.get("/ui/delivery")
    url = re.search(r'<form method="get" action="(/ui/deliveries/[^"]+/redrive)">', page.text)
    assert url, page.text
    confirm = await hub.client.get(url.group(1))
    assert confirm.status_code == 200 and 'id="confirm"' in confirm.text
    assert PUSHED in confirm.text and "HTTP 503" in html_module.unescape(confirm.text)
    still = await hub.client.get(
        "/v1/admin/deliveries", params={"recipient": PUSHED}, headers=hub.admin
    )
    assert len(still.json()["deliveries"]) == 2  # looking changes nothing
    done = await hub.client.post(url.group(1), data={"csrf": _csrf(confirm.text)})
    assert done.status_code == 303
    after = await hub.client.get(
        "/v1/admin/deliveries", params={"recipient": PUSHED}, headers=hub.admin
    )
    assert len(after.json()["deliveries"]) == 1
    again = await hub.client.get(url.group(1))
    assert 'id="not-failed"' in again.text and 'id="confirm"' not in again.text
    missing = await hub.client.get("/ui/deliveries/no-such-delivery/redrive")
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]


def _keys(html: str, table: str) -> list[str]:
    body = re.search(rf'<table id="{table}">(.*?)</table>', html, re.S)
    assert body, html
    return re.findall(r'<tr data-key="([^"]+)">', body.group(1))


async def test_recipients_paged_sorted_both_ways_and_whole_in_the_csv(
    hub: Hub, failing: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("hub.ui.delivery_pages.PAGE_SIZE", 2)
    await _login(hub, await _token(hub, "auditor"))
    report = (await hub.client.get("/v1/reports/delivery", headers=hub.admin)).json()
    assert len(report["recipients"]) > 2

    seen: list[str] = []
    async for html in walk(hub.client, "/ui/delivery?sort=recipient"):
        page = _keys(html, "recipients")
        assert 0 < len(page) <= 2
        seen += page
    assert seen == sorted(r["recipient"] for r in report["recipients"])

    down = (await hub.client.get("/ui/delivery", params={"sort": "-failed"})).text
    assert _keys(down, "recipients")[0] == PUSHED
    up = (await hub.client.get("/ui/delivery", params={"sort": "failed"})).text
    assert _keys(up, "recipients")[0] != PUSHED
    assert 'aria-sort="ascending"' in up and 'aria-sort="descending"' in down

    csv = await hub.client.get("/ui/delivery.csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    api_csv = await hub.client.get("/v1/reports/delivery?format=csv", headers=hub.admin)
    assert csv.text == api_csv.text
