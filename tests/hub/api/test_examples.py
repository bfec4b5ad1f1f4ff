"""The OpenAPI examples are real: each validates against its schema, and the scenario they
were recorded from, played again on a fresh hub, gets the documented answers."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_schema_validator import OAS31Validator
from openapi_schema_validator import validate as validate_schema

from hub.api.examples import recorded_examples
from hub.app import create_app
from hub.settings import HubSettings
from registry.operators import create_operator
from registry.problems import PROBLEM_MEDIA_TYPE
from signing.certs import load_certificate
from signing.edxml import parse_status, read_edxml
from signing.trust import TrustStore
from tests.hub.api.openapi_scenario import (
    DOCUMENT_ID,
    EDXML_SENT_AT,
    HUB_ID,
    SENDER,
    VECTORS,
    hub_pki,
    play,
    vector_ca,
)

METHODS = {"get", "post", "put", "patch", "delete"}
VOLATILE = re.compile(
    r"^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"  # a fresh id
    r"|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?"  # a time
    r"|[0-9a-f]{20,128}"  # a hash, a fingerprint or a serial number of a fresh key
    r"|[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+"  # a JWS
    r"|-----BEGIN [A-Z ]+-----[\s\S]*"  # a PEM of a fresh certificate
    r"|\d+ MiB free in .*)$"  # the disk the run had
)
TIMINGS = {"latency_seconds"}
"""Figures that measure how long the run took."""
FRESH_XML = re.compile(r"<(ds:(?:SignatureValue|DigestValue|X509Certificate))>[^<]*</\1>")
"""What the hub's own XML signature holds: new at every signing, under a new hub certificate."""
TEXT_NODE = re.compile(r">([^<]+)<")
UNRECORDED = {"application/edxml+xml", "application/xml"}
"""Media types the webhooks (`pathItems/...`) take that no scenario records: the hub's
pushes to an edXML member's endpoint."""


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    document: dict[str, Any] = create_app(
        HubSettings(data_dir=tmp_path_factory.mktemp("examples"))
    ).openapi()
    return document


