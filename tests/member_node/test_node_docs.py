"""The node's API docs: a valid OpenAPI document that documents what each operation can
answer, in Swagger UI and ReDoc served by the node."""

from __future__ import annotations

from pathlib import Path

import pytest
from openapi_spec_validator import validate

from member_node.app import create_node_app
from member_node.config import NodeConfig
from tests.docs_pages import assert_served_offline
from tests.member_node.conftest import SENDER, StartNode
from tests.openapi_checks import expected_problems


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


def test_every_node_operation_documents_what_its_code_can_answer(tmp_path: Path) -> None:
    app = create_node_app(
        NodeConfig(code=SENDER, hub_url="http://hub", keys_dir=tmp_path, data_dir=tmp_path)
    )
    spec = app.openapi()
    # the node reads a body that is not JSON as invalid input (422) and bounds no stall
    expected = expected_problems(app, spec, body_timeout=False, not_json=False)
    assert {(m, p) for m, p in expected} == {
        (m, p) for p, item in spec["paths"].items() for m in item
    }
    assert set().union(*expected.values()) >= {401, 404, 422}
    missing = {
        f"{method.upper()} {path}": codes
        - {int(s) for s in spec["paths"][path][method]["responses"] if s.isdigit()}
        for (method, path), codes in expected.items()
    }
    assert not {where: codes for where, codes in missing.items() if codes}, missing
