"""The OpenAPI document tells the truth about every operation (walked, not sampled)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from openapi_spec_validator import validate

from hub.app import create_app
from hub.settings import HubSettings
from registry.codes import AGENCY_CODE_PATTERN
from registry.db import INT64_MAX
from tests.openapi_checks import expected_problems

PROBLEM = "application/problem+json"
PUBLIC = {("get", "/healthz"), ("get", "/readyz"), ("get", "/metrics")}
"""Operations without credentials: probes and the Prometheus scrape."""
NOT_PROBLEMS = {("get", "/readyz", "503")}
"""Error statuses whose body is not a problem: readiness reports its checks."""
AGENCY_CODE_NAMES = {"code", "parent", "member", "audience", "recipient", "sender"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    data_dir: Path = tmp_path_factory.mktemp("openapi")
    return create_app(HubSettings(data_dir=data_dir))


@pytest.fixture(scope="module")
def spec(app: FastAPI) -> dict[str, Any]:
    document: dict[str, Any] = app.openapi()
    return document


def test_the_document_is_valid_openapi(spec: dict[str, Any]) -> None:
    validate(spec)  # OpenAPI 3.1, its JSON Schemas, every $ref resolved


def test_every_operation_documents_what_its_code_can_answer(
    app: FastAPI, spec: dict[str, Any]
) -> None:
    expected = expected_problems(app, spec)
    assert set(expected) == {(m, p) for m, p, _ in _operations(spec)}
    # the derivation found every kind of check somewhere (it cannot pass by finding none)
    assert set().union(*expected.values()) >= {400, 401, 403, 404, 408, 413, 422, 429}
    missing = {
        f"{method.upper()} {path}": sorted(codes - {int(s) for s in _responses(spec, method, path)})
        for (method, path), codes in expected.items()
    }
    assert not {where: codes for where, codes in missing.items() if codes}, missing


def _responses(spec: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    responses: dict[str, Any] = spec["paths"][path][method]["responses"]
    return responses


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def _schema_of(parameter: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = parameter["schema"]
    variants = [s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"]
    assert len(variants) == 1, parameter
    return variants[0]


def test_every_operation_documents_its_security_and_problems(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert schemes["memberToken"] == {**schemes["memberToken"], "type": "http", "scheme": "bearer"}
    assert schemes["operatorToken"]["scheme"] == "bearer"
    assert "ProblemBody" in spec["components"]["schemas"]
    for method, path, operation in _operations(spec):
        where = f"{method.upper()} {path}"
        responses = operation["responses"]
        security = operation.get("security")
        if (method, path) in PUBLIC:
            assert not security, where
        else:
            assert security, f"{where} names no security scheme"
            assert {name for req in security for name in req} <= set(schemes), where
            assert "401" in responses, f"{where} does not document 401"
        if operation.get("parameters") or "requestBody" in operation:
            assert "422" in responses, f"{where} does not document 422"
        if "requestBody" in operation:
            assert "400" in responses, f"{where} does not document 400 (a body that is not JSON)"
        for status, response in responses.items():
            if status[0] not in "45" or (method, path, status) in NOT_PROBLEMS:
                continue
            assert set(response.get("content", {})) == {PROBLEM}, f"{where} {status}"
            schema = response["content"][PROBLEM]["schema"]
            assert schema == {"$ref": "#/components/schemas/ProblemBody"}, f"{where} {status}"


def test_every_success_has_a_schema(spec: dict[str, Any]) -> None:
    for method, path, operation in _operations(spec):
        for status, response in operation["responses"].items():
            if status[0] != "2":
                continue
            for media_type, content in response.get("content", {}).items():
                assert content.get("schema"), f"{method.upper()} {path} {status} {media_type}"


def test_inputs_are_bounded(spec: dict[str, Any]) -> None:
    """Integers fit the databases; agency codes carry the QCVN 102 pattern; dates are dates."""
    for method, path, operation in _operations(spec):
        for parameter in operation.get("parameters", []):
            schema = _schema_of(parameter)
            where = f"{method.upper()} {path} {parameter['name']}"
            if schema.get("type") == "integer":
                assert 0 <= schema.get("minimum", -1) <= schema.get("maximum", INT64_MAX + 1)
                assert schema["maximum"] <= INT64_MAX, where
            if parameter["name"] in AGENCY_CODE_NAMES:
                assert schema.get("pattern") == AGENCY_CODE_PATTERN, where
    member = spec["components"]["schemas"]["MemberCreate"]["properties"]
    assert member["code"]["pattern"] == AGENCY_CODE_PATTERN
    assert _schema_of({"schema": member["parent"]})["pattern"] == AGENCY_CODE_PATTERN


INTERNAL = ("Depends", "FastAPI", "thread hop", "TODO", "XXX", "FIXME", "hack")
"""Words of the code's inside, not of an integrator's reference."""


def test_every_operation_is_described_for_integrators(spec: dict[str, Any]) -> None:
    for method, path, operation in _operations(spec):
        where = f"{method.upper()} {path}"
        summary = operation.get("summary", "")
        # FastAPI's own summary is the function's name in Title Case ("Add Cert")
        assert summary and summary != summary.title(), (where, summary)
        description = operation.get("description", "")
        assert description, f"{where} has no description"
        assert not [word for word in INTERNAL if word in description], (where, description)
