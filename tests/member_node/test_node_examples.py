"""The node's OpenAPI examples are real: each validates against its schema, and the
scenario they were recorded from, played again on a fresh hub and nodes, gets the
documented answers (and the hub pushes the documented bodies)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from member_node.app import create_node_app
from member_node.config import NodeConfig
from member_node.examples import recorded_examples
from signing.edxml import parse_status
from signing.edxml.parse import NS, read_document
from tests.hub.api.scenario_hub import Exchange
from tests.member_node.openapi_scenario import (
    DOCUMENT_ID,
    EDXML_RECIPIENT,
    RECIPIENT,
    SENDER,
    network,
    play,
)
from tests.recorded_examples import (
    assert_examples_validate,
    assert_json_examples,
    assert_replayed,
    assert_xml_examples,
)


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    where = tmp_path_factory.mktemp("node-examples")
    config = NodeConfig(code=SENDER, hub_url="http://hub", keys_dir=where, data_dir=where)
    document: dict[str, Any] = create_node_app(config).openapi()
    return document


def test_every_json_request_and_answer_has_an_example(spec: dict[str, Any]) -> None:
    assert_json_examples(spec, recorded_examples())


def test_the_pushes_and_both_sides_of_a_document_are_documented() -> None:
    recorded = recorded_examples()
    pushed = recorded["POST /v1/inbox 200"]["request"]
    assert (pushed["document_id"], pushed["sender"]) == (DOCUMENT_ID, SENDER)
    assert recorded["GET /local/documents/{document_id} 200"]["response"]["direction"] == "in"
    assert recorded["GET /local/documents/{document_id} 200 sent"]["response"]["direction"] == "out"


def test_every_xml_body_has_a_well_formed_example(spec: dict[str, Any]) -> None:
    assert assert_xml_examples(spec) == 2


def test_the_edxml_pushes_are_documented(spec: dict[str, Any]) -> None:
    """What the hub pushed to an edXML member's node: the document, then the recall."""
    for path in ("/v1/inbox", "/v1/status"):
        body = spec["paths"][path]["post"]["requestBody"]["content"]["application/xml"]
        assert body["example"] == recorded_examples()[f"POST {path} 200 edxml"]["request"]
    inbox = spec["paths"]["/v1/inbox"]["post"]["requestBody"]["content"]["application/xml"]
    document = read_document(inbox["example"].encode())
    ids = [node.text for node in document.root.iter(f"{{{NS}}}OrganId")]
    assert ids[:3] == [SENDER, RECIPIENT, EDXML_RECIPIENT]
    status = spec["paths"]["/v1/status"]["post"]["requestBody"]["content"]["application/xml"]
    message = parse_status(status["example"].encode())
    assert (message.code, message.document.package_id) == ("13", DOCUMENT_ID)


def test_every_example_validates_against_its_schema(spec: dict[str, Any]) -> None:
    # every answer recorded, and the requests of the five operations that take a body
    assert_examples_validate(spec, at_least=len(recorded_examples()) + 5)


async def test_the_documented_exchanges_happen_again(tmp_path: Path, database_url: str) -> None:
    exchanges: dict[str, Exchange] = {}
    async with network(tmp_path, exchanges, database_url) as (app, nodes, pushes):
        await play(app, nodes, pushes, exchanges)
    assert_replayed(exchanges, recorded_examples(), keep=DOCUMENT_ID)
