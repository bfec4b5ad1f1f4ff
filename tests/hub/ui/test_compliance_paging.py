"""The compliance ranking through HTTP: one page of rows at a time, in either order,
and every row in its CSV."""

from __future__ import annotations

import re

import pytest

from tests.hub.conftest import Hub
from tests.hub.reports.scenario import Scenario, load_scenario
from tests.hub.ui.ordering import walk
from tests.hub.ui.test_ui import _login, _token


@pytest.fixture
async def scenario(hub: Hub) -> Scenario:
    return await load_scenario(hub.client, hub.agencies)


def _keys(html: str) -> list[str]:
    body = re.search(r'<table id="compliance">.*?<tbody>(.*?)</tbody>', html, re.S)
    assert body, html
    return re.findall(r'<tr data-key="([^"]+)">', body.group(1))


async def _walk(hub: Hub, path: str) -> list[str]:
    seen: list[str] = []
    async for html in walk(hub.client, path):
        page = _keys(html)
        assert 0 < len(page) <= 2
        seen += page
    return seen


async def test_paged_both_ways_and_whole_in_the_csv(
    hub: Hub, scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("hub.ui.compliance.PAGE_SIZE", 2)
    await _login(hub, await _token(hub, "auditor"))
    api = await hub.client.get("/v1/reports/signature-compliance", headers=hub.admin)
    rows = api.json()["rows"]
    assert len(rows) > 2
    codes = sorted(r["key"] for r in rows)
    assert await _walk(hub, "/ui/compliance?sort=key") == codes
    assert await _walk(hub, "/ui/compliance?sort=-key") == codes[::-1]

    csv = await hub.client.get("/ui/compliance.csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    api_csv = await hub.client.get("/v1/reports/signature-compliance?format=csv", headers=hub.admin)
    assert csv.text == api_csv.text
