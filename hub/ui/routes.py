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
from hub.ui.landing import remember_pages
from registry.problems import add_problem_page


async def _on_login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, auth.LoginRequired)
    return auth.login_redirect(exc)


def install_ui(app: FastAPI) -> None:
    """`/ui`: login, pages, the redirect to the login page for a missing session, and
    errors under `/ui` as HTML pages."""
    routers = (
        auth.router, overview.router, compliance.router, documents.router,
        delivery_pages.router, exports.router, registry_pages.router, registry_forms.router,
    )  # fmt: skip
    for router in routers:
        app.include_router(router)
    remember_pages(app, routers)
    app.add_exception_handler(auth.LoginRequired, _on_login_required)
    add_problem_page(app, problem_page)
