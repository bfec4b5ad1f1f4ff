"""Jinja2 templates shipped inside the package; autoescape on for everything."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from hub.context import hub_context
from hub.ui.labels import outcome_label, state_label, status_label, violation_label
from hub.ui.session import UiSession, csrf_token, secret_of
from hub.ui.times import vn_time

__all__ = ["page", "templates"]

templates = Environment(
    loader=PackageLoader("hub.ui", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters["pct"] = lambda v: f"{float(v):.1%}"
templates.filters["vntime"] = vn_time
templates.filters["violation"] = violation_label
templates.filters["state"] = state_label
templates.filters["status"] = status_label
templates.filters["outcome"] = outcome_label


def page(
    request: Request,
    template: str,
    session: UiSession | None,
    status: int = 200,
    **values: Any,
) -> HTMLResponse:
    """Render `template` with the session, its CSRF token and the request id."""
    context = hub_context(request)
    csrf = csrf_token(secret_of(context), session) if session is not None else ""
    html = templates.get_template(template).render(
        session=session,
        csrf=csrf,
        request_id=request.scope.get("state", {}).get("request_id", ""),
        path=request.url.path,
        **values,
    )
    return HTMLResponse(
        html,
        status_code=status,
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": "default-src 'self'; style-src 'unsafe-inline'; "
            "script-src 'none'; frame-ancestors 'none'; form-action 'self'",
            "X-Content-Type-Options": "nosniff",
        },
    )
