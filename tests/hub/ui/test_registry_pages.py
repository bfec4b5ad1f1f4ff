"""The registry pages through HTTP: read-only for auditors; admins add, update, suspend,
reinstate and rotate through the admin API's services, each confirmed, refusals shown as
the form again, and every change in the page's history with its operator."""

from __future__ import annotations

import html
import re

import httpx
import pytest

from hub.eventlog.sealer import hub_sealer
from signing.certs import cert_to_pem
from tests.hub.conftest import Hub
from tests.hub.reports.scenario import H26, Scenario, load_scenario
from tests.hub.ui.test_ui import _csrf, _login, _token

NEW = "000.00.12.H26"


@pytest.fixture
async def scenario(hub: Hub) -> Scenario:
    return await load_scenario(hub.client, hub.agencies)


async def _admin(hub: Hub) -> None:
    await _login(hub, await _token(hub, "admin"))


async def _member(hub: Hub, code: str) -> httpx.Response:
    return await hub.client.get(f"/ui/registry/{code}")


def _history(page: str) -> list[tuple[str, str]]:
    """(action, actor) of each history line, newest first."""
    table = re.search(r'<table id="history">(.*?)</table>', page, re.S)
    assert table, page
    return [
        (action, actor)
        for action, actor in re.findall(
            r'data-action="([^"]+)">.*?<td class="actor">([^<]*)</td>', table.group(1), re.S
        )
    ]


async def _confirmed(hub: Hub, url: str, data: dict[str, str]) -> tuple[str, httpx.Response]:
    """Post the form, then its confirmation page's form; (the confirmation page, the answer)."""
    confirm = await hub.client.post(url, data=data)
    assert confirm.status_code == 200, confirm.text
    assert 'id="confirm-form"' in confirm.text
    form = re.search(r'<form method="post" action="([^"]+)" id="confirm-form">(.*?)</form>',
                     confirm.text, re.S)  # fmt: skip
    assert form and form.group(1) == url
    fields = dict(
        re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.group(2))
    )
    fields.update(
        re.findall(r'<textarea name="([^"]+)" hidden>(.*?)</textarea>', form.group(2), re.S)
    )
    done = await hub.client.post(url, data={k: html.unescape(v) for k, v in fields.items()})
    return confirm.text, done


async def test_an_auditor_reads_but_cannot_change(hub: Hub, scenario: Scenario) -> None:
    await _login(hub, await _token(hub, "auditor"))
    listing = await hub.client.get("/ui/registry")
    assert listing.status_code == 200 and f'href="/ui/registry/{H26}"' in listing.text
    assert 'id="create-form"' not in listing.text and 'id="history"' in listing.text
    page = await _member(hub, H26)
    assert page.status_code == 200 and "UBND tỉnh Hưng Yên" in page.text
    assert '<form method="post" action="/ui/registry/' not in page.text
    assert ("update", "operator:admin-1") in _history(page.text)  # the scenario's renaming
    refused = await hub.client.post(
        f"/ui/registry/{H26}/status", data={"csrf": _csrf(page.text), "action": "suspend"}
    )
    assert refused.status_code == 403 and "text/html" in refused.headers["content-type"]
    api = await hub.client.get(f"/v1/admin/members/{H26}", headers=hub.admin)
    assert api.json()["status"] == "active"
    missing = await _member(hub, "000.00.99.H26")
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]


