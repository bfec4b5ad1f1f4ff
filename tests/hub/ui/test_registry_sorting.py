"""The registry pages' tables through HTTP: the member list, the change history and a
member's certificates, each sortable both ways on every column in the database, each
with its own parameter and paging, and a bad sort value an HTML error page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from hub.eventlog.chain import EventLogEntry
from hub.eventlog.history import member_diff
from hub.eventlog.sealer import hub_sealer
from registry.operators import create_operator
from signing.certs import cert_to_pem
from tests.hub.conftest import Hub
from tests.hub.ui.ordering import header_links, rows, sql_order, walk
from tests.hub.ui.test_ui import _login, _problem, _token

PROVINCE, DEPT, OTHER_DEPT = "000.00.00.H26", "000.00.01.H26", "000.00.02.H26"
MINISTRY, QN = "000.00.00.G22", "000.00.00.H49"
MEMBERS: list[dict[str, Any]] = [
    {"code": PROVINCE, "name": "Bac Ninh", "kind": "province"},
    {"code": MINISTRY, "name": "ca Mau", "kind": "government_agency", "policy": "reject_invalid"},
    {"code": QN, "name": "Dak Lak", "kind": "province", "wire_format": "edxml"},
    {"code": DEPT, "name": "an Giang", "kind": "department", "delivery_mode": "push",
     "endpoint": "http://members/dept", "policy": "require_compliant", "wire_format": "edxml"},
    {"code": OTHER_DEPT, "name": "Ea Sup", "kind": "department"},
]  # fmt: skip
"""Names whose order ignores case (`an` < `Bac` < `ca`), one parent-less level above the
departments, and each field with at least two values."""

Member = dict[str, Any]
MEMBER_KEYS: dict[str, Callable[[Member], Any]] = {
    "code": lambda m: m["code"],
    "name": lambda m: m["name"].lower(),
    "kind": lambda m: m["kind"],
    "parent": lambda m: m["parent"],
    "status": lambda m: m["status"],
    "delivery_mode": lambda m: m["delivery_mode"],
    "policy": lambda m: m["policy"],
    "wire_format": lambda m: m["wire_format"],
}


@pytest.fixture
async def registry(hub: Hub) -> Hub:
    """The members above, changed by two admins, some changes sealed into the event log."""
    for member in MEMBERS:
        created = await hub.client.post("/v1/admin/members", json=member, headers=hub.admin)
        assert created.status_code == 201, created.text
    async with hub.context.sessions.begin() as session:
        _, token = await create_operator(session, "zz-second-admin", "admin")
    other = {"Authorization": f"Bearer {token}"}
    for code in (PROVINCE, DEPT):
        org = hub.agencies.pki.ca.issue("organization", code, "Cơ quan")
        added = await hub.client.post(
            f"/v1/admin/members/{code}/certificates",
            json={"certificate": cert_to_pem(org.cert).decode()}, headers=other,
        )  # fmt: skip
        assert added.status_code == 201, added.text
    await hub_sealer(hub.context.sessions, hub.context.identity, hub.settings).seal_all()
    for code, action in ((MINISTRY, "suspend"), (QN, "revoke")):
        done = await hub.client.post(f"/v1/admin/members/{code}/{action}", headers=other)
        assert done.status_code == 200, done.text
    renamed = await hub.client.patch(
        f"/v1/admin/members/{OTHER_DEPT}", json={"endpoint": "http://x.example/"},
        headers=hub.admin,
    )  # fmt: skip
    assert renamed.status_code == 200, renamed.text
    await _login(hub, await _token(hub, "auditor"))
    return hub


async def _members(hub: Hub) -> list[Member]:
    listed = await hub.client.get("/v1/admin/members", params={"limit": 1000}, headers=hub.admin)
    items: list[Member] = listed.json()["items"]
    return items


async def test_the_member_list_sorts_both_ways_by_every_column(registry: Hub) -> None:
    members = await _members(registry)
    assert {m["status"] for m in members} == {"active", "suspended", "revoked"}
    for column, key in MEMBER_KEYS.items():
        for descending in (False, True):
            sort = f"-{column}" if descending else column
            page = await registry.client.get("/ui/registry", params={"sort": sort})
            assert page.status_code == 200, page.text
            want = sql_order(members, key, lambda m: m["code"], descending)
            assert rows(page.text, "members") == [m["code"] for m in want], sort
            arrow = "descending" if descending else "ascending"
            assert f'aria-sort="{arrow}"><a href="?sort={"" if descending else "-"}' in page.text
    names = rows((await registry.client.get("/ui/registry?sort=name")).text, "members")
    assert names[:3] == [DEPT, PROVINCE, MINISTRY]  # an, Bac, ca: case does not count
    parents = rows((await registry.client.get("/ui/registry?sort=-parent")).text, "members")
    assert parents[:2] == [OTHER_DEPT, DEPT] and parents[-1] == MINISTRY  # none: last both ways


async def test_the_member_list_pages_in_its_order_keeping_the_filter(
    registry: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("hub.ui.registry_pages.MEMBERS_PER_PAGE", 2)
    members = await _members(registry)
    seen: list[str] = []
    async for page in walk(registry.client, "/ui/registry?status=active&sort=-name"):
        shown = rows(page, "members")
        assert 0 < len(shown) <= 2
        seen += shown
    active = [m for m in members if m["status"] == "active"]
    assert seen == [m["code"] for m in sql_order(active, MEMBER_KEYS["name"], _code, True)]
    filtered = await registry.client.get("/ui/registry?status=active&sort=-name")
    assert 'name="sort" value="-name"' in filtered.text  # the filter form keeps the order


def _code(member: Member) -> str:
    return str(member["code"])


def _first_changed(change: dict[str, Any]) -> str:
    """What the changes column sorts by: the first field its line names."""
    diff = member_diff(change["before"], change["after"])
    return "certificate" if not diff or diff[0].field.startswith("certificate") else diff[0].field


async def _changes(hub: Hub, member: str | None = None) -> list[dict[str, Any]]:
    """The change log, each change with its event log number (None: not sealed yet)."""
    params: dict[str, Any] = {"limit": 1000, **({"member": member} if member else {})}
    items: list[dict[str, Any]] = (
        await hub.client.get("/v1/admin/changes", params=params, headers=hub.admin)
    ).json()["items"]
    async with hub.context.sessions() as session:
        found = await session.execute(
            select(EventLogEntry.registry_change_id, EventLogEntry.seq).where(
                EventLogEntry.registry_change_id.is_not(None)
            )
        )
        seqs = dict(found.all())
    for change in items:
        change["seq"] = seqs.get(change["id"])
    return items


HISTORY_KEYS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "at": lambda c: datetime.fromisoformat(c["at"]),
    "member": lambda c: c["member_code"],
    "actor": lambda c: c["actor"],
    "action": lambda c: c["action"],
    "changes": _first_changed,
    "seq": lambda c: c["seq"],
}


async def test_the_change_history_sorts_both_ways_by_every_column(registry: Hub) -> None:
    changes = await _changes(registry)
    assert len({c["actor"] for c in changes}) == 2 and len({c["action"] for c in changes}) > 3
    seqs = [c["seq"] for c in changes]
    assert None in seqs and any(s is not None for s in seqs)  # sealed, and not yet
    assert len({_first_changed(c) for c in changes}) >= 3
    for column, key in HISTORY_KEYS.items():
        for descending in (False, True):
            sort = f"-{column}" if descending else column
            page = await registry.client.get("/ui/registry", params={"history_sort": sort})
            assert page.status_code == 200, page.text
            want = sql_order(changes, key, lambda c: c["id"], descending)
            assert rows(page.text, "history", "data-change") == [str(c["id"]) for c in want], sort
    newest = rows((await registry.client.get("/ui/registry")).text, "history", "data-change")
    assert newest == [str(c["id"]) for c in sorted(changes, key=lambda c: -c["id"])]


async def test_a_members_history_and_certificates_sort_on_its_page(registry: Hub) -> None:
    changes = await _changes(registry, PROVINCE)
    url = f"/ui/registry/{PROVINCE}"
    for column, key in HISTORY_KEYS.items():
        if column == "member":
            continue
        for descending in (False, True):
            sort = f"-{column}" if descending else column
            page = await registry.client.get(url, params={"history_sort": sort})
            want = sql_order(changes, key, lambda c: c["id"], descending)
            assert rows(page.text, "history", "data-change") == [str(c["id"]) for c in want], sort
    refused = await registry.client.get(url, params={"history_sort": "member"})
    assert _problem(refused) == (422, "invalid_sort")  # no member column on a member's page


async def test_a_members_sort_links_drop_the_result_of_a_form(registry: Hub) -> None:
    url = f"/ui/registry/{PROVINCE}"
    page = (await registry.client.get(url, params={"done": "update"})).text
    assert "Đã cập nhật" in page
    links = header_links(page, "history")
    assert links and not any("done=" in link for link in links.values())
    again = await registry.client.get(url + links["actor"])
    assert "Đã cập nhật" not in again.text


CERTIFICATE_KEYS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "fingerprint": lambda c: c["fingerprint"],
    "serial": lambda c: c["serial"],
    "use": lambda c: (c["signing"], c["auth"]),
    "validity": lambda c: (c["not_before"], c["not_after"]),
    "added_at": lambda c: c["added_at"],
    "retired_at": lambda c: c["retired_at"],
}


async def test_a_members_certificates_sort_both_ways_by_every_column(registry: Hub) -> None:
    pki, code = registry.agencies.pki, DEPT
    for signing, auth in ((True, False), (False, True)):
        cert = pki.ca.issue("organization", code, "Cơ quan")
        body = {"certificate": cert_to_pem(cert.cert).decode(), "signing": signing, "auth": auth}
        added = await registry.client.post(
            f"/v1/admin/members/{code}/certificates", json=body, headers=registry.admin
        )
        assert added.status_code == 201, added.text
    rotated = await registry.client.post(
        f"/v1/admin/members/{code}/certificates/rotate",
        json={"certificate": cert_to_pem(pki.ca.issue("organization", code, "Mới").cert).decode(),
              "signing": True, "auth": False},
        headers=registry.admin,
    )  # fmt: skip
    assert rotated.status_code in (200, 201), rotated.text
    view = (await registry.client.get(f"/v1/admin/members/{code}", headers=registry.admin)).json()
    certificates = view["certificates"]  # in the order they were added
    order = {c["fingerprint"]: n for n, c in enumerate(certificates)}
    assert len(certificates) == 4 and any(c["retired_at"] for c in certificates)
    assert any(c["retired_at"] is None for c in certificates)
    for column, key in CERTIFICATE_KEYS.items():
        for descending in (False, True):
            sort = f"-{column}" if descending else column
            page = await registry.client.get(
                f"/ui/registry/{code}", params={"certificates_sort": sort}
            )
            assert page.status_code == 200, page.text
            want = sql_order(certificates, key, lambda c: order[c["fingerprint"]], descending)
            assert rows(page.text, "certificates") == [c["fingerprint"] for c in want], sort


async def test_each_table_keeps_the_others_order_and_a_bad_sort_is_an_error_page(
    registry: Hub,
) -> None:
    page = await registry.client.get("/ui/registry?sort=-name&history_sort=actor")
    members = rows(page.text, "members")
    assert members == rows((await registry.client.get("/ui/registry?sort=-name")).text, "members")
    history = rows(page.text, "history", "data-change")
    alone = (await registry.client.get("/ui/registry?history_sort=actor")).text
    assert history == rows(alone, "history", "data-change")
    assert "sort=-name" in header_links(page.text, "history")["seq"]
    assert "history_sort=actor" in header_links(page.text, "members")["code"]
    for url in (
        "/ui/registry?sort=nope",
        "/ui/registry?history_sort=-nope",
        "/ui/registry?sort=-",
        f"/ui/registry/{PROVINCE}?certificates_sort=pem",
        f"/ui/registry/{PROVINCE}?history_sort=--at",
    ):
        assert _problem(await registry.client.get(url)) == (422, "invalid_sort"), url
    bad_page = await registry.client.get("/ui/registry?history_offset=-1")
    assert bad_page.status_code == 422 and "text/html" in bad_page.headers["content-type"]


async def test_the_history_pages_in_its_order(
    registry: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    changes = await _changes(registry)
    by_code = rows((await registry.client.get("/ui/registry?sort=-code")).text, "members")
    monkeypatch.setattr("hub.ui.registry_pages.HISTORY_ROWS", 3)
    seen: list[str] = []
    url = "/ui/registry?sort=-code&history_sort=action"
    async for page in walk(registry.client, url, pager="history-pager"):
        assert rows(page, "members") == by_code  # the member list keeps its own order
        shown = rows(page, "history", "data-change")
        assert 0 < len(shown) <= 3
        seen += shown
    want = sql_order(changes, HISTORY_KEYS["action"], lambda c: c["id"], False)
    assert seen == [str(c["id"]) for c in want]
