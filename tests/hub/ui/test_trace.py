"""The trace page through HTTP: header, timeline, receipts and signatures as the API has them."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from html import unescape
from typing import Any

import pytest

from hub.ui.signatures import common_name
from tests.hub.conftest import Hub
from tests.hub.helpers import body_of
from tests.hub.reports.scenario import G22, H26, H49, Scenario, load_scenario
from tests.hub.ui.extra import PLAN_HEADER, PLAN_SUBJECT, Extra, add_documents
from tests.hub.ui.test_ui import _login, _token


@pytest.fixture
async def loaded(hub: Hub) -> tuple[Scenario, Extra]:
    scenario = await load_scenario(hub.client, hub.agencies)
    extra = await add_documents(hub.client, hub.admin, scenario.agencies)
    await _login(hub, await _token(hub, "auditor"))
    return scenario, extra


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _vn(moment: str) -> str:
    return (datetime.fromisoformat(moment) + timedelta(hours=7)).strftime(
        "%Y-%m-%d %H:%M:%S +07:00"
    )


async def _view(hub: Hub, document_id: str) -> tuple[str, dict[str, Any]]:
    page = await hub.client.get(f"/ui/documents/{document_id}")
    assert page.status_code == 200, page.text
    api = await hub.client.get(f"/v1/admin/documents/{document_id}", headers=hub.admin)
    assert api.status_code == 200, api.text
    return page.text, api.json()


def _recipient_row(html: str, code: str) -> str:
    table = re.search(r'<table id="recipients">.*?</table>', html, re.S)
    assert table, html
    row = re.search(rf'<tr data-recipient="{code}">(.*?)</tr>', table.group(0), re.S)
    assert row, table.group(0)
    return row.group(1)


async def test_the_header_and_the_timeline(hub: Hub, loaded: tuple[Scenario, Extra]) -> None:
    scenario, extra = loaded
    html, api = await _view(hub, extra.plan)
    assert api["header"]["subject"] == PLAN_SUBJECT
    assert re.search(r'id="document-code">15/KH-UBND<', html)
    assert PLAN_SUBJECT in _text(re.search(r'id="document-subject"[^>]*>(.*?)</td>', html).group(1))  # type: ignore[union-attr]
    attachments = re.search(r'id="document-attachments">(.*?)</td>', html, re.S)
    assert attachments and _text(attachments.group(1)) == " ".join(api["header"]["attachments"])
    assert api["header"]["attachments"] == ["qd274.pdf", "phu-luc-danh-sach.txt"]
    steps = re.findall(r'<li data-what="([^"]+)"(?: data-member="([^"]*)")?>', html)
    trace = api["trace"]
    attempts = sorted(
        (f"attempt {a['attempt']}", d["recipient"]) for d in trace["deliveries"]
        for a in d["attempt_log"]
    )  # fmt: skip
    assert steps[:2] == [("submitted", H26), ("verdict", "")]
    assert sorted(s for s in steps[2:]) == attempts
    times = re.findall(r"<time>([^<]+)</time>", html)
    assert times[0] == _vn(trace["received_at"]) and all(t.endswith("+07:00") for t in times)
    assert "Z</time>" not in html

    first = scenario.documents[H26][0]
    html, api = await _view(hub, first)
    status = api["trace"]["deliveries"][0]["statuses"][0]
    item = re.search(r'<li data-what="status 01"[^>]*>(.*?)</li>', html, re.S)
    assert item and "01 Đã đến (arrived)" in _text(item.group(1))
    assert _vn(status["recorded_at"]) in item.group(1)


async def test_receipts_kept_refused_and_refusals(hub: Hub, loaded: tuple[Scenario, Extra]) -> None:
    _, extra = loaded
    html, api = await _view(hub, extra.plan)
    receipts = {r["recipient"]: r for r in api["receipts"]}
    assert receipts[G22]["kept"] and not receipts[H49]["kept"]
    kept = _recipient_row(html, G22)
    assert 'data-kept="yes"' in kept and "2026-11-30 09:15:00 +07:00" in kept
    assert receipts[G22]["certificate"][:16] in kept
    refused = _recipient_row(html, H49)
    assert 'data-kept="no"' in refused and receipts[H49]["refused"] in unescape(refused)
    assert receipts[H49]["refused"].startswith("delivery receipt refused")

    html, api = await _view(hub, extra.notice)
    line = next(d for d in api["trace"]["deliveries"] if d["recipient"] == H49)
    assert (line["outcome"], line["reasons"]) == ("refused_by_policy", ["UNSIGNED"])
    row = _text(_recipient_row(html, H49))
    assert "Từ chối theo chính sách nơi nhận (refused_by_policy)" in row
    assert "Chưa ký số (UNSIGNED)" in row and "không chuyển (not delivered)" in row
    assert "Chờ chuyển (queued)" in _text(_recipient_row(html, G22))


async def test_signatures_name_their_signers_without_oids(
    hub: Hub, loaded: tuple[Scenario, Extra]
) -> None:
    _, extra = loaded
    html, api = await _view(hub, extra.plan)
    signatures = api["trace"]["verdict"]["signatures"]
    assert any("2.5.4.97=" in s["subject"] for s in signatures)  # what the page must translate
    panel = re.search(r'<div class="signature-panel" id="signatures">(.*)</div>', html, re.S)
    assert panel
    assert "2.5.4." not in panel.group(1)
    shown = re.findall(r'<span data-field="who">([^<]+)</span>', panel.group(1))
    assert shown == [unescape(common_name(s["subject"])) for s in signatures] and len(shown) == 2
    assert "Mã định danh cơ quan (organisation identifier)" in _text(panel.group(1))
    assert H26 in _text(panel.group(1))


async def test_linked_documents_are_named(hub: Hub, loaded: tuple[Scenario, Extra]) -> None:
    scenario, extra = loaded
    h26 = scenario.agencies[H26]
    update = {**PLAN_HEADER, "code": {"number": "16", "notation": "KH-UBND"},
              "business": {"type": 2, "document_id": extra.plan}}  # fmt: skip
    response = await hub.client.post(
        "/v1/documents", content=body_of(h26.package([G22], header=update)),
        headers={**h26.headers, "Content-Type": "application/json"},
    )  # fmt: skip
    assert response.status_code == 202, response.text
    later = response.json()["document_id"]
    html, api = await _view(hub, extra.plan)
    assert [d["document_id"] for d in api["trace"]["later"]] == [later]
    cell = re.search(r"<td data-later[^>]*>(.*?)</td>", html, re.S)
    assert cell and f"16/KH-UBND {PLAN_SUBJECT} · cập nhật (update)" in _text(cell.group(1))
    html, api = await _view(hub, later)
    assert api["trace"]["earlier"]["document_id"] == extra.plan
    cell = re.search(r'<td id="earlier"[^>]*>(.*?)</td>', html, re.S)
    assert cell and f"15/KH-UBND {PLAN_SUBJECT} · cập nhật (update)" in _text(cell.group(1))


async def test_the_recipients_sort_on_every_column(
    hub: Hub, loaded: tuple[Scenario, Extra]
) -> None:
    scenario, extra = loaded
    leased = await hub.client.get("/v1/inbox", headers=scenario.agencies[G22].headers)
    assert extra.notice in {d["document_id"] for d in leased.json()["deliveries"]}
    _, notice = await _view(hub, extra.notice)
    attempts = {d["recipient"]: d["attempts"] for d in notice["trace"]["deliveries"]}
    assert attempts[G22] > attempts[H49]  # G22 leased it once; H49 never had it
    cases = [  # notice: G22 queued and accepted, H49 refused by its policy
        (extra.notice, "recipient", [G22, H49]),
        (extra.notice, "outcome", [G22, H49]),  # accepted < refused_by_policy
        (extra.notice, "state", [G22, H49]),
        (extra.notice, "attempts", sorted(attempts, key=attempts.__getitem__)),
        (extra.plan, "receipt", [G22, H49]),  # kept before refused
    ]
    for document, column, order in cases:
        for sort, want in ((column, order), (f"-{column}", order[::-1])):
            page = await hub.client.get(f"/ui/documents/{document}", params={"sort": sort})
            table = re.search(r'<table id="recipients">.*?</table>', page.text, re.S)
            assert table, page.text
            assert re.findall(r'<tr data-recipient="([^"]+)">', table.group(0)) == want, sort
