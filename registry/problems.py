"""RFC 9457 problem details: the one error shape of every HTTP answer.

Every package raises `Problem` for an HTTP error; `install_problem_handlers`
renders it, FastAPI's validation errors and unknown routes as
`application/problem+json` with a stable `code`, so clients branch on codes,
never on English sentences. The handlers are in `registry.problem_handlers`, the
503s of a failing database or disk in `registry.outages`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = [
    "PROBLEM_DESCRIPTIONS",
    "PROBLEM_MEDIA_TYPE",
    "PROBLEM_SCHEMA_REF",
    "PROBLEM_TYPE_BASE",
    "Problem",
    "ProblemBody",
    "ProblemHook",
    "ProblemPage",
    "add_problem_hook",
    "add_problem_page",
    "install_problem_handlers",
    "problem_response",
    "problems",
    "respond",
    "status_title",
]

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
            "title": status_title(self.status),
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
            "description": PROBLEM_DESCRIPTIONS.get(status, status_title(status)),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_SCHEMA_REF}}},
        }
        for status in statuses
    }


def status_title(status: int) -> str:
    """The status's reason phrase (`Not Found`), or `Error` for one HTTP does not name."""
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


def respond(request: Request, problem: Problem) -> Response:
    """Answer `problem` through the app's hooks and pages (problem+json unless a page takes it)."""
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


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error of `app` an RFC 9457 problem, the unforeseen ones included."""
    from registry.problem_handlers import install  # it builds on this module

    install(app)
