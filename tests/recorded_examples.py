"""Checks of recorded OpenAPI examples, shared by the hub's document and the member node's.

Both services record their examples from a real scenario (`apidocs.recorded`); these
check that the examples are where they belong, validate against their schemas, and that
playing the scenario again gets the documented answers, fresh ids, times, keys and
signatures aside.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import Any

from lxml import etree
from openapi_schema_validator import OAS31Validator
from openapi_schema_validator import validate as validate_schema

__all__ = [
    "assert_examples_validate",
    "assert_json_examples",
    "assert_replayed",
    "assert_same_xml",
    "assert_xml_examples",
    "is_xml",
    "media_objects",
]

METHODS = {"get", "post", "put", "patch", "delete"}
VOLATILE = re.compile(
    r"^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"  # a fresh id
    r"|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?"  # a time
    r"|[0-9a-f]{20,128}"  # a hash, a fingerprint or a serial number of a fresh key
    r"|[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+"  # a JWS
    r"|[A-Za-z0-9_-]{40,}"  # a part of a detached JWS (its protected header, its signature)
    r"|-----BEGIN [A-Z ]+-----[\s\S]*"  # a PEM of a fresh certificate
    r"|\d+ MiB free in .*)$"  # the disk the run had
)
TIMINGS = {"latency_seconds"}
"""Figures that measure how long the run took."""
FRESH_XML = re.compile(r"<(ds:(?:SignatureValue|DigestValue|X509Certificate))>[^<]*</\1>")
"""What the hub's own XML signature holds: new at every signing, under a new hub certificate."""
TEXT_NODE = re.compile(r">([^<]+)<")
SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
"""No entities, no DTD, no network: how the hub reads XML (`signing.edxml.parse`)."""


def media_objects(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(where, media type, media object) of every request and response in the document."""
    items = [(path, item) for path, item in spec["paths"].items()]
    items += [
        (f"pathItems/{name}", item)
        for name, item in spec["components"].get("pathItems", {}).items()
    ]
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


def validates(instance: Any, schema: dict[str, Any], spec: dict[str, Any]) -> None:
    validate_schema(instance, {**schema, "components": spec["components"]}, cls=OAS31Validator)


def assert_json_examples(spec: dict[str, Any], recorded: dict[str, dict[str, Any]]) -> None:
    """Every JSON request and answer has an example; every recorded one is in place."""
    missing = [
        f"{where} {media_type}"
        for where, media_type, media in media_objects(spec)
        if media_type.endswith("json") and "example" not in media
    ]
    assert not missing, missing
    documented = {
        f"{method.upper()} {path} {status}"
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        for status in operation["responses"]
    }
    keys = {" ".join(key.split(" ")[:3]) for key in recorded}
    assert keys <= documented, keys - documented
    unplaced = [key for key, found in recorded.items() if not _placed(spec, key, found)]
    assert not unplaced, unplaced


def _placed(spec: dict[str, Any], key: str, found: dict[str, Any]) -> bool:
    """Whether the spec shows the recorded exchange `key` as its example, request and answer."""
    method, path, status = key.split(" ")[:3]
    operation = spec["paths"][path][method.lower()]
    if found["response"] is None:  # no body (`204`): the status is declared, that is all
        return status in operation["responses"]
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


def is_xml(media_type: str) -> bool:
    """`application/xml`, `text/xml` and the `+xml` types (`application/edxml+xml`)."""
    kind = media_type.split(";")[0].strip()
    return kind in ("application/xml", "text/xml") or kind.endswith("+xml")


def assert_xml_examples(spec: dict[str, Any]) -> int:
    """Every XML request and answer (the webhooks' too) has an example, a well-formed XML
    document read safely; the number of them."""
    missing, broken, found = [], [], 0
    for where, media_type, media in media_objects(spec):
        if not is_xml(media_type):
            continue
        found += 1
        if not isinstance(media.get("example"), str):
            missing.append(f"{where} {media_type}")
            continue
        try:
            etree.fromstring(media["example"].encode(), SAFE_XML)
        except etree.XMLSyntaxError as exc:
            broken.append(f"{where} {media_type}: {exc}")
    assert not missing, f"XML without an example: {missing}"
    assert not broken, broken
    return found


def assert_examples_validate(spec: dict[str, Any], at_least: int) -> None:
    """Each example validates against the schema beside it (and there are `at_least`)."""
    checked = 0
    for where, media_type, media in media_objects(spec):
        if "example" in media and "schema" in media:
            try:
                validates(media["example"], media["schema"], spec)
            except Exception as exc:
                raise AssertionError(f"{where} {media_type}: {exc}") from exc
            checked += 1
    assert checked >= at_least


def assert_replayed(
    played: dict[str, Any], documented: dict[str, dict[str, Any]], keep: str
) -> None:
    """The exchanges played again (`Exchange`s) are the documented ones; `keep` is an id
    the scenario fixes, compared as it is."""
    assert set(played) == set(documented)
    for key, exchange in played.items():
        example = documented[key]
        assert exchange.status == example["status"], key
        sent, shown = exchange.request, example["request"]
        if isinstance(sent, str) and isinstance(shown, str):
            kind = exchange.request_media_type or ""
            sent, shown = _text(sent, kind), _text(shown, kind)
        asked = list(_differences(_masked(sent, keep), _masked(shown, keep)))
        assert not asked, f"{key} request: {asked}"
        assert exchange.media_type == example["media_type"], key
        assert exchange.request_media_type == example["request_media_type"], key
        got, expected = exchange.response, example["response"]
        if isinstance(got, str) and isinstance(expected, str):
            got, expected = _text(got, exchange.media_type), _text(expected, exchange.media_type)
        differences = list(_differences(_masked(got, keep), _masked(expected, keep)))
        assert not differences, f"{key}: {differences}"


def assert_same_xml(got: str, documented: str) -> None:
    """Two XML documents alike, element for element and namespace for namespace, but for
    what is new at every run: signature values, certificates, ids, times."""
    xml = "application/xml"
    assert _text(got, xml) == _text(documented, xml), f"{got}\n!=\n{documented}"


def _masked(value: Any, keep: str) -> Any:
    if isinstance(value, dict):
        return {
            key: "<timing>" if key in TIMINGS else _masked(item, keep)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_masked(item, keep) for item in value]
    if isinstance(value, str) and value != keep and VOLATILE.match(value):
        return "<volatile>"
    return value


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
    if is_xml(media_type):
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
