"""The node's own RFC 9457 problem answers (it may not import the hub's or registry's).

Every error a node endpoint returns is `application/problem+json` with a
stable `code`, the same shape the hub uses, so one client handles both.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://lienthong.gov.vn/problems/"


class FieldError(BaseModel):
    field: str = Field(examples=["header.subject"])
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, with the stable `code` to branch on."""

    type: str = Field(examples=[PROBLEM_TYPE_BASE + "document_not_found"])
    title: str = Field(examples=["Not Found"])
    status: int = Field(examples=[404])
    detail: str
    code: str = Field(examples=["document_not_found"])
    errors: list[FieldError] | None = Field(
        default=None, description="For validation errors: each offending field."
    )


_DESCRIPTIONS = {
    400: "The request cannot be read.",
    401: "The bearer token is missing or refused.",
    404: "No such document at this node.",
    409: "The document's state does not allow this.",
    422: "The request is not valid (`validation_error`, with `errors`) or the hub refused it.",
    502: "The hub could not be reached or failed.",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses, each an `application/problem+json`."""
    return {
        status: {
            "description": _DESCRIPTIONS.get(status, HTTPStatus(status).phrase),
            "model": Problem,
        }
        for status in statuses
    }


def problem_openapi(app: FastAPI, *, hub_tag: str) -> None:
    """Make `app.openapi()` say what the node answers: every error is
    `application/problem+json` with the `Problem` schema (FastAPI would write
    `application/json`), and the operations tagged `hub_tag` take the hub's bearer JWT."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        components = schema.setdefault("components", {})
        components.setdefault("securitySchemes", {})["hubBearer"] = {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "The hub's JWT: iss the hub id, aud this agency's code, signed by "
            "the hub certificate of the directory.",
        }
        problem_ref = {"$ref": "#/components/schemas/Problem"}
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                for status, answer in operation.get("responses", {}).items():
                    if status.isdigit() and int(status) >= 400:
                        answer["content"] = {PROBLEM_MEDIA_TYPE: {"schema": problem_ref}}
                if hub_tag in operation.get("tags", []):
                    operation["security"] = [{"hubBearer": []}]
        schemas = components.setdefault("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


class NodeProblem(Exception):
    """An HTTP error with a stable code, raised anywhere below a node route."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors


def problem_response(
    status: int, code: str, detail: str, errors: list[dict[str, Any]] | None = None
) -> JSONResponse:
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors is not None:
        body["errors"] = errors
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, NodeProblem)
    return problem_response(exc.status, exc.code, exc.detail, exc.errors)


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        if loc and loc[0] in {"body", "query", "path", "header"}:
            loc = loc[1:] or loc
        errors.append({"field": ".".join(loc), "message": str(err.get("msg", "invalid"))})
    return problem_response(422, "validation_error", "The request is not valid.", errors)


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else "error"
    if exc.status_code == 404:
        detail = f"No resource at {request.url.path}."
    return problem_response(exc.status_code, code, detail)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(NodeProblem, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
