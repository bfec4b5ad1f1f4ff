"""The document search and the trace page through HTTP, checked against `/v1/admin/documents`."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta
from html import unescape
from typing import Any

import httpx
import pytest

from hub.tracking.search import SORT_COLUMNS
from tests.hub.conftest import Hub
from tests.hub.reports.scenario import G22, H26, H49, Scenario, load_scenario
from tests.hub.ui.extra import PLAN_SUBJECT, Extra, add_documents
from tests.hub.ui.ordering import walk
from tests.hub.ui.test_ui import _login, _problem, _token


@pytest.fixture
async def loaded(hub: Hub) -> tuple[Scenario, Extra]:
    scenario = await load_scenario(hub.client, hub.agencies)
    extra = await add_documents(hub.client, hub.admin, scenario.agencies)
    await _login(hub, await _token(hub, "auditor"))
    return scenario, extra


def _ids(html: str) -> list[str]:
    table = re.search(r'<table id="documents".*?</table>', html, re.S)
    assert table, html
    return re.findall(r'<tr data-id="([^"]+)">', table.group(0))


def _row(html: str, document_id: str) -> str:
    found = re.search(rf'<tr data-id="{document_id}">(.*?)</tr>', html, re.S)
    assert found, html
    return found.group(1)


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


async def _api(hub: Hub, **params: Any) -> list[dict[str, Any]]:
    response = await hub.client.get("/v1/admin/documents", params=params, headers=hub.admin)
    assert response.status_code == 200, response.text
    documents: list[dict[str, Any]] = response.json()["documents"]
    return documents


async def _ui(hub: Hub, **params: Any) -> httpx.Response:
    response = await hub.client.get("/ui/documents", params=params)
    assert response.status_code == 200, response.text
    return response


async def test_search_by_words_number_verdict_state_and_days(
    hub: Hub, loaded: tuple[Scenario, Extra]
) -> None:
    scenario, extra = loaded
    searches: list[tuple[dict[str, Any], list[str]]] = [
        ({"q": "tổng kết hội nghị"}, [extra.plan]),
        ({"q": "HỘI NGHỊ TỔNG KẾT"}, [extra.plan]),  # capitals beyond ASCII, on SQLite too
        ({"q": unicodedata.normalize("NFD", "tổng kết")}, [extra.plan]),  # decomposed accents
        ({"number": "15/KH"}, [extra.plan]),
        ({"number": "tb-ubnd"}, [extra.notice]),
        ({"verdict": "UNSIGNED", "sort": "received_at"},
         [scenario.documents[H26][2], extra.notice]),
        ({"recipient": G22, "state": "arrived"}, [scenario.documents[H26][0]]),
        ({"sender": H49}, scenario.documents[H49]),
        ({"doc_type": "KH"}, [extra.plan]),
        ({"since": str(datetime.now().date() + timedelta(days=2))}, []),
    ]  # fmt: skip
    for params, expected in searches:
        shown = _ids((await _ui(hub, **params)).text)
        api = [d["id"] for d in await _api(hub, **params)]
        assert shown == api == expected, params
    everything = await _api(hub, limit=500)
    assert len(everything) == 7
    widest = {"since": "0001-01-01", "until": "9999-12-31"}  # the calendar's ends: no bound
    assert _ids((await _ui(hub, **widest)).text) == [d["id"] for d in everything]
    assert len(await _api(hub, **widest)) == 7


async def test_a_row_names_the_document(hub: Hub, loaded: tuple[Scenario, Extra]) -> None:
    _, extra = loaded
    page = await _ui(hub, q="hội nghị")
    row = _text(_row(page.text, extra.plan))
    assert "15/KH-UBND" in row and PLAN_SUBJECT in row
    assert "qd274.pdf" in row and "phu-luc-danh-sach.txt" in row
    assert "UBND tỉnh Hưng Yên" in row and "Tuân thủ (compliant)" in row
    notice = _text(_row((await _ui(hub, number="7/TB")).text, extra.notice))
    assert f"{H49}: Từ chối theo chính sách nơi nhận (refused_by_policy)" in notice
    assert "Chưa ký số (UNSIGNED)" in notice and f"{G22}: Chờ chuyển (queued)" in notice
    api = next(d for d in await _api(hub) if d["id"] == extra.plan)
    received = datetime.fromisoformat(api["received_at"]) + timedelta(hours=7)
    assert received.strftime("%Y-%m-%d %H:%M:%S +07:00") in row


async def test_every_column_sorts_both_ways_as_the_api_does(
    hub: Hub, loaded: tuple[Scenario, Extra]
) -> None:
    for column in SORT_COLUMNS:
        for sort in (column, f"-{column}"):
            shown = _ids((await _ui(hub, sort=sort)).text)
            assert shown == [d["id"] for d in await _api(hub, sort=sort)], sort
            assert len(shown) == 7
    oldest_first = _ids((await _ui(hub, sort="received_at")).text)
    assert _ids((await _ui(hub, sort="-received_at")).text) == oldest_first[::-1]
    by_subject = [d["subject"] for d in await _api(hub, sort="-subject")]
    assert by_subject[-1] == PLAN_SUBJECT  # "Kế …" before "Thông …" and "Về …"
    page = (await _ui(hub, sort="-code")).text
    assert 'aria-sort="descending"' in page and "?sort=code" in page


async def test_bad_sort_and_filters_are_error_pages(
    hub: Hub, loaded: tuple[Scenario, Extra]
) -> None:
    assert _problem(await hub.client.get("/ui/documents", params={"sort": "-colour"})) == (
        422, "invalid_sort",
    )  # fmt: skip
    assert _problem(await hub.client.get("/ui/compliance", params={"sort": "nope"})) == (
        422, "invalid_sort",
    )  # fmt: skip
    bad_state = await hub.client.get("/ui/documents", params={"state": "lost"})
    assert _problem(bad_state) == (422, "validation_error")
    api = await hub.client.get("/v1/admin/documents", params={"sort": "x"}, headers=hub.admin)
    assert api.status_code == 422 and api.headers["content-type"].startswith("application/")


async def test_pages_follow_each_other(
    hub: Hub, loaded: tuple[Scenario, Extra], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("hub.ui.documents.PAGE_SIZE", 3)
    seen: list[str] = []
    async for html in walk(hub.client, "/ui/documents?sort=subject"):
        seen += _ids(html)
    assert seen == [d["id"] for d in await _api(hub, sort="subject")]
    api_pages = [await hub.client.get("/v1/admin/documents", params={"limit": 4, "offset": o},
                                      headers=hub.admin) for o in (0, 4)]  # fmt: skip
    assert [p.json()["next_offset"] for p in api_pages] == [4, None]
