"""`/docs` and `/redoc` work on a closed network: every asset comes from the hub itself."""

from __future__ import annotations

import pytest

from tests.docs_pages import assert_served_offline
from tests.hub.conftest import Hub

PAGES = {"/docs": "swagger-ui-bundle.js", "/redoc": "redoc.standalone.js"}


@pytest.mark.parametrize(("page", "bundle"), PAGES.items())
async def test_the_api_docs_are_served_without_any_cdn(hub: Hub, page: str, bundle: str) -> None:
    await assert_served_offline(hub.client, page, bundle)