def _media(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(where, media type, media object) of every request and response in the document."""
    items = [(path, item) for path, item in spec["paths"].items()]
    items += [(f"pathItems/{name}", item) for name, item in spec["components"]["pathItems"].items()]
    for path, item in items:
        for method, operation in item.items():
            if method not in METHODS:
                continue
            where = f"{method.upper()} {path}"
            for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
                yield f"{where} request", media_type, media
            for status, response in operation["responses"].items():
                for media_type, media in response.get("content", {}).items():
                    yield f"{where} {status}", media_type, media


def _validates(instance: Any, schema: dict[str, Any], spec: dict[str, Any]) -> None:
    validate_schema(instance, {**schema, "components": spec["components"]}, cls=OAS31Validator)


def test_every_json_request_and_answer_has_an_example(spec: dict[str, Any]) -> None:
    missing = [
        f"{where} {media_type}"
        for where, media_type, media in _media(spec)
        if media_type.endswith("json") and "example" not in media
    ]
    assert not missing, missing
    documented = {
        f"{method.upper()} {path} {status}"
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        for status in operation["responses"]
    }
    recorded = {" ".join(key.split(" ")[:3]) for key in recorded_examples()}
    assert recorded <= documented, recorded - documented
    unplaced = [key for key, found in recorded_examples().items() if not _placed(spec, key, found)]
    assert not unplaced, unplaced


def _placed(spec: dict[str, Any], key: str, found: dict[str, Any]) -> bool:
    """Whether the spec shows the recorded exchange `key` as its example, request and answer."""
    method, path, status = key.split(" ")[:3]
    operation = spec["paths"][path][method.lower()]
    media = {
        kind.split(";")[0]: value
        for kind, value in operation["responses"][status].get("content", {}).items()
    }
    if media.get(found["media_type"], {}).get("example") is None:
        return False
    if found["request"] is None:
        return True
    request = operation["requestBody"]["content"].get(found["request_media_type"], {})
    return request.get("example") is not None


def test_every_other_request_and_answer_has_an_example(spec: dict[str, Any]) -> None:
    """XML (envelopes, status messages, receipts, exports), CSV and the metrics too."""
    missing = [
        f"{where} {media_type}"
        for where, media_type, media in _media(spec)
        if media_type != PROBLEM_MEDIA_TYPE
        and "example" not in media
        and not (where.startswith("POST pathItems/") and media_type in UNRECORDED)
    ]
    assert not missing, missing
    kinds = {
        media_type.split(";")[0]
        for where, media_type, media in _media(spec)
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
    checked = 0
    for where, media_type, media in _media(spec):
        if "example" in media and "schema" in media:
            try:
                _validates(media["example"], media["schema"], spec)
            except Exception as exc:
                raise AssertionError(f"{where} {media_type}: {exc}") from exc
            checked += 1
    assert checked >= 2 * len(recorded_examples())


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: "<timing>" if key in TIMINGS else _masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item) for item in value]
    if isinstance(value, str) and value != DOCUMENT_ID and VOLATILE.match(value):
        return "<volatile>"
    return value


async def test_the_documented_exchanges_happen_again(tmp_path: Path, database_url: str) -> None:
    ca = vector_ca(tmp_path / "ca")
    settings = HubSettings(
        data_dir=tmp_path,
        database_url=database_url,
        pki_dir=hub_pki(ca, tmp_path / "pki"),
        hub_id=HUB_ID,
        delivery_worker=False,
        eventlog_sealer=False,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with app.state.hub.sessions.begin() as session:
            _, token = await create_operator(session, "admin-1", "admin")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            documented = recorded_examples()
            admin = {"Authorization": f"Bearer {token}"}
            played = await play(client, app, admin, ca, documented)
    assert set(played.exchanges) == set(documented)
    for key, exchange in played.exchanges.items():
        example = documented[key]
        assert exchange.status == example["status"], key
        assert _masked(exchange.request) == _masked(example["request"]), key
        assert exchange.media_type == example["media_type"], key
        assert exchange.request_media_type == example["request_media_type"], key
        got, expected = exchange.response, example["response"]
        if isinstance(got, str) and isinstance(expected, str):
            got, expected = _text(got, exchange.media_type), _text(expected, exchange.media_type)
        differences = list(_differences(_masked(got), _masked(expected)))
        assert not differences, f"{key}: {differences}"


def _differences(got: Any, documented: Any, where: str = "") -> Iterator[str]:
    if isinstance(got, dict) and isinstance(documented, dict):
        for key in sorted(set(got) | set(documented)):
            yield from _differences(got.get(key), documented.get(key), f"{where}.{key}")
    elif isinstance(got, list) and isinstance(documented, list) and len(got) == len(documented):
        for index, (a, b) in enumerate(zip(got, documented, strict=True)):
            yield from _differences(a, b, f"{where}[{index}]")
    elif got != documented:
        yield f"{where}: {got!r} != {documented!r}"


def _text(body: str, media_type: str) -> Any:
    """A text answer as comparable parts: XML without the hub's fresh signature values,
    CSV as rows of cells (timings masked), the metrics as the families they declare (their
    samples, and the `_created` series of labelled ones, follow whatever else this process
    did)."""
    if media_type == "application/xml":
        body = FRESH_XML.sub(r"<\1>fresh</\1>", body)
        return TEXT_NODE.sub(lambda m: ">fresh<" if VOLATILE.match(m[1]) else m[0], body)
    if media_type == "text/csv":
        rows = list(csv.reader(io.StringIO(body)))
        timed = {i for i, name in enumerate(rows[0]) if name.startswith("latency_")}
        return [
            ["<timing>" if i in timed and cell else cell for i, cell in enumerate(row)]
            for row in rows
        ]
    if media_type == "text/plain":
        return [
            line
            for line in body.splitlines()
            if line.startswith("# ") and not line.split(" ")[2].endswith("_created")
        ]
    return body
