"""The app's error handlers: validation errors, unknown routes and anything unforeseen
become problem+json answers, each with its stable code.

Installed by `registry.problems.install_problem_handlers`; the translations
live here so the `Problem` type stays a small module every package imports.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from registry.codes import AGENCY_CODE_PATTERN, AgencyCode, InvalidAgencyCode
from registry.outages import internal_error, problem_for
from registry.params import ENDPOINT_PATTERN
from registry.problems import Problem, respond, status_title

__all__ = ["ProblemMiddleware", "allowed_methods", "install"]


def _field_of(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:] or parts
    return ".".join(parts)


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return respond(request, exc)


def _not_json(detail: str) -> Problem:
    return Problem(400, "not_json", detail)


async def _on_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if any(err.get("type") == "json_invalid" for err in exc.errors()):
        return respond(request, _not_json("The body is not valid JSON."))
    raw = exc.errors()
    errors = [{"field": _field_of(err.get("loc", ())), "message": _message(err)} for err in raw]
    codes = {_PATTERN_CODES.get(_pattern_of(err) or "") for err in raw}
    if len(codes) == 1 and (code := codes.pop()) is not None:
        problem = Problem(422, code, errors[0]["message"], errors=errors)
    else:
        problem = Problem(422, "validation_error", "The request is not valid.", errors=errors)
    return respond(request, problem)


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


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else status_title(exc.status_code)
    headers = dict(exc.headers) if exc.headers else None
    if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
        return respond(request, _not_json("The body is not UTF-8 JSON."))
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"No resource at {request.url.path}."
    elif exc.status_code == 405:
        if detail == "Method Not Allowed":
            detail = f"{request.method} is not allowed on {request.url.path}."
        headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
    return respond(request, Problem(exc.status_code, code, detail, headers=headers))


class ProblemMiddleware:
    """The last line: any exception a route lets through becomes a problem+json answer.

    Starlette's outermost `ServerErrorMiddleware` answers an unhandled exception
    with a plain-text 500 and then re-raises it; uvicorn, seeing an exception
    after the response started, closes the socket without `Connection: close`,
    so a keep-alive client's next request on it fails. This middleware sits
    inside (request ids already bound), answers the problem itself and does not
    re-raise, so the server keeps the connection. An exception after the
    response started cannot be answered any more and is re-raised.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except Exception as exc:
            if started:
                raise
            problem = problem_for(exc) or internal_error(exc)
            response = respond(Request(scope, receive), problem)
            await response(scope, receive, send)


def install(app: FastAPI) -> None:
    """Make every error of `app` an RFC 9457 problem, the unforeseen ones included."""
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_middleware(ProblemMiddleware)
