"""The dashboard through HTTP: login, CSRF, every page, escaping, the redrive button."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import update

from hub.db.models import Delivery
from registry.operators import create_operator
from tests.hub.conftest import Hub
from tests.hub.reports.scenario import DEPT, G22, H26, Scenario, load_scenario


@pytest.fixture
async def scenario(hub: Hub) -> Scenario:
    return await load_scenario(hub.client, hub.agencies)


async def _token(hub: Hub, role: str) -> str:
    async with hub.context.sessions.begin() as session:
        _, token = await create_operator(session, f"ui-{role}", role)
    return token


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def _problem(response: httpx.Response) -> tuple[int, str]:
    """The status and stable code of an error page under `/ui` (HTML, never problem+json)."""
    assert response.headers["content-type"].startswith("text/html"), response.text
    found = re.search(r'id="error-code">([^<]*)<', response.text)
    assert found, response.text
    return response.status_code, found.group(1)


async def _login(hub: Hub, token: str, next: str = "/ui") -> httpx.Response:
    form = await hub.client.get("/ui/login", params={"next": next})
    assert form.status_code == 200
    return await hub.client.post(
        "/ui/login", data={"token": token, "csrf": _csrf(form.text), "next": next}
    )


async def test_pages_need_a_login_and_a_good_token(hub: Hub) -> None:
    response = await hub.client.get("/ui/compliance")
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/login?next=/ui/compliance"
    bad = await _login(hub, "lto_not-a-token")
    assert bad.status_code == 401 and "invalid operator token" in bad.text
    no_csrf = await hub.client.post("/ui/login", data={"token": await _token(hub, "auditor")})
    assert _problem(no_csrf) == (403, "csrf_failed")


async def test_login_then_every_page_renders(hub: Hub, scenario: Scenario) -> None:
    response = await _login(hub, await _token(hub, "auditor"), next="/ui/compliance")
    assert response.status_code == 303 and response.headers["location"] == "/ui/compliance"
    assert "httponly" in response.headers["set-cookie"].lower()
    assert "samesite=strict" in response.headers["set-cookie"].lower()
    overview = await hub.client.get("/ui")
    assert overview.status_code == 200
    assert re.search(r'id="today-documents">5<', overview.text)
    compliance = await hub.client.get("/ui/compliance", params={"sort": "compliant_share"})
    assert compliance.status_code == 200
    assert "UBND tỉnh Hưng Yên" in compliance.text and "<svg" in compliance.text
    row = re.search(rf'data-key="{H26}">(.*?)</tr>', compliance.text, re.S)
    assert row and 'data-field="documents">3<' in row.group(1)
    assert "script-src 'none'" in compliance.headers["content-security-policy"]
    filtered = await hub.client.get("/ui/compliance", params={"recipient": "000.00.00.H49"})
    assert f'data-key="{DEPT}"' in filtered.text and f'data-key="{H26}"' not in filtered.text
    sender = await hub.client.get(f"/ui/senders/{H26}")
    assert sender.status_code == 200 and 'data-code="UNSIGNED">1<' in sender.text
    assert "<polyline" in sender.text
    document = scenario.documents[H26][0]
    trace = await hub.client.get(f"/ui/documents/{document}")
    assert trace.status_code == 200
    assert [w for w in re.findall(r'data-what="([^"]+)"', trace.text)][:2] == [
        "submitted",
        "verdict",
    ]
    assert 'data-what="status 01"' in trace.text
    delivery = await hub.client.get("/ui/delivery")
    assert delivery.status_code == 200 and f'data-key="{G22}"' in delivery.text
    registry = await hub.client.get("/ui/registry")
    assert "Văn phòng Chính phủ" in registry.text
    missing = await hub.client.get("/ui/documents/not-a-uuid")
    assert missing.status_code == 404


async def test_names_are_escaped(hub: Hub, scenario: Scenario) -> None:
    response = await hub.client.patch(
        f"/v1/admin/members/{H26}",
        json={"name": "<script>alert(1)</script> Hưng Yên"},
        headers=hub.admin,
    )
    assert response.status_code == 200
    await _login(hub, await _token(hub, "auditor"))
    page = await hub.client.get("/ui/compliance")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Hưng Yên" in page.text


async def test_redrive_needs_admin_and_csrf(hub: Hub, scenario: Scenario) -> None:
    async with hub.context.sessions.begin() as session:
        await session.execute(
            update(Delivery).where(Delivery.recipient == "000.00.00.H49").values(state="failed")
        )
    await _login(hub, await _token(hub, "auditor"))
    page = await hub.client.get("/ui/delivery")
    assert 'class="redrive"' not in page.text
    await hub.client.post("/ui/logout", data={"csrf": _csrf(page.text)})
    assert (await hub.client.get("/ui")).status_code == 303
    await _login(hub, await _token(hub, "admin"))
    page = await hub.client.get("/ui/delivery")
    action = re.search(r'action="(/ui/deliveries/[^"]+/redrive)"', page.text)
    assert action, page.text
    forged = await hub.client.post(action.group(1), data={"csrf": "forged"})
    assert _problem(forged) == (403, "csrf_failed")
    done = await hub.client.post(action.group(1), data={"csrf": _csrf(page.text)})
    assert done.status_code == 303
    async with hub.context.sessions() as session:
        states = (
            await session.execute(
                Delivery.__table__.select().where(Delivery.recipient == "000.00.00.H49")
            )
        ).all()
    assert [row.state for row in states] == ["queued"]
