"""`/docs` works on a closed network: Swagger UI's assets come from the hub itself."""

from __future__ import annotations

import re

from tests.hub.conftest import Hub


async def test_swagger_ui_is_served_without_any_cdn(hub: Hub) -> None:
    page = await hub.client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources, page.text
    assert all(source.startswith("/docs/assets/") for source in sources), sources
    assert "'/openapi.json'" in page.text or '"/openapi.json"' in page.text
    for source in sources:
        asset = await hub.client.get(source)
        assert asset.status_code == 200, source
        assert asset.content, source
        if source.endswith(".js"):  # the whole UI, not a loader that fetches it elsewhere
            assert len(asset.content) > 100_000 and b"https://" not in asset.content[:2000]
    assert (await hub.client.get("/redoc")).status_code == 404
