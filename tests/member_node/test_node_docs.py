"""The node's API docs: a valid OpenAPI document, in Swagger UI and ReDoc served by the node."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

from tests.docs_pages import assert_served_offline
from tests.member_node.conftest import SENDER, StartNode


@pytest.mark.parametrize(
    ("page", "bundle"), [("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")]
)
async def test_the_node_serves_its_docs_without_any_cdn(
    start_node: StartNode, page: str, bundle: str
) -> None:
    node = await start_node(SENDER)
    await assert_served_offline(node.http, page, bundle)


async def test_the_node_openapi_document_is_valid(start_node: StartNode) -> None:
    node = await start_node(SENDER)
    validate((await node.http.get("/openapi.json")).json())
