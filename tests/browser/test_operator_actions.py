"""In a real browser, an admin at work: bulk-redrives a recipient's failed deliveries and
suspends then reinstates a member, each checked against the API and the page's history.

The failure is real: a push member registered with an endpoint on a loopback port
nothing listens on, and the hub's own delivery worker giving up after one try.
Screenshots of the delivery page and the member page go where `test_console` puts its own.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from hub.delivery.worker import DeliveryWorker
from hub.identity import HubIdentity
from hub.settings import HubSettings
from registry.db import create_engine, session_factory
from tests.browser.conftest import LiveHub, _free_port
from tests.browser.test_console import _shoot
from tests.conftest import HUB_ID, PKIFixture
from tests.hub.helpers import body_of
from tests.hub.reports.scenario import H26

PUSHED = "000.00.00.G09"


async def _push_and_fail(settings: HubSettings) -> int:
    """One round of the hub's push worker, giving up at the first refusal; pushes tried."""
    engine = create_engine(settings.resolved_database_url())
    worker = DeliveryWorker(settings, session_factory(engine), HubIdentity.load(settings))
    try:
        return await worker.run_once()
    finally:
        await worker.stop()
        await engine.dispose()


def _failed_deliveries(live_hub: LiveHub, admin: dict[str, str], documents: int) -> list[str]:
    """`documents` packages from H26 to a push member whose endpoint refuses, all failed."""
    member = {"code": PUSHED, "name": "Bộ Thử nghiệm", "kind": "ministry",
              "delivery_mode": "push", "endpoint": f"http://127.0.0.1:{_free_port()}"}  # fmt: skip
    created = httpx.post(f"{live_hub.url}/v1/admin/members", json=member, headers=admin)
    assert created.status_code == 201, created.text
    h26 = live_hub.scenario.agencies[H26]
    for _ in range(documents):
        sent = httpx.post(
            f"{live_hub.url}/v1/documents",
            content=body_of(h26.package([PUSHED])),
            headers={**h26.headers, "Content-Type": "application/json"},
        )
        assert sent.status_code == 202, sent.text
    failed = httpx.get(
        f"{live_hub.url}/v1/admin/deliveries", params={"recipient": PUSHED}, headers=admin
    )
    return [d["delivery_id"] for d in failed.json()["deliveries"]]


def test_bulk_redrive_and_a_member_suspended_then_reinstated(
    live_hub: LiveHub, browser: Any, database_url: str, pki: PKIFixture, tmp_path: Path
) -> None:
    admin = {"Authorization": f"Bearer {live_hub.admin_token}"}
    settings = HubSettings(
        data_dir=tmp_path, database_url=database_url, pki_dir=pki.directory, hub_id=HUB_ID,
        push_max_attempts=1,
    )  # fmt: skip
    assert _failed_deliveries(live_hub, admin, 3) == []
    with ThreadPoolExecutor(1) as pool:  # Playwright's loop runs in this thread
        assert pool.submit(asyncio.run, _push_and_fail(settings)).result() == 3
    failed = httpx.get(
        f"{live_hub.url}/v1/admin/deliveries", params={"recipient": PUSHED}, headers=admin
    ).json()["deliveries"]
    assert len(failed) == 3 and all(d["last_error"] for d in failed)

    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page.goto(f"{live_hub.url}/ui/delivery")
    page.fill("#token", live_hub.admin_token)
    page.click("#login")
    page.wait_for_url("**/ui/delivery")
    row = f'#trouble tr[data-key="{PUSHED}"]'
    assert page.inner_text(f'{row} [data-field="failed"]') == str(len(failed))
    assert page.query_selector("#trouble tbody tr[data-key]").get_attribute("data-key") == PUSHED
    _shoot(page, "console-delivery.png")

    page.click(f"{row} a.bulk-redrive")
    page.wait_for_url(f"**/ui/delivery/recipients/{PUSHED}/redrive")
    assert page.inner_text("#to-requeue") == str(len(failed))
    page.click("#confirm")
    page.wait_for_url("**/ui/delivery?requeued=*")
    requeued = httpx.get(
        f"{live_hub.url}/v1/admin/deliveries",
        params={"recipient": PUSHED, "state": "queued"},
        headers=admin,
    ).json()["deliveries"]
    assert page.inner_text("#requeued") == str(len(requeued)) == str(len(failed))
    assert sorted(d["delivery_id"] for d in requeued) == sorted(d["delivery_id"] for d in failed)
    still = httpx.get(
        f"{live_hub.url}/v1/admin/deliveries", params={"recipient": PUSHED}, headers=admin
    )
    assert still.json()["deliveries"] == []
    assert page.query_selector(row) is None  # nothing failed, nothing overdue any more

    page.goto(f"{live_hub.url}/ui/registry/{H26}")
    for action, status in (("suspend", "suspended"), ("reinstate", "active")):
        page.click(f"#{action}")
        page.wait_for_url(f"**/ui/registry/{H26}/status")
        assert page.query_selector('#changes tr[data-field="status"]') is not None
        page.click("#confirm")
        page.wait_for_url(f"**/ui/registry/{H26}?done={action}*")
        assert page.inner_text("#member-status") == status
        api = httpx.get(f"{live_hub.url}/v1/admin/members/{H26}", headers=admin).json()
        assert api["status"] == status
        h26 = live_hub.scenario.agencies[H26]
        directory = httpx.get(f"{live_hub.url}/v1/directory", headers=h26.headers)
        assert directory.status_code == (200 if status == "active" else 403)
    history = [
        (tr.get_attribute("data-action"), tr.query_selector(".actor").inner_text())
        for tr in page.query_selector_all("#history tbody tr[data-action]")
    ]
    changes = httpx.get(
        f"{live_hub.url}/v1/admin/changes", params={"member": H26}, headers=admin
    ).json()["items"]
    assert history == [(c["action"], c["actor"]) for c in changes]
    assert history[:2] == [
        ("reinstate", "operator:browser-admin"),
        ("suspend", "operator:browser-admin"),
    ]
    _shoot(page, "console-member.png")

    for arrow, ordered in (("ascending", sorted), ("descending", _reversed)):
        page.click('#history th a[data-sort="action"]')
        page.wait_for_url(f"**history_sort={'-' if arrow == 'descending' else ''}action*")
        assert page.get_attribute('#history th:has(a[data-sort="action"])', "aria-sort") == arrow
        actions = [
            tr.get_attribute("data-action")
            for tr in page.query_selector_all("#history tbody tr[data-action]")
        ]
        assert actions == ordered(actions) and len(set(actions)) > 1

    held = page.url
    page.context.clear_cookies()  # the session ends while the member page is open
    page.click("#suspend")
    page.wait_for_url("**/ui/login**")
    assert "/ui/login?next=" in page.url, page.url
    page.fill("#token", live_hub.admin_token)
    page.click("#login")
    page.wait_for_url(f"**/ui/registry/{H26}*")
    assert page.url == held and "history_sort=-action" in held  # back where the form was
    assert page.query_selector("#suspend") is not None
    api = httpx.get(f"{live_hub.url}/v1/admin/members/{H26}", headers=admin).json()
    assert api["status"] == "active"  # nothing suspended without confirming again
    page.close()


def _reversed(items: list[str | None]) -> list[str | None]:
    return sorted(items, key=str, reverse=True)
