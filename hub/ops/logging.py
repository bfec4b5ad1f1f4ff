"""Structured JSON logs with a request id that follows each request everywhere.

`RequestIdMiddleware` takes a safe `X-Request-ID` from the caller or makes one,
binds it to structlog's context for every log line of the request, echoes it
in the response header and (through the problem hook) in every problem+json
body, so a member's complaint and the hub's logs meet on one id.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from typing import Any

import structlog
from fastapi import FastAPI, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.ops import metrics
from registry.problems import Problem, add_problem_hook

REQUEST_ID_HEADER = "x-request-id"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
log = structlog.get_logger("lienthong.http")


def _stderr_logger(*args: Any) -> structlog.PrintLogger:
    """A logger on whatever `sys.stderr` is now (tests and servers may swap it)."""
    return structlog.PrintLogger(sys.stderr)


def configure_logging(level: str = "INFO", json: bool = True) -> None:
    """Route structlog (and the standard library's records) to stderr as JSON lines."""
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json
        else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )


def request_id_of(request: Request) -> str | None:
    value = request.scope.get("state", {}).get("request_id")
    return value if isinstance(value, str) else None


class RequestIdMiddleware:
    """Pure ASGI middleware (streams untouched): request id, one access log line, counts."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        request_id = given if _SAFE_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                metrics.HTTP_REQUESTS.labels(scope["method"], f"{status // 100}xx").inc()
                log.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                )


def _problem_hook(request: Request, problem: Problem, body: dict[str, Any]) -> None:
    request_id = request_id_of(request)
    if request_id is not None:
        body["request_id"] = request_id
    if problem.status in (401, 403):
        metrics.auth_failed(problem.code)
    if problem.status == 503:
        cause = problem.__cause__
        log.warning(
            "unavailable",
            code=problem.code,
            error=None if cause is None else f"{type(cause).__name__}: {cause}"[:500],
        )
        metrics.unavailable(problem.code)
    elif problem.status >= 500:
        log.error(
            "problem",
            code=problem.code,
            status=problem.status,
            detail=problem.detail,
            exc_info=problem.__cause__,
        )


def install_request_logging(app: FastAPI) -> None:
    """Request ids in logs, response headers and problem bodies; auth failures counted."""
    app.add_middleware(RequestIdMiddleware)
    add_problem_hook(app, _problem_hook)
