"""The OpenAPI examples are real: each validates against its schema, and the scenario they
were recorded from, played again on a fresh hub, gets the documented answers."""

from __future__ import annotations

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
from tests.hub.api.openapi_scenario import DOCUMENT_ID, HUB_ID, hub_pki, play, vector_ca

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
    assert set(recorded_examples()) <= documented, set(recorded_examples()) - documented


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
            played = await play(client, app, {"Authorization": f"Bearer {token}"}, ca)
    documented = recorded_examples()
    assert set(played.exchanges) == set(documented)
    for key, exchange in played.exchanges.items():
        example = documented[key]
        assert exchange.status == example["status"], key
        assert _masked(exchange.request) == _masked(example["request"]), key
        differences = list(_differences(_masked(exchange.response), _masked(example["response"])))
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
