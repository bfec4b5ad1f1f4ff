"""The overview through HTTP: its numbers against the reports API, the document search,
the deliveries API, the certificates the registry holds and the event-log export."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from hub.db.models import Delivery
from hub.eventlog.export import export_lines
from hub.eventlog.sealer import hub_sealer
from registry.db import utcnow
from registry.models import MemberCertificate
from tests.hub.conftest import Hub
from tests.hub.reports.scenario import G22, H49, Scenario, load_scenario
from tests.hub.ui.extra import Extra, add_documents
from tests.hub.ui.test_ui import _login, _token


@pytest.fixture
async def loaded(hub: Hub) -> tuple[Scenario, Extra]:
    scenario = await load_scenario(hub.client, hub.agencies)
    extra = await add_documents(hub.client, hub.admin, scenario.agencies)
    await _login(hub, await _token(hub, "auditor"))
    return scenario, extra


def _table(html: str, table_id: str) -> str:
    found = re.search(rf'<table id="{table_id}">.*?</table>', html, re.S)
    assert found, html
    return found.group(0)


def _vn(moment: datetime) -> str:
    return (moment + timedelta(hours=7)).strftime("%Y-%m-%d %H:%M:%S +07:00")


async def test_documents_per_day_and_hour_match_the_api(
    hub: Hub, loaded: tuple[Scenario, Extra]
) -> None:
    html = (await hub.client.get("/ui")).text
    row = r'<tr data-key="([0-9-]+)"><td>[^<]*</td><td class="n" data-field="documents">([0-9]+)<'
    days = dict(re.findall(row, _table(html, "per-day")))
    assert len(days) == 30
    api = await hub.client.get(
        "/v1/reports/signature-compliance",
        params={"group": "day", "since": min(days)}, headers=hub.admin,
    )  # fmt: skip
    by_day = {r["key"]: r["documents"] for r in api.json()["rows"]}
    assert {d: int(n) for d, n in days.items() if int(n)} == by_day and sum(by_day.values()) == 7
    assert re.search(rf'id="today-documents">{by_day[max(days)]}<', html)
    shares = dict(re.findall(r'<tr data-key="([0-9-]+)">.*?data-field="signed_share">([^<]*)<',
                             _table(html, "per-day")))  # fmt: skip
    today = next(r for r in api.json()["rows"] if r["key"] == max(days))
    assert shares[max(days)] == f"{today['signed_share']:.1%}" and today["signed_share"] > 0
    assert shares[min(days)] == "—"  # no documents that day: no share, not 0%

    hours = re.findall(r'<tr data-hour="([^"]+)"><td>[^<]*</td><td class="n" '
                       r'data-field="documents">([0-9]+)<', _table(html, "per-hour"))  # fmt: skip
    assert len(hours) == 48
    listed = await hub.client.get("/v1/admin/documents", params={"limit": 500}, headers=hub.admin)
    arrivals = Counter(
        datetime.fromisoformat(d["received_at"]).replace(minute=0, second=0, microsecond=0)
        for d in listed.json()["documents"]
    )
    shown = {datetime.fromisoformat(h): int(n) for h, n in hours if int(n)}
    assert shown == dict(arrivals)
    assert "<svg" in html and "văn bản/giờ (per hour)" in html


async def test_delivery_health_matches_the_deliveries_api(
    hub: Hub, loaded: tuple[Scenario, Extra]
) -> None:
    _, extra = loaded
    async with hub.context.sessions.begin() as session:
        await session.execute(
            update(Delivery)
            .where(Delivery.document_id == extra.notice, Delivery.recipient == G22)
            .values(attempts=2)
        )
        await session.execute(
            update(Delivery)
            .where(Delivery.document_id == extra.plan, Delivery.recipient == H49)
            .values(state="failed")
        )
    html = (await hub.client.get("/ui")).text
    listed = {}
    for state in ("queued", "failed"):
        api = await hub.client.get(
            "/v1/admin/deliveries", params={"state": state}, headers=hub.admin
        )
        listed[state] = api.json()["deliveries"]
        count = len(listed[state])
        assert re.search(rf'id="{state}"[^>]*>{count}<', html), state
    assert len(listed["failed"]) == 1 and len(listed["queued"]) >= 2
    retrying = sum(d["attempts"] > 0 for d in listed["queued"])
    assert retrying >= 1 and re.search(rf'id="retrying">{retrying}<', html)
    received = []
    for d in listed["queued"]:
        trace = await hub.client.get(f"/v1/admin/documents/{d['document_id']}", headers=hub.admin)
        received.append(datetime.fromisoformat(trace.json()["trace"]["received_at"]))
    shown = re.search(r"id=\"oldest-pending\">([^<]*)<", html)
    assert shown and shown.group(1) == _vn(min(received)), sorted(received)


async def test_what_expires_and_the_signed_head(hub: Hub, loaded: tuple[Scenario, Extra]) -> None:
    html = (await hub.client.get("/ui")).text
    assert 'data-owner="member"' not in _table(html, "expiring")
    assert 'id="head-none"' in html
    soon = (utcnow() + timedelta(days=5)).replace(microsecond=0)
    async with hub.context.sessions.begin() as session:
        await session.execute(
            update(MemberCertificate)
            .where(MemberCertificate.member_code == H49)
            .values(not_after=soon)
        )
    context = hub.context
    await hub_sealer(context.sessions, context.identity, context.settings).seal_once(
        force_head=True
    )
    html = (await hub.client.get("/ui")).text
    expiring = _table(html, "expiring")
    rows = re.findall(r'<tr data-owner="member" data-subject="([^"]+)">(.*?)</tr>', expiring, re.S)
    assert [s.split(":")[0] for s, _ in rows] == [H49]
    assert _vn(soon.replace(tzinfo=None)) in rows[0][1]
    heads = [line async for line in export_lines(context.sessions, context.identity.chain)
             if line["type"] == "head"]  # fmt: skip
    assert heads, "the sealer signed no head"
    assert re.search(rf'id="head-seq">{heads[-1]["seq"]}<', html)
    assert f'id="head-hash">{heads[-1]["hash"][:16]}…<' in html


async def test_overview_tables_sort(hub: Hub, loaded: tuple[Scenario, Extra]) -> None:
    ascending = (await hub.client.get("/ui", params={"sort": "day"})).text
    descending = (await hub.client.get("/ui", params={"sort": "-day"})).text
    order = re.findall(r'<tr data-key="([0-9-]+)">', _table(ascending, "per-day"))
    assert order == sorted(order)
    assert re.findall(r'<tr data-key="([0-9-]+)">', _table(descending, "per-day")) == order[::-1]
    busiest = (await hub.client.get("/ui", params={"sort": "-hour_documents"})).text
    counts = re.findall(r'data-field="documents">([0-9]+)<', _table(busiest, "per-hour"))
    assert [int(c) for c in counts] == sorted((int(c) for c in counts), reverse=True)
