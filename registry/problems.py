"""RFC 9457 problem details: the one error shape of every HTTP answer.

Every package raises `Problem` for an HTTP error; `install_problem_handlers`
renders it, FastAPI's validation errors and unknown routes as
`application/problem+json` with a stable `code`, so clients branch on codes,
never on English sentences.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse
from starlette.routing import Match

from registry.codes import AGENCY_CODE_PATTERN, AgencyCode, InvalidAgencyCode
from registry.params import ENDPOINT_PATTERN

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://lienthong.gov.vn/problems/"


class Problem(Exception):
    """An HTTP error with a stable code; raise it anywhere below a route."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        errors: Sequence[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = list(errors) if errors is not None else None
        self.headers = headers

    def to_dict(self) -> dict[str, Any]:
        """The problem+json body."""
        body: dict[str, Any] = {
            "type": PROBLEM_TYPE_BASE + self.code,
            "title": _title(self.status),
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if self.errors is not None:
            body["errors"] = self.errors
        return body


class ProblemBody(BaseModel):
    """An RFC 9457 problem: branch on `code`, show `detail` to humans."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[dict[str, Any]] | None = None
    """For invalid input: `{"field": ..., "message": ...}` per offending field."""


PROBLEM_SCHEMA_REF = "#/components/schemas/ProblemBody"

PROBLEM_DESCRIPTIONS = {
    400: "The body is not JSON (code `not_json`)",
    401: "No valid credentials: send a bearer token (see the security schemes)",
    403: "Authenticated, but not allowed (a suspended member, a role short of the one needed)",
    404: "No such resource for this caller",
    405: "The method is not allowed here; `Allow` lists those that are",
    409: "Conflicts with the current state",
    413: "The body is larger than the hub accepts",
    422: "The input is not valid; `errors` names the offending fields",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the problem statuses a route can answer (problem+json only)."""
    return {
        status: {
            "description": PROBLEM_DESCRIPTIONS.get(status, _title(status)),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_SCHEMA_REF}}},
        }
        for status in statuses
    }


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_response(problem: Problem) -> JSONResponse:
    """Render a problem as a response (also usable outside exception handlers)."""
    return JSONResponse(
        problem.to_dict(),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=problem.headers,
    )


def _field_of(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:] or parts
    return ".".join(parts)


ProblemHook = Callable[[Request, Problem, dict[str, Any]], None]
"""Sees each problem and its body before it is sent; may add members (e.g. `request_id`)."""


def add_problem_hook(app: FastAPI, hook: ProblemHook) -> None:
    """Run `hook` on every problem `app` renders (logging, metrics, the request id)."""
    if not hasattr(app.state, "problem_hooks"):
        app.state.problem_hooks = []
    app.state.problem_hooks.append(hook)


def _respond(request: Request, problem: Problem) -> JSONResponse:
    hooks: list[ProblemHook] = getattr(request.app.state, "problem_hooks", [])
    if not hooks:
        return problem_response(problem)
    body = problem.to_dict()
    for hook in hooks:
        hook(request, problem, body)
    return JSONResponse(
        body, status_code=problem.status, media_type=PROBLEM_MEDIA_TYPE, headers=problem.headers
    )


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return _respond(request, exc)


def _not_json(detail: str) -> Problem:
    return Problem(400, "not_json", detail)


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    if any(err.get("type") == "json_invalid" for err in exc.errors()):
        return _respond(request, _not_json("The body is not valid JSON."))
    raw = exc.errors()
    errors = [{"field": _field_of(err.get("loc", ())), "message": _message(err)} for err in raw]
    codes = {_PATTERN_CODES.get(_pattern_of(err) or "") for err in raw}
    if len(codes) == 1 and (code := codes.pop()) is not None:
        problem = Problem(422, code, errors[0]["message"], errors=errors)
    else:
        problem = Problem(422, "validation_error", "The request is not valid.", errors=errors)
    return _respond(request, problem)


_PATTERN_CODES = {AGENCY_CODE_PATTERN: "invalid_agency_code", ENDPOINT_PATTERN: "invalid_endpoint"}
"""The stable code of a field whose schema pattern fails, as the registry's own check names it."""


def _pattern_of(err: Any) -> str | None:
    if err.get("type") != "string_pattern_mismatch":
        return None
    pattern = (err.get("ctx") or {}).get("pattern")
    return pattern if isinstance(pattern, str) else None


def _is_agency_code_error(err: Any) -> bool:
    return _pattern_of(err) == AGENCY_CODE_PATTERN


def _message(err: Any) -> str:
    """Pydantic's message; for an agency code, the strict parser's reason instead."""
    if _is_agency_code_error(err):
        try:
            AgencyCode.parse(err.get("input"))
        except InvalidAgencyCode as exc:
            return str(exc)
    return str(err.get("msg", "invalid"))


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app answers at this request's path.

    Starlette's 405 names the methods of the first route matching the path
    only; a path served by several routes (`GET` and `PATCH` of one member)
    needs them all in `Allow`. Each method is asked of the router's routes
    (`matches`, which also sees inside included routers).
    """
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else _title(exc.status_code)
    headers = dict(exc.headers) if exc.headers else None
    if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
        return _respond(request, _not_json("The body is not UTF-8 JSON."))
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"No resource at {request.url.path}."
    elif exc.status_code == 405:
        if detail == "Method Not Allowed":
            detail = f"{request.method} is not allowed on {request.url.path}."
        headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
    return _respond(request, Problem(exc.status_code, code, detail, headers=headers))


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error of `app` an RFC 9457 problem."""
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
