"""The delivery page's five tables through HTTP: each sortable both ways on every column
with its own parameter (the troubled recipients and their failed deliveries in the
database), sorting one keeping the others, and a bad sort value an HTML error page."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from hub.db.models import Delivery
from registry.db import utcnow
from signing.package import new_package
from signing.sign import sign_package
from signing.workdays import VIETNAM_TZ
from tests.hub.conftest import Hub
from tests.hub.helpers import HEADER, PDF, Agency
from tests.hub.reports.scenario import DEPT, G22, H26, H49, load_scenario
from tests.hub.ui.ordering import header_links, python_order, rows, sql_order
from tests.hub.ui.test_ui import _login, _problem, _token

PUSHED = "000.00.00.G09"
Row = dict[str, Any]


async def _ack_inbox(hub: Hub, agency: Agency) -> None:
    inbox = await hub.client.get("/v1/inbox", params={"limit": 100}, headers=agency.headers)
    for item in inbox.json()["deliveries"]:
        ack = await hub.client.post(f"/v1/inbox/{item['delivery_id']}/ack", headers=agency.headers)
        assert ack.status_code == 200, ack.text


async def _late(hub: Hub, sender: Agency, times: int) -> None:
    """`times` documents from `sender` to G22 signed eight days before they were sent."""
    signed_at = (dt.datetime.now(VIETNAM_TZ) - dt.timedelta(days=8)).replace(microsecond=0)
    for _ in range(times):
        pkg = new_package(sender.code, [G22], HEADER, [PDF])
        pkg = sign_package(pkg, sender.official.key, sender.official.full_chain, "personal",
                           signed_at)  # fmt: skip
        pkg = sign_package(pkg, sender.org.key, sender.org.full_chain, "organization", signed_at)
        response = await hub.submit(sender, pkg)
        assert "LATE_DISPATCH" in response.json()["verdict"]["violations"], response.text


async def _set(hub: Hub, recipient: str, state: str, **values: Any) -> None:
    """Every not yet delivered delivery to `recipient` put in `state` with `values`."""
    async with hub.context.sessions.begin() as session:
        await session.execute(
            update(Delivery)
            .where(Delivery.recipient == recipient, Delivery.state == "queued")
            .values(state=state, **values)
        )


@pytest.fixture
async def busy(hub: Hub) -> Hub:
    """Four recipients in trouble (failed, overdue, different errors), three with
    latency, two late senders; an auditor logged in."""
    scenario = await load_scenario(hub.client, hub.agencies)
    agencies = scenario.agencies
    await _ack_inbox(hub, agencies[H26])
    await _ack_inbox(hub, agencies[H49])
    await _late(hub, agencies[DEPT], 1)
    await _late(hub, agencies[H26], 2)
    await hub.add(PUSHED, mode="push")
    for _ in range(2):
        assert (await hub.submit(agencies[H26], agencies[H26].package([PUSHED]))).status_code == 202
    hub.members.failures[PUSHED] = 2
    assert await hub.worker(push_max_attempts=1).run_once() == 2
    async with hub.context.sessions.begin() as session:  # the two failed ones differ
        failed = (await session.execute(
            Delivery.__table__.select().where(Delivery.recipient == PUSHED)
            .order_by(Delivery.id)
        )).all()  # fmt: skip
        await session.execute(
            update(Delivery).where(Delivery.id == failed[0].id)
            .values(attempts=4, last_error="A: connection refused")
        )  # fmt: skip
    for sender, recipient in ((H49, H26), (H26, H49)):
        response = await hub.submit(agencies[sender], agencies[sender].package([recipient]))
        assert response.status_code == 202
    await _set(hub, G22, "failed", attempts=2, last_error="Z: HTTP 500")
    await _set(hub, H26, "failed", attempts=3, last_error="M: timeout")
    await _set(hub, H49, "queued", created_at=utcnow() - timedelta(hours=3))
    await _login(hub, await _token(hub, "auditor"))
    return hub


async def _names(hub: Hub) -> dict[str, str]:
    listed = await hub.client.get("/v1/admin/members", params={"limit": 1000}, headers=hub.admin)
    return {m["code"]: m["name"] for m in listed.json()["items"]}


def _sorts(keys: dict[str, Callable[[Row], Any]]) -> list[tuple[str, bool]]:
    return [(column, descending) for column in keys for descending in (False, True)]


async def _page(hub: Hub, param: str, column: str, descending: bool) -> str:
    sort = f"-{column}" if descending else column
    page = await hub.client.get("/ui/delivery", params={param: sort})
    assert page.status_code == 200, page.text
    return page.text


async def test_troubled_recipients_sort_both_ways_by_every_column(busy: Hub) -> None:
    troubled: list[Row] = (
        await busy.client.get("/v1/admin/deliveries/troubled", headers=busy.admin)
    ).json()["recipients"]
    names = await _names(busy)
    assert len(troubled) == 4 and any(r["last_error"] is None for r in troubled)
    keys: dict[str, Callable[[Row], Any]] = {
        "recipient": lambda r: r["recipient"],
        "name": lambda r: names[r["recipient"]].lower(),
        "failed": lambda r: r["failed"],
        "overdue": lambda r: r["overdue"],
        "oldest": lambda r: datetime.fromisoformat(r["oldest"]),
        "last_error": lambda r: r["last_error"],
    }
    for column, descending in _sorts(keys):
        page = await _page(busy, "trouble_sort", column, descending)
        want = sql_order(troubled, keys[column], lambda r: r["recipient"], descending)
        assert rows(page, "trouble") == [r["recipient"] for r in want], (column, descending)
    default = rows((await busy.client.get("/ui/delivery")).text, "trouble")
    assert default == [r["recipient"] for r in troubled]  # most failed first, as the API


async def test_failed_deliveries_sort_both_ways_by_every_column(busy: Hub) -> None:
    failed: list[Row] = (
        await busy.client.get(
            "/v1/admin/deliveries", params={"recipient": PUSHED}, headers=busy.admin
        )
    ).json()["deliveries"]
    assert len(failed) == 2
    keys: dict[str, Callable[[Row], Any]] = {
        "document": lambda d: d["document_id"],
        "attempts": lambda d: d["attempts"],
        "last_error": lambda d: d["last_error"],
    }
    for column, descending in _sorts(keys):
        page = await _page(busy, "failed_sort", column, descending)
        shown = re.search(rf'<table class="failed" data-recipient="{PUSHED}">(.*?)</table>',
                          page, re.S)  # fmt: skip
        assert shown, page
        want = sql_order(failed, keys[column], lambda d: d["delivery_id"], descending)
        got = re.findall(r'<tr data-delivery="([^"]+)">', shown.group(1))
        assert got == [d["delivery_id"] for d in want], (column, descending)


async def _report(hub: Hub) -> Row:
    report: Row = (await hub.client.get("/v1/reports/delivery", headers=hub.admin)).json()
    return report


def _percentile(name: str) -> Callable[[Row], Any]:
    return lambda r: r["latency_seconds"][name]


async def test_latency_sorts_both_ways_by_every_column(busy: Hub) -> None:
    report = await _report(busy)
    latency = [r for r in report["recipients"] if r["latency_seconds"]["p50"] is not None]
    assert {r["recipient"] for r in latency} == {G22, H26, H49}
    keys: dict[str, Callable[[Row], Any]] = {
        "recipient": lambda r: r["recipient"],
        "name": lambda r: r["name"].casefold(),
        "delivered": lambda r: r["delivered"],
        **{k: _percentile(k) for k in ("p50", "p90", "p95", "p99")},
    }
    for column, descending in _sorts(keys):
        page = await _page(busy, "latency_sort", column, descending)
        want = python_order(latency, keys[column], lambda r: r["recipient"], descending)
        assert rows(page, "latency") == [r["recipient"] for r in want], (column, descending)


async def test_per_recipient_table_sorts_both_ways_by_every_column(busy: Hub) -> None:
    recipients = (await _report(busy))["recipients"]
    keys: dict[str, Callable[[Row], Any]] = {
        name: (lambda r, name=name: r[name])
        for name in ("recipient", "deliveries", "delivered", "pending", "failed", "refused",
                     "overdue_receipts")
    }  # fmt: skip
    keys["name"] = lambda r: r["name"].casefold()
    for code in recipients[0]["statuses"]:
        keys[f"status_{code}"] = lambda r, code=code: r["statuses"][code]
    assert "status_01" in keys and "status_recalled" in keys
    for column, descending in _sorts(keys):
        page = await _page(busy, "sort", column, descending)
        want = python_order(recipients, keys[column], lambda r: r["recipient"], descending)
        assert rows(page, "recipients") == [r["recipient"] for r in want], (column, descending)


async def test_late_senders_sort_both_ways_by_every_column(busy: Hub) -> None:
    late = [s for s in (await _report(busy))["senders"] if s["late_dispatch"]]
    assert {s["sender"]: s["late_dispatch"] for s in late} == {DEPT: 1, H26: 2}
    keys: dict[str, Callable[[Row], Any]] = {
        "sender": lambda s: s["sender"],
        "name": lambda s: s["name"].casefold(),
        "documents": lambda s: s["documents"],
        "late_dispatch": lambda s: s["late_dispatch"],
    }
    for column, descending in _sorts(keys):
        page = await _page(busy, "late_sort", column, descending)
        want = python_order(late, keys[column], lambda s: s["sender"], descending)
        assert rows(page, "late") == [s["sender"] for s in want], (column, descending)


async def test_sorting_one_table_keeps_the_others(busy: Hub) -> None:
    alone = {
        "trouble": ("trouble_sort", "-name"),
        "latency": ("latency_sort", "name"),
        "recipients": ("sort", "-name"),
        "late": ("late_sort", "-sender"),
    }
    expected = {}
    for table_id, (param, value) in alone.items():
        page = (await busy.client.get("/ui/delivery", params={param: value})).text
        expected[table_id] = rows(page, table_id)
    together = dict(alone.values())
    page = (await busy.client.get("/ui/delivery", params=together)).text
    for table_id in alone:
        assert rows(page, table_id) == expected[table_id], table_id
    links = header_links(page, "latency")["p90"]
    assert all(f"{p}={v}" in links for p, v in together.items() if p != "latency_sort")
    assert "latency_sort=p90" in links


async def test_sort_and_page_links_drop_the_result_of_a_form(busy: Hub) -> None:
    """A redrive's or requeue's message shows once: sorting afterwards does not repeat it."""
    params = {"redriven": "d-1", "requeued": "2", "done": G22, "latency_sort": "name"}
    page = (await busy.client.get("/ui/delivery", params=params)).text
    assert "Đã gửi lại d-1" in page
    links = [*header_links(page, "latency").values(), *header_links(page, "trouble").values()]
    assert links and all("latency_sort" in link or "trouble_sort" in link for link in links)
    for link in links:
        assert not re.search(r"(^|[?&])(redriven|requeued|done)=", link), link
    again = (await busy.client.get("/ui/delivery" + header_links(page, "trouble")["name"])).text
    assert "Đã gửi lại" not in again


@pytest.mark.parametrize(
    "query",
    ["trouble_sort=nope", "failed_sort=-", "latency_sort=-p42", "late_sort=documents_",
     "sort=status_99"],
)  # fmt: skip
async def test_a_bad_sort_value_is_an_error_page(hub: Hub, query: str) -> None:
    await _login(hub, await _token(hub, "auditor"))
    assert _problem(await hub.client.get(f"/ui/delivery?{query}")) == (422, "invalid_sort")
