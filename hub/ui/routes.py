"""Mounting the dashboard on the hub app."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response

from hub.ui import (
    auth,
    compliance,
    delivery_pages,
    documents,
    exports,
    overview,
    registry_forms,
    registry_pages,
)
from hub.ui.errors import problem_page
from registry.problems import add_problem_page


async def _on_login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, auth.LoginRequired)
    return auth.login_redirect(exc)


def install_ui(app: FastAPI) -> None:
    """`/ui`: login, pages, the redirect to the login page for a missing session, and
    errors under `/ui` as HTML pages."""
    app.include_router(auth.router)
    app.include_router(overview.router)
    app.include_router(compliance.router)
    app.include_router(documents.router)
    app.include_router(delivery_pages.router)
    app.include_router(exports.router)
    app.include_router(registry_pages.router)
    app.include_router(registry_forms.router)
    app.add_exception_handler(auth.LoginRequired, _on_login_required)
    add_problem_page(app, problem_page)