async def test_an_admin_adds_a_member_after_confirming(hub: Hub, scenario: Scenario) -> None:
    await _admin(hub)
    csrf = _csrf((await hub.client.get("/ui/registry")).text)
    base = {"csrf": csrf, "name": "Sở Tư pháp", "kind": "department", "delivery_mode": "pull",
            "policy": "accept_all", "wire_format": "json", "parent": "",
            "endpoint": ""}  # fmt: skip
    bad = await hub.client.post("/ui/registry/members", data={**base, "code": "H26"})
    assert bad.status_code == 422 and "text/html" in bad.headers["content-type"]
    assert 'id="form-errors"' in bad.text and "<code>code</code>" in bad.text
    assert "a QCVN 102 agency code" in bad.text
    assert 'value="Sở Tư pháp"' in bad.text  # the operator's input is kept
    push = await hub.client.post(
        "/ui/registry/members", data={**base, "code": NEW, "delivery_mode": "push"}
    )
    assert push.status_code == 422 and "push delivery needs an endpoint URL" in push.text
    taken = await hub.client.post("/ui/registry/members", data={**base, "code": H26})
    assert taken.status_code == 409 and "already registered" in taken.text
    forged = await hub.client.post("/ui/registry/members", data={**base, "code": NEW, "csrf": "x"})
    assert forged.status_code == 403

    confirm, done = await _confirmed(hub, "/ui/registry/members", {**base, "code": NEW})
    assert "Sở Tư pháp" in confirm and NEW in confirm
    assert done.status_code == 303 and done.headers["location"].startswith(f"/ui/registry/{NEW}")
    api = await hub.client.get(f"/v1/admin/members/{NEW}", headers=hub.admin)
    assert api.status_code == 200
    assert (api.json()["name"], api.json()["parent"]) == ("Sở Tư pháp", H26)
    page = await hub.client.get(done.headers["location"])
    assert 'id="result"' in page.text and _history(page.text) == [("create", "operator:ui-admin")]


async def test_a_confirmation_alone_changes_nothing(hub: Hub, scenario: Scenario) -> None:
    await _admin(hub)
    url = "/v1/admin/changes"
    listed = await hub.client.get(url, params={"member": H26}, headers=hub.admin)
    page = await _member(hub, H26)
    confirm = await hub.client.post(
        f"/ui/registry/{H26}/status", data={"csrf": _csrf(page.text), "action": "suspend"}
    )
    assert confirm.status_code == 200 and 'id="confirm-form"' in confirm.text
    api = await hub.client.get(f"/v1/admin/members/{H26}", headers=hub.admin)
    assert api.json()["status"] == "active"
    again = await hub.client.get(url, params={"member": H26}, headers=hub.admin)
    assert again.json() == listed.json() and listed.json()["total"] == 3


async def test_update_suspend_reinstate_and_the_history(hub: Hub, scenario: Scenario) -> None:
    await _admin(hub)
    page = await _member(hub, H26)
    csrf = _csrf(page.text)
    fields = {"csrf": csrf, "name": "UBND tỉnh Hưng Yên (mới)", "kind": "province",
              "delivery_mode": "pull", "endpoint": "", "policy": "reject_invalid",
              "wire_format": "json"}  # fmt: skip
    blank = await hub.client.post(f"/ui/registry/{H26}/update", data={**fields, "name": " "})
    assert blank.status_code == 422 and 'id="form-errors"' in blank.text
    bad_url = await hub.client.post(
        f"/ui/registry/{H26}/update", data={**fields, "endpoint": "ftp://x"}
    )
    assert bad_url.status_code == 422 and "<code>endpoint</code>" in bad_url.text

    confirm, done = await _confirmed(hub, f"/ui/registry/{H26}/update", fields)
    assert re.search(r'data-field="name">.*?UBND tỉnh Hưng Yên</td><td>UBND tỉnh Hưng Yên \(mới\)',
                     confirm, re.S)  # fmt: skip
    assert 'data-field="policy"' in confirm and 'data-field="status"' not in confirm
    assert done.status_code == 303
    for action, status in (("suspend", "suspended"), ("reinstate", "active")):
        _, done = await _confirmed(
            hub, f"/ui/registry/{H26}/status", {"csrf": csrf, "action": action}
        )
        assert done.status_code == 303
        api = await hub.client.get(f"/v1/admin/members/{H26}", headers=hub.admin)
        assert api.json()["status"] == status
        shown = await hub.client.get(done.headers["location"])
        assert f'id="member-status" class="{"ok" if status == "active" else "bad"}">{status}<' in (
            shown.text
        )
    api = (await hub.client.get(f"/v1/admin/members/{H26}", headers=hub.admin)).json()
    assert (api["name"], api["policy"]) == ("UBND tỉnh Hưng Yên (mới)", "reject_invalid")
    again = await hub.client.post(
        f"/ui/registry/{H26}/status", data={"csrf": csrf, "action": "reinstate"}
    )
    assert again.status_code == 409 and "cannot reinstate" in again.text

    page = (await _member(hub, H26)).text
    admin_changes = (
        await hub.client.get("/v1/admin/changes", params={"member": H26}, headers=hub.admin)
    ).json()["items"]
    assert _history(page) == [(c["action"], c["actor"]) for c in admin_changes]
    assert _history(page)[:3] == [("reinstate", "operator:ui-admin"),
                                  ("suspend", "operator:ui-admin"),
                                  ("update", "operator:ui-admin")]  # fmt: skip
    assert set(re.findall(r'<td class="n seq">([^<]*)</td>', page)) == {
        "chưa niêm phong (not sealed yet)"
    }
    sealer = hub_sealer(hub.context.sessions, hub.context.identity, hub.settings)
    await sealer.seal_all()
    sealed = (await _member(hub, H26)).text
    seqs = re.findall(r'<td class="n seq">([^<]*)</td>', sealed)
    assert len(seqs) == len(admin_changes) and all(seq.isdigit() for seq in seqs)
    assert int(seqs[0]) > int(seqs[-1])  # newest first, as the log sealed them


