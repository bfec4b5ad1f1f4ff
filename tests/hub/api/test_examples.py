"""The OpenAPI examples are real: each validates against its schema, and the scenario they
were recorded from, played again on a fresh hub, gets the documented answers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from hub.api.examples import recorded_examples
from hub.app import create_app
from hub.settings import HubSettings
from registry.problems import PROBLEM_MEDIA_TYPE
from signing.certs import load_certificate
from signing.edxml import parse_status, read_edxml
from signing.trust import TrustStore
from tests.hub.api.openapi_scenario import (
    DOCUMENT_ID,
    EDXML_SENT_AT,
    SENDER,
    VECTORS,
    play,
    running_hub,
)
from tests.recorded_examples import (
    assert_examples_validate,
    assert_json_examples,
    assert_replayed,
    media_objects,
)

UNRECORDED = {"application/edxml+xml", "application/xml"}
"""Media types the webhooks (`pathItems/...`) take that no scenario records: the hub's
pushes to an edXML member's endpoint."""


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    document: dict[str, Any] = create_app(
        HubSettings(data_dir=tmp_path_factory.mktemp("examples"))
    ).openapi()
    return document


def test_every_json_request_and_answer_has_an_example(spec: dict[str, Any]) -> None:
    assert_json_examples(spec, recorded_examples())


def test_every_other_request_and_answer_has_an_example(spec: dict[str, Any]) -> None:
    """XML (envelopes, status messages, receipts, exports), CSV and the metrics too."""
    missing = [
        f"{where} {media_type}"
        for where, media_type, media in media_objects(spec)
        if media_type != PROBLEM_MEDIA_TYPE
        and "example" not in media
        and not (where.startswith("POST pathItems/") and media_type in UNRECORDED)
    ]
    assert not missing, missing
    kinds = {
        media_type.split(";")[0]
        for where, media_type, media in media_objects(spec)
        if "example" in media and not where.startswith("POST pathItems/")
    }
    assert {"application/xml", "application/edxml+xml", "text/csv", "text/plain"} <= kinds


def test_the_xml_examples_are_signed_edxml(spec: dict[str, Any]) -> None:
    """The envelope is the vector agency's, sealed with its key under the vectors' CA."""
    submit = spec["paths"]["/v1/documents"]["post"]
    envelope = submit["requestBody"]["content"]["application/xml"]["example"].encode()
    trust = TrustStore([load_certificate(VECTORS / "ca.crt")])
    document = read_edxml(envelope, trust, received_at=EDXML_SENT_AT + dt.timedelta(minutes=5))
    assert document.package.sender == SENDER
    (seal,) = document.facts
    assert (seal.agency_code, seal.signature_valid, seal.chain_trusted) == (SENDER, True, True)
    answer = recorded_examples()["POST /v1/documents 202 edxml"]["response"]
    assert f"<DocumentId>{document.package.id}</DocumentId>" in answer
    status = spec["paths"]["/v1/documents/{document_id}/status"]["post"]
    message = parse_status(status["requestBody"]["content"]["application/xml"]["example"].encode())
    assert message.document.package_id == document.package.id


def test_every_example_validates_against_its_schema(spec: dict[str, Any]) -> None:
    assert_examples_validate(spec, at_least=2 * len(recorded_examples()))


async def test_the_documented_exchanges_happen_again(tmp_path: Path, database_url: str) -> None:
    documented = recorded_examples()
    async with running_hub(tmp_path, database_url) as (app, client, admin, ca):
        played = await play(client, app, admin, ca, documented)
    assert_replayed(played.exchanges, documented, keep=DOCUMENT_ID)
