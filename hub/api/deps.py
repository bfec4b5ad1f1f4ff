"""What the routes share: the problem+json body and the OpenAPI document's completion.

Routes declare what is theirs (`member_only(404)`, `operators_only("admin", 409)`,
`problems(413)`); `complete_openapi` adds what the shared handlers answer on
every route of a kind, so the document says what the hub does:

- 401 on every operation with a `security` requirement;
- 422 (`validation_error`) on every operation with parameters or a body, as
  problem+json (FastAPI's default documents a plain-JSON `HTTPValidationError`
  that the hub never sends);
- 400 (`not_json`) on every operation with a JSON body;
- 429 (`rate_limited`) on every operation a member may call;
- 408 (`request_timeout`) on every operation with a body;
- `EVERY_ROUTE`: what any route may answer whatever its input.

Then the recorded examples (`hub.api.examples`) and the pushes to members'
endpoints (`hub.api.push_callbacks`) are added.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from hub.api.examples import add_examples
from hub.api.push_callbacks import add_push_callbacks
from registry.member_auth import MEMBER_SCHEME, MEMBER_SECURITY_SCHEME
from registry.operator_auth import OPERATOR_SCHEME, OPERATOR_SECURITY_SCHEME
from registry.problems import PROBLEM_MEDIA_TYPE, ProblemBody, problems

__all__ = ["EVERY_ROUTE", "ProblemBody", "complete_openapi", "install_openapi", "problems"]

EVERY_ROUTE: tuple[int, ...] = (500, 503)
"""Problem statuses any operation may answer whatever its input (e.g. 503 while the database
is unreachable, 429 over a rate limit): add a status here when a shared handler starts
answering it, and every operation documents it."""

_HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def complete_openapi(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document with the shared answers and the security schemes added."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    spec = FastAPI.openapi(app)
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["ProblemBody"] = ProblemBody.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    components["securitySchemes"] = {
        MEMBER_SCHEME: MEMBER_SECURITY_SCHEME,
        OPERATOR_SCHEME: OPERATOR_SECURITY_SCHEME,
    }
    for path_item in spec.get("paths", {}).values():
        for method, operation in path_item.items():
            if method in _HTTP_METHODS:
                _complete_operation(operation)
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    add_examples(spec)
    add_push_callbacks(spec)
    app.openapi_schema = spec
    return spec


def _complete_operation(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    shared: list[int] = list(EVERY_ROUTE)
    security = operation.get("security") or []
    if security:
        shared.append(401)
    if any(MEMBER_SCHEME in requirement for requirement in security):
        shared.append(429)
    if operation.get("parameters") or "requestBody" in operation:
        shared.append(422)
        if PROBLEM_MEDIA_TYPE not in responses.get("422", {}).get("content", {}):
            responses.pop("422", None)  # FastAPI's HTTPValidationError, never sent
    body = operation.get("requestBody", {}).get("content", {})
    if any(media_type.endswith("json") for media_type in body):
        shared.append(400)
    if body:
        shared.append(408)
    for status, response in problems(*shared).items():
        responses.setdefault(str(status), response)


def install_openapi(app: FastAPI) -> None:
    """Serve `complete_openapi(app)` at `/openapi.json`."""

    def openapi() -> dict[str, Any]:
        return complete_openapi(app)

    app.openapi = openapi  # type: ignore[method-assign]
