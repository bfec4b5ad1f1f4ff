"""RFC 9457 problem details: the one error shape of every HTTP answer.

Every package raises `Problem` for an HTTP error; `install_problem_handlers`
renders it, FastAPI's validation errors and unknown routes as
`application/problem+json` with a stable `code`, so clients branch on codes,
never on English sentences.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterator, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
    408: "The request body stalled (code `request_timeout`); the connection is closed",
    429: "Over this member's rate (code `rate_limited`); come back after `Retry-After`",
    500: "An unforeseen error (code `internal_error`), logged with `request_id`",
    503: "The database or the disk is unavailable (`database_unavailable`, `storage_full`, ...); "
    "nothing was changed; come back after `Retry-After`",
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


ProblemPage = Callable[[Request, Problem, dict[str, Any]], Response | None]
"""Answers a problem in another form (an HTML page for a browser), or None to leave it JSON."""


def add_problem_page(app: FastAPI, render: ProblemPage) -> None:
    """Let `render` answer the problems of the requests it owns (the dashboard's HTML pages)."""
    if not hasattr(app.state, "problem_pages"):
        app.state.problem_pages = []
    app.state.problem_pages.append(render)


def _respond(request: Request, problem: Problem) -> Response:
    hooks: list[ProblemHook] = getattr(request.app.state, "problem_hooks", [])
    pages: list[ProblemPage] = getattr(request.app.state, "problem_pages", [])
    if not hooks and not pages:
        return problem_response(problem)
    body = problem.to_dict()
    for hook in hooks:
        hook(request, problem, body)
    for render in pages:
        if (answer := render(request, problem, body)) is not None:
            return answer
    return JSONResponse(
        body, status_code=problem.status, media_type=PROBLEM_MEDIA_TYPE, headers=problem.headers
    )


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return _respond(request, exc)


def _not_json(detail: str) -> Problem:
    return Problem(400, "not_json", detail)


async def _on_validation(request: Request, exc: Exception) -> Response:
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


async def _on_http(request: Request, exc: Exception) -> Response:
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


# -- the database and the disk failing: 503 with Retry-After ------------------------------

RETRY_AFTER_SECONDS = {
    "database_unavailable": 5,
    "database_busy": 1,
    "database_read_only": 30,
    "storage_full": 60,
    "storage_read_only": 60,
}
"""The stable codes of the 503 answers, and the `Retry-After` each one carries."""

_DETAILS = {
    "database_unavailable": "The hub's database is unavailable; nothing was changed. Retry later.",
    "database_busy": "The hub's database is busy; nothing was changed. Retry shortly.",
    "database_read_only": "The hub's database accepts no writes now; nothing was changed.",
    "storage_full": "The hub's storage is full; nothing was changed. Retry later.",
    "storage_read_only": "The hub's storage accepts no writes now; nothing was changed.",
}

# PostgreSQL SQLSTATEs (whole classes end in a dot)
_SQLSTATES = {
    "08.": "database_unavailable",  # connection exception
    "57P01": "database_unavailable",  # admin shutdown (pg_ctl stop/restart)
    "57P02": "database_unavailable",  # crash shutdown
    "57P03": "database_unavailable",  # cannot connect now (starting or shutting down)
    "57P04": "database_unavailable",  # database dropped
    "53200": "database_unavailable",  # out of memory
    "58.": "database_unavailable",  # system error (I/O)
    "40001": "database_busy",  # serialization failure
    "40P01": "database_busy",  # deadlock detected
    "55P03": "database_busy",  # lock not available
    "57014": "database_busy",  # statement timeout / cancelled
    "53300": "database_busy",  # too many connections
    "53100": "storage_full",  # disk full
    "25006": "database_read_only",  # read-only transaction (a standby)
}
# SQLite reports by message (its error codes do not survive the drivers reliably)
_SQLITE_MESSAGES = (
    ("database or disk is full", "storage_full"),
    ("disk i/o error", "database_unavailable"),
    ("unable to open database", "database_unavailable"),
    ("readonly database", "database_read_only"),
    ("database is locked", "database_busy"),
    ("database table is locked", "database_busy"),
)
# driver messages of a connection the server closed (asyncpg has no SQLSTATE for them)
_DISCONNECT_MESSAGES = (
    "connection is closed",
    "connection was closed",
    "another operation",
    "cannot switch to state",
    "underlying connection is closed",
)
_ERRNOS = {
    errno.ENOSPC: "storage_full",
    errno.EDQUOT: "storage_full",
    errno.EROFS: "storage_read_only",
    errno.EIO: "database_unavailable",
}


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend([getattr(current, "orig", None), current.__cause__, current.__context__])


def _sqlstate_code(sqlstate: str) -> str | None:
    return _SQLSTATES.get(sqlstate) or _SQLSTATES.get(sqlstate[:2] + ".")


def unavailable_code(exc: BaseException) -> str | None:
    """The 503 code for a failure of the database or the disk, or None for anything else.

    Looks through the exception, the driver's original error and their causes:
    SQLSTATEs (PostgreSQL), SQLite's messages, `errno` of OS errors, a pool
    timeout, a connection the pool had to invalidate.
    """
    for current in _chain(exc):
        if isinstance(current, sa_exc.TimeoutError):
            return "database_busy"  # the pool had no connection to give in time
        sqlstate = getattr(current, "sqlstate", None) or getattr(current, "pgcode", None)
        if isinstance(sqlstate, str) and (code := _sqlstate_code(sqlstate)):
            return code
        if isinstance(current, OSError) and current.errno in _ERRNOS:
            return _ERRNOS[current.errno]
        if isinstance(current, ConnectionError):  # refused or reset: the driver's socket
            return "database_unavailable"
        message = str(current).lower()
        if type(current).__module__.startswith(("sqlite3", "aiosqlite")) or (
            isinstance(current, sa_exc.DBAPIError) and "sqlite" in str(type(current.orig))
        ):
            for fragment, code in _SQLITE_MESSAGES:
                if fragment in message:
                    return code
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return "database_unavailable"
        if (
            "asyncpg" in type(current).__module__ or isinstance(current, sa_exc.DBAPIError)
        ) and any(fragment in message for fragment in _DISCONNECT_MESSAGES):
            return "database_unavailable"
    return None


def problem_for(exc: BaseException) -> Problem | None:
    """A `503` problem with `Retry-After` for a database or disk failure; None otherwise."""
    if isinstance(exc, Problem):
        return exc
    code = unavailable_code(exc)
    if code is None:
        return None
    problem = Problem(
        503, code, _DETAILS[code], headers={"Retry-After": str(RETRY_AFTER_SECONDS[code])}
    )
    problem.__cause__ = exc
    return problem


def internal_error(exc: BaseException) -> Problem:
    """The `500` problem of an unforeseen exception (the exception is its `__cause__`)."""
    problem = Problem(
        500,
        "internal_error",
        "The hub failed unexpectedly; nothing is known to have changed. "
        "Quote the request id when reporting it.",
    )
    problem.__cause__ = exc
    return problem


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
            response = _respond(Request(scope, receive), problem)
            await response(scope, receive, send)


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error of `app` an RFC 9457 problem, the unforeseen ones included."""
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_middleware(ProblemMiddleware)
