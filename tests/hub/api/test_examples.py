"""The OpenAPI examples are real: each validates against its schema, and the scenario they
were recorded from, played again on a fresh hub, gets the documented answers."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from lxml import etree

from hub.api.examples import recorded_examples
from hub.app import create_app
from hub.protocol import CURSOR_HEADER, DELIVERY_ID_HEADER
from hub.settings import HubSettings
from registry.problems import PROBLEM_MEDIA_TYPE
from signing.certs import load_certificate
from signing.edxml import parse_status, read_edxml, read_hub_export
from signing.edxml.parse import DS
from signing.trust import TrustStore
from tests.hub.api.openapi_scenario import (
    DOCUMENT_ID,
    EDXML_DOCUMENT_ID,
    EDXML_PACKAGE_ID,
    EDXML_PULLED,
    EDXML_SENT_AT,
    PULLED,
    SENDER,
    play,
)
from tests.hub.api.scenario_hub import VECTORS, running_hub
from tests.recorded_examples import (
    assert_examples_validate,
    assert_json_examples,
    assert_replayed,
    assert_xml_examples,
    media_objects,
)


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
        if media_type != PROBLEM_MEDIA_TYPE and "example" not in media
    ]
    assert not missing, missing
    kinds = {
        media_type.split(";")[0]
        for where, media_type, media in media_objects(spec)
        if "example" in media and not where.startswith("POST pathItems/")
    }
    assert {"application/xml", "application/edxml+xml", "text/csv", "text/plain"} <= kinds


def test_every_xml_body_has_a_well_formed_example(spec: dict[str, Any]) -> None:
    """Envelopes, status messages and receipts, sent, answered and pushed (the webhooks)."""
    assert assert_xml_examples(spec) >= 8


def test_the_pull_routes_document_their_edxml_answers(spec: dict[str, Any]) -> None:
    """An edXML member pulling one at a time gets the bare document or status message, its
    delivery or cursor in a header, and 204 when there is nothing."""
    inbox = spec["paths"]["/v1/inbox"]["get"]["responses"]
    assert DELIVERY_ID_HEADER in inbox["200"]["headers"]
    assert "content" not in inbox["204"]
    data = inbox["200"]["content"]["application/xml"]["example"].encode()
    hub = _embedded_certificate(data)  # the recording hub's, issued by the vectors' CA
    hub.verify_directly_issued_by(load_certificate(VECTORS / "ca.crt"))
    document = read_hub_export(data, hub)
    assert document.hub_signature_valid, document.errors
    assert document.package.recipients == [PULLED, EDXML_PULLED]
    assert document.document_id == EDXML_DOCUMENT_ID
    updates = spec["paths"]["/v1/status-updates"]["get"]["responses"]
    assert CURSOR_HEADER in updates["200"]["headers"]
    assert "content" not in updates["204"]
    message = parse_status(updates["200"]["content"]["application/xml"]["example"].encode())
    assert (message.code, message.document.package_id) == ("13", EDXML_PACKAGE_ID)
    pushes = spec["components"]["pathItems"]
    for name, answer in (("memberInbox", inbox), ("memberStatus", updates)):
        body = pushes[name]["post"]["requestBody"]["content"]["application/xml"]
        assert body["example"] == answer["200"]["content"]["application/xml"]["example"]


def _embedded_certificate(data: bytes) -> x509.Certificate:
    """The first certificate in an edXML document's X509Data: the hub's, on an export."""
    root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    found = root.find(f".//{{{DS}}}X509Certificate")
    assert found is not None and found.text is not None
    return x509.load_der_x509_certificate(base64.b64decode("".join(found.text.split())))


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
