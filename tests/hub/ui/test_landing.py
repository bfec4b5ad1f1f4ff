"""A session that ends while a form is open, through HTTP: the form's POST does nothing,
the login leads back to the page that held the form (never a POST-only address, never
another site), and acting still needs the form sent again with a fresh CSRF token."""

from __future__ import annotations

import html as html_module
import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import update

from hub.db.models import Delivery
from hub.ui.session import SESSION_COOKIE, encode, secret_of
from tests.hub.conftest import Hub
from tests.hub.reports.scenario import H26, H49, Scenario, load_scenario
from tests.hub.ui.test_ui import _csrf, _token

ORIGIN = "http://hub"


@pytest.fixture
async def scenario(hub: Hub) -> Scenario:
    return await load_scenario(hub.client, hub.agencies)


async def _log_in_from(hub: Hub, login_url: str, token: str) -> httpx.Response:
    """Follow the redirect to the login page, log in there, and open where it leads."""
    form = await hub.client.get(login_url)
    assert form.status_code == 200, form.text
    shown = re.search(r'name="next" value="([^"]*)"', form.text)
    assert shown, form.text
    next_value = html_module.unescape(shown.group(1))
    done = await hub.client.post(
        "/ui/login", data={"token": token, "csrf": _csrf(form.text), "next": next_value}
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"] == next_value
    return await hub.client.get(done.headers["location"])


def _expire(hub: Hub, token_name: str = "ui-admin") -> None:
    """The dashboard cookie replaced by one that expired a second ago."""
    stale = encode(secret_of(hub.context), token_name, "admin", -1)
    (kept,) = [c for c in hub.client.cookies.jar if c.name == SESSION_COOKIE]
    hub.client.cookies.delete(SESSION_COOKIE)
    hub.client.cookies.set(SESSION_COOKIE, stale, domain=kept.domain, path=kept.path)


async def _status(hub: Hub, code: str) -> str:
    member = await hub.client.get(f"/v1/admin/members/{code}", headers=hub.admin)
    status: str = member.json()["status"]
    return status


async def test_a_confirmed_registry_change_after_the_session_expired_is_not_made(
    hub: Hub, scenario: Scenario
) -> None:
    token = await _token(hub, "admin")
    first = await _log_in_from(hub, "/ui/login", token)
    assert first.status_code == 200
    page_url = f"/ui/registry/{H26}?history_sort=actor"
    page = await hub.client.get(page_url)
    csrf = _csrf(page.text)
    changes = (await hub.client.get("/v1/admin/changes", headers=hub.admin)).json()["total"]
    _expire(hub)
    posted = await hub.client.post(
        f"/ui/registry/{H26}/status",
        data={"csrf": csrf, "action": "suspend", "confirm": "1"},
        headers={"Referer": ORIGIN + page_url},
    )
    assert posted.status_code == 303
    login_url = posted.headers["location"]
    assert urlsplit(login_url).path == "/ui/login"
    assert parse_qs(urlsplit(login_url).query)["next"] == [page_url]
    landed = await _log_in_from(hub, login_url, token)
    assert landed.status_code == 200 and 'id="status-form"' in landed.text
    assert await _status(hub, H26) == "active"  # nothing was done
    after = (await hub.client.get("/v1/admin/changes", headers=hub.admin)).json()["total"]
    assert after == changes
    assert _csrf(landed.text) != csrf  # a new session: the old form's token no longer works
    stale = await hub.client.post(
        f"/ui/registry/{H26}/status", data={"csrf": csrf, "action": "suspend", "confirm": "1"}
    )
    assert stale.status_code == 403 and await _status(hub, H26) == "active"


@pytest.mark.parametrize(
    ("form", "lands_on", "holds"),
    [
        (f"/ui/registry/{H26}/update", f"/ui/registry/{H26}", 'id="update-form"'),
        ("/ui/registry/members", "/ui/registry", 'id="create-form"'),
        (f"/ui/delivery/recipients/{H49}/redrive", f"/ui/delivery/recipients/{H49}/redrive",
         'id="to-requeue"'),
    ],
)  # fmt: skip
async def test_without_a_referer_the_login_leads_to_the_page_above_the_form(
    hub: Hub, scenario: Scenario, form: str, lands_on: str, holds: str
) -> None:
    async with hub.context.sessions.begin() as session:
        await session.execute(
            update(Delivery).where(Delivery.recipient == H49).values(state="failed")
        )
    token = await _token(hub, "admin")
    await _log_in_from(hub, "/ui/login", token)
    csrf = _csrf((await hub.client.get("/ui/registry")).text)
    hub.client.cookies.delete(SESSION_COOKIE)  # the session is gone
    posted = await hub.client.post(
        form, data={"csrf": csrf, "name": "Đổi tên", "code": "000.00.12.H26", "confirm": "1"},
        headers={"Referer": "https://elsewhere.example/ui/compliance"},  # not ours: ignored
    )  # fmt: skip
    assert posted.status_code == 303
    assert parse_qs(urlsplit(posted.headers["location"]).query)["next"] == [lands_on]
    landed = await _log_in_from(hub, posted.headers["location"], token)
    assert landed.status_code == 200 and holds in landed.text
    member = await hub.client.get("/v1/admin/members/000.00.12.H26", headers=hub.admin)
    assert member.status_code == 404
    names = await hub.client.get(f"/v1/admin/members/{H26}", headers=hub.admin)
    assert names.json()["name"] != "Đổi tên"
    failed = await hub.client.get(
        "/v1/admin/deliveries", params={"recipient": H49}, headers=hub.admin
    )
    assert len(failed.json()["deliveries"]) == 1  # not requeued


async def test_a_redrive_posted_after_expiry_lands_on_its_confirmation(
    hub: Hub, scenario: Scenario
) -> None:
    async with hub.context.sessions.begin() as session:
        await session.execute(
            update(Delivery).where(Delivery.recipient == H49).values(state="failed")
        )
    failed = await hub.client.get(
        "/v1/admin/deliveries", params={"recipient": H49}, headers=hub.admin
    )
    delivery_id = failed.json()["deliveries"][0]["delivery_id"]
    token = await _token(hub, "admin")
    await _log_in_from(hub, "/ui/login", token)
    url = f"/ui/deliveries/{delivery_id}/redrive"
    csrf = _csrf((await hub.client.get(url)).text)
    _expire(hub)
    posted = await hub.client.post(url, data={"csrf": csrf}, headers={"Referer": ORIGIN + url})
    assert posted.status_code == 303
    landed = await _log_in_from(hub, posted.headers["location"], token)
    assert landed.status_code == 200 and 'id="confirm"' in landed.text  # not a 405
    still = await hub.client.get(
        "/v1/admin/deliveries", params={"recipient": H49}, headers=hub.admin
    )
    assert [d["delivery_id"] for d in still.json()["deliveries"]] == [delivery_id]


async def test_a_page_asked_for_without_a_session_comes_back_with_its_query(hub: Hub) -> None:
    response = await hub.client.get("/ui/registry", params={"sort": "-name", "status": "active"})
    assert response.status_code == 303
    wanted = parse_qs(urlsplit(response.headers["location"]).query)["next"]
    assert wanted == ["/ui/registry?sort=-name&status=active"]
    landed = await _log_in_from(hub, response.headers["location"], await _token(hub, "auditor"))
    assert landed.status_code == 200 and 'aria-sort="descending"' in landed.text


@pytest.mark.parametrize(
    "next_value",
    [
        "https://evil.example/ui",
        "//evil.example/ui",
        "/\\evil.example",
        "/ui\\..\\..\\evil.example",
        "/ui//evil.example",
        "/ui/../../evil.example",
        "/ui/\t/evil.example",
        "http://hub/ui/registry",
        "javascript:alert(1)",
        "/uievil",
        "/ui/registry/members",
        "/ui/logout",
        "",
    ],
)
async def test_the_login_never_leads_off_site_nor_to_a_post_only_address(
    hub: Hub, next_value: str
) -> None:
    form = await hub.client.get("/ui/login", params={"next": next_value})
    assert 'name="next" value="/ui"' in form.text
    done = await hub.client.post(
        "/ui/login",
        data={"token": await _token(hub, "auditor"), "csrf": _csrf(form.text), "next": next_value},
    )
    assert done.status_code == 303 and done.headers["location"] == "/ui"
