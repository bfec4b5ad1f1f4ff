"""A docs page and its assets, fetched from the app itself (the hub's and the node's tests)."""

from __future__ import annotations

import re

import httpx

__all__ = ["assert_served_offline"]


async def assert_served_offline(client: httpx.AsyncClient, page_path: str, bundle: str) -> None:
    """The page and every asset it names come from `client`'s app; none points elsewhere."""
    page = await client.get(page_path)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert not re.search(r"(?:https?:)?//", page.text), page.text  # no URL off this host
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert any(source.endswith(bundle) for source in sources), page.text
    assert "/openapi.json" in page.text
    for source in sources:
        assert source.startswith("/"), source
        asset = await client.get(source)
        assert asset.status_code == 200, source
        assert asset.content, source
        if source.endswith(".js"):  # the whole UI, not a loader that fetches it elsewhere
            assert len(asset.content) > 500_000, source
            assert not re.search(rb"jsdelivr|unpkg\.com|cdnjs|googleapis", asset.content), source
    spec = await client.get("/openapi.json")
    assert spec.status_code == 200 and spec.json()["paths"]
