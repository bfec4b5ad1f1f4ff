"""In a real browser: Swagger UI and ReDoc render the hub's whole OpenAPI document, and the
browser fetches nothing from any host but the hub."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.browser.conftest import ARTIFACTS, LiveHub

RENDERED = {
    "/docs": ".opblock-summary-path",
    "/redoc": "[data-section-id^='operation/']",
}
"""What each UI draws once per operation."""


@pytest.mark.parametrize("page_path", RENDERED)
def test_the_api_docs_render_from_the_hub_alone(
    live_hub: LiveHub, browser: Any, page_path: str
) -> None:
    spec = httpx.get(f"{live_hub.url}/openapi.json").json()
    operations = sum(
        method in {"get", "post", "put", "patch", "delete"}
        for item in spec["paths"].values()
        for method in item
    )
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    fetched: list[str] = []
    blocked: dict[str, str | None] = {}
    page.on("requestfinished", lambda request: fetched.append(request.url))
    page.on("requestfailed", lambda request: blocked.update({request.url: request.failure}))
    page.goto(f"{live_hub.url}{page_path}")
    selector = RENDERED[page_path]
    page.wait_for_function(
        f"document.querySelectorAll({selector!r}).length >= {operations}", timeout=60_000
    )
    assert "Unable to render" not in page.inner_text("body")
    page.screenshot(path=str(ARTIFACTS / f"api{page_path.replace('/', '-')}.png"))
    page.close()
    local = (live_hub.url, f"blob:{live_hub.url}")
    assert fetched and all(url.startswith(local) for url in fetched), fetched
    # what the page would fetch elsewhere (ReDoc's logo) the hub's CSP keeps off the network
    elsewhere = {url: why for url, why in blocked.items() if not url.startswith(local)}
    assert all(why and "csp" in why.lower() for why in elsewhere.values()), elsewhere
