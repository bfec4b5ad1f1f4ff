"""Examples in the OpenAPI document: recorded exchanges with a real hub, and problem bodies.

`openapi_examples.json` holds, per operation and status (`METHOD path STATUS`), a
request and the hub's answer recorded from one scenario (`tests/hub/api/openapi_scenario.py`:
the published test vector's signed package submitted, received, answered,
reported), so each example is something the hub accepted or said; a test plays
the scenario again and compares. Problem answers get a body with the stable
code an integrator is most likely to meet on that route.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from apidocs.recorded import add_recorded, load_recorded
from registry.problems import PROBLEM_MEDIA_TYPE, Problem

__all__ = ["EXAMPLES_FILE", "add_examples", "problem_example", "recorded_examples"]

EXAMPLES_FILE = Path(__file__).with_name("openapi_examples.json")

_CODES: dict[int, str] = {
    400: "not_json",
    401: "member_token_missing",
    403: "member_suspended",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    413: "payload_too_large",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "database_unavailable",
}
_BY_PATH: list[tuple[str, dict[int, str]]] = [
    ("/v1/documents/{document_id}/status", {404: "document_not_found", 409: "already_accepted"}),
    ("/v1/documents/{document_id}/edxml", {404: "no_original_edxml"}),
    ("/v1/documents", {404: "document_not_found", 409: "document_id_conflict"}),
    ("/v1/inbox", {404: "delivery_not_found"}),
    ("/v1/admin/deliveries", {404: "delivery_not_found", 409: "delivery_not_failed"}),
    ("/v1/admin/members/{code}/certificates", {409: "duplicate_certificate"}),
    ("/v1/admin/members/{code}", {404: "member_not_found", 409: "invalid_status_transition"}),
    ("/v1/admin/members", {409: "duplicate_member"}),
    ("/v1/admin", {401: "operator_token_missing", 403: "forbidden_role"}),
    ("/v1/eventlog/head", {404: "eventlog_no_head"}),
    ("/v1/eventlog/entries", {404: "eventlog_entry_not_found", 409: "eventlog_entry_unsigned"}),
    ("/v1/eventlog", {401: "operator_token_missing", 403: "forbidden_role"}),
    ("/v1/reports", {401: "operator_token_missing", 403: "forbidden_role"}),
]
_DETAILS: dict[str, str] = {
    "not_json": "The body is not valid JSON.",
    "member_token_missing": "send a bearer token signed with your member key",
    "operator_token_missing": "send an operator token",
    "member_suspended": "000.00.00.H26 is suspended",
    "forbidden_role": "this needs the admin role",
    "validation_error": "The request is not valid.",
    "rate_limited": "over the rate of 000.00.00.H26; retry after 1 s",
    "request_timeout": "the request body stalled",
    "internal_error": "The hub failed unexpectedly; nothing is known to have changed. "
    "Quote the request id when reporting it.",
    "database_unavailable": "The hub's database is unavailable; nothing was changed. Retry later.",
}


@cache
def recorded_examples() -> dict[str, dict[str, Any]]:
    """`METHOD path STATUS[ LABEL]` -> `{"status", "request", "response", "media_type",
    "request_media_type"}` as recorded (the label tells apart another media type)."""
    return load_recorded(EXAMPLES_FILE)


def problem_example(
    path: str, status: int, operator: bool = False, field: str = "code"
) -> dict[str, Any]:
    """A problem body as the hub answers `status` on `path` (`field`: what a 422 names)."""
    code = _CODES.get(status, "http_error")
    if operator and status in (401, 403):
        code = {401: "operator_token_missing", 403: "forbidden_role"}[status]
    for prefix, codes in _BY_PATH:
        if path.startswith(prefix) and status in codes:
            code = codes[status]
            break
    detail = _DETAILS.get(code, f"({code}) see the code")
    errors = [{"field": field, "message": "Input should be a valid value"}]
    return Problem(status, code, detail, errors=errors if status == 422 else None).to_dict()


def add_examples(spec: dict[str, Any]) -> None:
    """Put the recorded examples and a problem body under every operation of `spec`."""
    add_recorded(spec, recorded_examples())
    for path, item in spec.get("paths", {}).items():
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            operator = all(
                "operatorToken" in requirement for requirement in operation.get("security", [{}])
            )
            field = next((p["name"] for p in operation.get("parameters", [])), "body")
            for status, response in operation["responses"].items():
                content = response.get("content", {}).get(PROBLEM_MEDIA_TYPE)
                if content is not None and status.isdigit():
                    example = problem_example(path, int(status), operator, field)
                    content.setdefault("example", example)
