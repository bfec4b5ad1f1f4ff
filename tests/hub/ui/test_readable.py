"""Readable pages: long names wrap (in charts too), every compliance column sorts both ways,
violation codes carry their Vietnamese words, times are in +07:00."""

from __future__ import annotations

import re
from html import unescape

import pytest

from hub.ui.compliance import ROW_KEYS
from tests.hub.conftest import Hub
from tests.hub.reports.scenario import DEPT, H26, H49, Scenario, load_scenario
from tests.hub.ui.test_ui import _login, _token

LONG_NAMES = {
    H26: "Ủy ban nhân dân tỉnh Bình Dương",
    DEPT: "Ủy ban nhân dân tỉnh Bình Định",
    H49: "Ủy ban nhân dân tỉnh Bình Phước",
}


@pytest.fixture
async def renamed(hub: Hub) -> Scenario:
    scenario = await load_scenario(hub.client, hub.agencies)
    for code, name in LONG_NAMES.items():
        response = await hub.client.patch(
            f"/v1/admin/members/{code}", json={"name": name}, headers=hub.admin
        )
        assert response.status_code == 200, response.text
    await _login(hub, await _token(hub, "auditor"))
    return scenario


async def test_chart_labels_wrap_instead_of_being_cut(hub: Hub, renamed: Scenario) -> None:
    page = (await hub.client.get("/ui/compliance")).text
    svg = re.search(r"<svg.*?</svg>", page, re.S)
    assert svg
    labels = [
        " ".join(unescape(t) for t in re.findall(r"<tspan[^>]*>([^<]*)</tspan>", text))
        for text in re.findall(r"<text[^>]*>(<tspan.*?)</text>", svg.group(0))
    ]
    assert sorted(labels) == sorted(f"{code} {name}" for code, name in LONG_NAMES.items())
    assert "…" not in svg.group(0)


def _column(page: str, field: str) -> list[str]:
    table = re.search(r'<table id="compliance">.*?<tbody>(.*?)</tbody>', page, re.S)
    assert table
    if field == "name":
        return [unescape(n) for n in re.findall(r'<td class="name">([^<]*)</td>', table.group(1))]
    if field == "key":
        return re.findall(r'<tr data-key="([^"]+)">', table.group(1))
    return re.findall(rf'data-field="{field}">([^<]*)<', table.group(1))


def _value(text: str) -> float | str:
    try:
        return float(text.rstrip("%"))
    except ValueError:
        return text.casefold()


async def test_every_compliance_column_sorts_both_ways(hub: Hub, renamed: Scenario) -> None:
    for column in ROW_KEYS:
        up = [_value(v) for v in _column((await hub.client.get(
            "/ui/compliance", params={"sort": column})).text, column)]  # fmt: skip
        down = [_value(v) for v in _column((await hub.client.get(
            "/ui/compliance", params={"sort": f"-{column}"})).text, column)]  # fmt: skip
        assert len(up) == 3 and up == sorted(up) and down == sorted(up, reverse=True), column
    names = _column((await hub.client.get("/ui/compliance", params={"sort": "-name"})).text, "name")
    assert names == sorted(LONG_NAMES.values(), key=str.casefold, reverse=True)


async def test_violations_and_times_are_readable(hub: Hub, renamed: Scenario) -> None:
    page = (await hub.client.get(f"/ui/senders/{H26}")).text
    assert "Chưa ký số (UNSIGNED)" in page and 'data-code="UNSIGNED">1<' in page
    times = re.findall(r'data-field="received_at">([^<]+)<', page)
    assert len(times) == 3 and all(t.endswith(" +07:00") for t in times)
    down = re.findall(r'data-field="received_at">([^<]+)<', (await hub.client.get(
        f"/ui/senders/{H26}", params={"sort": "received_at"})).text)  # fmt: skip
    assert down == times[::-1]


async def test_each_table_of_a_sender_page_sorts_on_its_own(hub: Hub, renamed: Scenario) -> None:
    """Violations, daily trend and documents each keep their own order (the scenario gives
    the sender one violation and one day, so their rows' order is shown on /ui/compliance's
    tables, which sort through the same `sort_rows`)."""

    async def get(**params: str) -> str:
        response = await hub.client.get(f"/ui/senders/{H26}", params=params)
        assert response.status_code == 200, response.text
        return response.text

    def times(page: str) -> list[str]:
        return re.findall(r'data-field="received_at">([^<]+)<', page)

    def aria(page: str, column: str) -> str:
        found = re.search(rf'<th aria-sort="(\w+)"[^>]*><a href="[^"]*" data-sort="{column}"', page)
        assert found, column
        return found.group(1)

    oldest_first = times(await get(sort="received_at"))
    assert len(oldest_first) == 3 and oldest_first == times(await get())[::-1]
    both = await get(sort="received_at", violations_sort="-count", trend_sort="-day")
    assert times(both) == oldest_first  # sorting the other tables kept the documents' order
    assert (aria(both, "count"), aria(both, "day"), aria(both, "received_at")) == (
        "descending",
        "descending",
        "ascending",
    )
    assert aria(both, "share") == aria(both, "day_documents") == "none"
    # a header's link flips its own table and carries the others' orders
    assert 'href="?sort=received_at&amp;trend_sort=-day&amp;violations_sort=count"' in both
    assert 'href="?violations_sort=-count&amp;trend_sort=-day&amp;sort=-received_at"' in both

    refused = await hub.client.get(f"/ui/senders/{H26}", params={"trend_sort": "nope"})
    assert refused.status_code == 422 and "text/html" in refused.headers["content-type"]
