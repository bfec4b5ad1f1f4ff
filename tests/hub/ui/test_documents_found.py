"""Words of the subject with or without diacritics, in any case, all of them; and how many
documents a search finds, exact up to the hub's cap, on the console page and in the API."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest

from tests.hub.conftest import Hub
from tests.hub.helpers import HEADER, body_of
from tests.hub.ui.ordering import walk
from tests.hub.ui.test_ui import _login, _token

SENDER, RECIPIENT = "000.00.00.H26", "000.00.00.G22"
SUBJECTS = {
    "meeting": "Kế hoạch tổ chức Hội nghị tổng kết công tác năm 2026",
    "reply": "Hồi đáp công văn về việc đồng bộ dữ liệu dân cư",
    "sync": "Triển khai ĐỒNG BỘ hệ thống quản lý văn bản",
    "decision": "Quyết định ban hành quy chế làm việc",
    "notice": "Thông báo lịch tiếp công dân tháng 12",
    "plan": "Kế hoạch cải cách hành chính năm 2027",
}
CAP = 5


@pytest.fixture
def hub_overrides() -> dict[str, Any]:
    return {"search_count_cap": CAP}


@pytest.fixture
async def documents(hub: Hub) -> dict[str, str]:
    """Each subject's document id (submitted oldest first, in SUBJECTS' order)."""
    sender = await hub.agencies.add(SENDER)
    await hub.agencies.add(RECIPIENT)
    ids = {}
    for name, subject in SUBJECTS.items():
        package = sender.package([RECIPIENT], header={**HEADER, "subject": subject}, signed=False)
        response = await hub.client.post(
            "/v1/documents", content=body_of(package),
            headers={**sender.headers, "Content-Type": "application/json"},
        )  # fmt: skip
        assert response.status_code == 202, response.text
        ids[name] = response.json()["document_id"]
    await _login(hub, await _token(hub, "auditor"))
    return ids


async def _api(hub: Hub, **params: Any) -> dict[str, Any]:
    response = await hub.client.get("/v1/admin/documents", params=params, headers=hub.admin)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def _page(hub: Hub, url: str = "/ui/documents", **params: Any) -> str:
    response = await hub.client.get(url, params=params or None)
    assert response.status_code == 200, response.text
    return response.text


def _ids(html: str) -> list[str]:
    return re.findall(r'<tr data-id="([^"]+)">', html)


def _found(html: str) -> str:
    """The line that says how many documents were found, as text."""
    line = re.search(r'<p id="found"[^>]*>(.*?)</p>', html, re.S)
    assert line, html
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", line.group(1))).split())


async def test_words_with_or_without_diacritics_in_any_case_all_of_them(
    hub: Hub, documents: dict[str, str]
) -> None:
    searches: list[tuple[str, list[str]]] = [
        ("hoi", ["reply", "meeting"]),  # without diacritics: Hội and Hồi
        ("hội", ["meeting"]),  # with them: that spelling only
        ("HỘI NGHỊ", ["meeting"]),
        ("dong bo", ["sync", "reply"]),  # đồng bộ and ĐỒNG BỘ
        ("Đồng Bộ dữ", ["reply"]),  # every word, `dữ` the start of `dữ`
        ("ke hoach nam", ["plan", "meeting"]),
        ("kế hoạch 2027", ["plan"]),
        ("tổng kết hồi", []),  # all the words, not any of them
        ("ngh", ["meeting"]),  # the start of a word
        ("quy-chế, làm việc!", ["decision"]),  # punctuation separates words
        ("xyz", []),
    ]
    for words, expected in searches:
        want = [documents[name] for name in expected]
        api = await _api(hub, q=words)
        assert [d["id"] for d in api["documents"]] == want, words
        assert (api["total"], api["total_exact"]) == (len(want), True), words
        html = await _page(hub, q=words)
        assert _ids(html) == want, words
        assert _found(html).startswith(f"{len(want)} kết quả"), words


async def test_the_total_is_exact_up_to_the_cap_and_more_than_it_past_it(
    hub: Hub, documents: dict[str, str]
) -> None:
    everything = await _api(hub, limit=2)
    assert (everything["total"], everything["total_exact"]) == (CAP, False)  # 6 > CAP
    assert len(everything["documents"]) == 2 and everything["next_offset"] == 2
    html = await _page(hub)
    assert _found(html).startswith(f"Hơn {CAP} kết quả (more than {CAP} found)")
    assert len(_ids(html)) == len(SUBJECTS)  # the page still lists every one of them
    at_cap = await _api(hub, q="c")  # công, cải, chế, cư, …: five of the six
    assert (at_cap["total"], at_cap["total_exact"]) == (CAP, True)
    assert _found(await _page(hub, q="c")).startswith(f"{CAP} kết quả")


async def test_pages_agree_with_the_total(
    hub: Hub, documents: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("hub.ui.documents.PAGE_SIZE", 2)
    expected = (await _api(hub, q="c", limit=500))["documents"]
    seen: list[str] = []
    for offset in (0, 2, 4):
        page = await _api(hub, q="c", limit=2, offset=offset)
        assert (page["total"], page["total_exact"]) == (5, True)
        assert page["next_offset"] == (offset + 2 if offset + 2 < 5 else None)
        seen += [d["id"] for d in page["documents"]]
    assert seen == [d["id"] for d in expected]
    shown: list[str] = []
    lines: list[str] = []
    async for html in walk(hub.client, "/ui/documents?q=c"):
        shown += _ids(html)
        lines.append(_found(html))
    assert shown == seen
    assert [line.split(" · ")[1] for line in lines] == [
        f"trang {n}/3 (page {n} of 3)" for n in (1, 2, 3)
    ]
    past = _found(await _page(hub, offset=2))  # six documents, counted up to five
    assert past.endswith("trang 2/hơn 3 (page 2 of more than 3)")


async def test_odd_words_are_answered_not_failed(hub: Hub, documents: dict[str, str]) -> None:
    found_nothing = ["½ ² ٣", "中文 ǅ ß ﬁ", "a&b|c!d:*", "x" * 200, "* AND OR NOT"]
    no_word_at_all = ["'\"\\", "-- ;", "\x00"]  # no restriction
    for words in found_nothing + no_word_at_all:
        api = await _api(hub, q=words)
        expected = (0, True) if words in found_nothing else (CAP, False)
        assert (api["total"], api["total_exact"]) == expected, words
        line = _found(await _page(hub, q=words))
        assert line.startswith("0 kết quả" if words in found_nothing else "Hơn"), words
