"""In a real browser: find a document by words of its subject, open its trace, and check
the timeline, the receipts and the signatures against `/v1/admin/documents/{id}`.

Screenshots of the overview, the search and the trace go to `test-artifacts/`; with
`LIENTHONG_DOCS_SCREENSHOTS=1` also to `docs/`, where the README shows them.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from hub.ui.signatures import common_name
from tests.browser.conftest import ARTIFACTS, LiveHub
from tests.hub.reports.scenario import G22, H49
from tests.hub.ui.extra import PLAN_SUBJECT, Extra, add_documents

DOCS = Path(__file__).resolve().parents[2] / "docs"
SHOTS = ("console-overview.png", "console-documents.png", "console-trace.png")


async def _add(live_hub: LiveHub, admin: dict[str, str]) -> Extra:
    async with httpx.AsyncClient(base_url=live_hub.url, timeout=30) as client:
        return await add_documents(client, admin, live_hub.scenario.agencies)


def _shoot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    if os.environ.get("LIENTHONG_DOCS_SCREENSHOTS") == "1":
        shutil.copyfile(ARTIFACTS / name, DOCS / name)


def test_search_then_trace_as_the_api_has_it(live_hub: LiveHub, browser: Any) -> None:
    admin = {"Authorization": f"Bearer {live_hub.admin_token}"}
    with ThreadPoolExecutor(1) as pool:  # Playwright's loop runs in this thread
        extra = pool.submit(asyncio.run, _add(live_hub, admin)).result()
    api = httpx.get(f"{live_hub.url}/v1/admin/documents/{extra.plan}", headers=admin).json()

    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page.goto(f"{live_hub.url}/ui")
    page.fill("#token", live_hub.admin_token)
    page.click("#login")
    page.wait_for_url(f"{live_hub.url}/ui")
    assert page.inner_text("#today-documents") == "7"
    _shoot(page, SHOTS[0])

    page.click('header a[href="/ui/documents"]')
    page.wait_for_url("**/ui/documents")
    page.fill("#q", "hội nghị tổng kết")
    page.click("#search-button")
    page.wait_for_url("**/ui/documents?*")
    rows = page.query_selector_all("#documents tbody tr[data-id]")
    assert [r.get_attribute("data-id") for r in rows] == [extra.plan]
    assert page.inner_text(f'tr[data-id="{extra.plan}"] [data-field="subject"]') == PLAN_SUBJECT
    assert page.inner_text(f'tr[data-id="{extra.plan}"] [data-field="code"]') == "15/KH-UBND"
    _shoot(page, SHOTS[1])

    page.click(f'tr[data-id="{extra.plan}"] a.trace')
    page.wait_for_url(f"**/ui/documents/{extra.plan}")
    trace = api["trace"]
    assert page.inner_text("#document-id") == trace["document_id"]
    steps = [li.get_attribute("data-what") for li in page.query_selector_all("#timeline li")]
    attempts = [f"attempt {a['attempt']}" for d in trace["deliveries"] for a in d["attempt_log"]]
    assert steps[:2] == ["submitted", "verdict"] and sorted(steps[2:]) == sorted(attempts)

    receipts = {r["recipient"]: r for r in api["receipts"]}
    for code in (G22, H49):
        cell = page.query_selector(
            f'#recipients tr[data-recipient="{code}"] [data-field="receipt"]'
        )
        assert cell is not None
        assert cell.get_attribute("data-kept") == ("yes" if receipts[code]["kept"] else "no")
    assert receipts[G22]["kept"] and not receipts[H49]["kept"]
    refused = page.inner_text(f'#recipients tr[data-recipient="{H49}"] [data-field="receipt"]')
    assert receipts[H49]["refused"] in refused

    who = [e.inner_text() for e in page.query_selector_all('#signatures [data-field="who"]')]
    assert who == [common_name(s["subject"]) for s in trace["verdict"]["signatures"]]
    assert "2.5.4." not in page.inner_text("#signatures")
    _shoot(page, SHOTS[2])
    page.close()
