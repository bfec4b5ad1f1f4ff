"""In a real browser: log in, the compliance page shows the API's numbers, a sender, a trace."""

from __future__ import annotations

from typing import Any

import httpx

from tests.browser.conftest import ARTIFACTS, LiveHub
from tests.hub.reports.scenario import H26

FIELDS = ("documents", "signed", "personal_ok", "org_ok", "compliant")


def test_compliance_sender_and_trace_pages(live_hub: LiveHub, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page.goto(f"{live_hub.url}/ui/compliance")
    assert "/ui/login" in page.url
    page.fill("#token", live_hub.admin_token)
    page.click("#login")
    page.wait_for_url("**/ui/compliance")

    api = httpx.get(
        f"{live_hub.url}/v1/reports/signature-compliance",
        headers={"Authorization": f"Bearer {live_hub.admin_token}"},
    ).json()
    shown: dict[str, dict[str, int]] = {}
    for row in page.query_selector_all("#compliance tbody tr[data-key]"):
        key = row.get_attribute("data-key")
        shown[key] = {
            f: int(row.query_selector(f'[data-field="{f}"]').inner_text()) for f in FIELDS
        }
    expected = {r["key"]: {f: r[f] for f in FIELDS} for r in api["rows"]}
    assert shown == expected and len(shown) == 3
    signed_share = page.inner_text(f'tr[data-key="{H26}"] [data-field="signed_share"]')
    api_share = next(r["signed_share"] for r in api["rows"] if r["key"] == H26)
    assert signed_share == f"{api_share:.1%}"
    assert "UBND tỉnh Hưng Yên" in page.inner_text("#compliance")
    page.screenshot(path=str(ARTIFACTS / "compliance.png"), full_page=True)

    page.click(f'a[href="/ui/senders/{H26}"]')
    page.wait_for_url(f"**/ui/senders/{H26}")
    assert "UBND tỉnh Hưng Yên" in page.inner_text("#sender-name")
    assert page.inner_text("#sender-documents") == "3"
    assert page.query_selector("svg polyline") is not None
    page.screenshot(path=str(ARTIFACTS / "sender.png"), full_page=True)

    page.click("a.trace")
    page.wait_for_url("**/ui/documents/*")
    steps = [li.get_attribute("data-what") for li in page.query_selector_all("#timeline li")]
    assert steps[:2] == ["submitted", "verdict"]
    assert page.inner_text("#document-id") in live_hub.scenario.documents[H26]
    panel = page.inner_text("#signatures")
    assert "gói tin (envelope, JWS)" in panel or "Không có chữ ký" in panel
    page.screenshot(path=str(ARTIFACTS / "trace.png"), full_page=True)
    page.close()