async def test_rotating_a_certificate(hub: Hub, scenario: Scenario) -> None:
    await _admin(hub)
    page = await _member(hub, H26)
    csrf = _csrf(page.text)
    url = f"/ui/registry/{H26}/rotate"
    garbage = await hub.client.post(
        url, data={"csrf": csrf, "certificate": "nope", "signing": "on"}
    )
    assert garbage.status_code == 422 and "not a PEM certificate" in garbage.text
    other = hub.agencies.pki.ca.issue("organization", "000.00.00.H49", "Another")
    wrong = await hub.client.post(
        url, data={"csrf": csrf, "certificate": cert_to_pem(other.cert).decode(), "auth": "on"}
    )
    assert wrong.status_code == 422 and 'id="form-errors"' in wrong.text
    unused = await hub.client.post(url, data={"csrf": csrf, "certificate": "x"})
    assert unused.status_code == 422 and "signing, auth or both" in unused.text

    before = (await hub.client.get(f"/v1/admin/members/{H26}", headers=hub.admin)).json()
    old = [c["fingerprint"] for c in before["certificates"] if c["retired_at"] is None]
    fresh = hub.agencies.pki.ca.issue("organization", H26, "UBND tỉnh Hưng Yên")
    pem = cert_to_pem(fresh.cert).decode()
    confirm, done = await _confirmed(
        hub, url, {"csrf": csrf, "certificate": pem, "signing": "on", "auth": "on"}
    )
    assert "retired" in confirm and "active" in confirm
    assert done.status_code == 303
    after = (await hub.client.get(f"/v1/admin/members/{H26}", headers=hub.admin)).json()
    current = [c["fingerprint"] for c in after["certificates"] if c["retired_at"] is None]
    assert len(current) == 1 and current[0] not in old
    assert all(c["retired_at"] for c in after["certificates"] if c["fingerprint"] in old)
    shown = await hub.client.get(done.headers["location"])
    assert current[0] in shown.text
    assert (
        _history(shown.text)[0] == ("certificate_rotate", "operator:ui-admin")
        or _history(shown.text)[0][1] == "operator:ui-admin"
    )


async def test_a_revoked_member_is_shown_without_forms_and_refuses_changes(
    hub: Hub, scenario: Scenario
) -> None:
    await hub.agencies.change(H26, "revoke")
    await _admin(hub)
    page = await _member(hub, H26)
    assert page.status_code == 200 and 'id="update-form"' not in page.text
    refused = await hub.client.post(
        f"/ui/registry/{H26}/update",
        data={"csrf": _csrf(page.text), "name": "X", "kind": "province", "delivery_mode": "pull",
              "endpoint": "", "policy": "accept_all", "wire_format": "json"},
    )  # fmt: skip
    assert refused.status_code == 409 and "text/html" in refused.headers["content-type"]
    assert 'id="form-errors"' in refused.text and "revoked" in refused.text
    revoke = await hub.client.post(
        f"/ui/registry/{H26}/status", data={"csrf": _csrf(page.text), "action": "revoke"}
    )
    assert revoke.status_code == 422 and "suspend or reinstate" in html.unescape(revoke.text)
    api = await hub.client.get(f"/v1/admin/members/{H26}", headers=hub.admin)
    assert (api.json()["status"], api.json()["name"]) == ("revoked", "UBND tỉnh Hưng Yên")
