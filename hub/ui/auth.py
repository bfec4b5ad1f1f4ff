"""`/ui/login` and `/ui/logout`, and the guard every dashboard page passes."""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import parse_qsl, quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.context import hub_context
from hub.ops import metrics
from hub.ui.landing import HOME, landing, safe_next
from hub.ui.render import page
from hub.ui.session import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    UiSession,
    csrf_ok,
    current_session,
    encode,
    secret_of,
)
from registry.operators import find_by_token
from registry.problems import Problem

router = APIRouter(prefix="/ui", include_in_schema=False)


class LoginRequired(Exception):
    """Raised by `require_session`; answered with a redirect to the login page."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


async def require_session(request: Request) -> UiSession:
    """The operator's session; without one, nothing is done and the browser goes to the
    login page, which then leads back to a page (never a POST-only form address)."""
    session = await current_session(request)
    if session is None:
        raise LoginRequired(landing(request))
    return session


async def form_fields(request: Request, limit: int = 16 * 1024) -> dict[str, str]:
    """A small urlencoded form (the dashboard posts nothing else); first value per name."""
    body = await request.body()
    if len(body) > limit:
        raise Problem(413, "payload_too_large", "the form is too large")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Problem(400, "bad_form", "the form is not urlencoded UTF-8") from exc
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name, value)
    return fields


async def check_csrf(request: Request, session: UiSession) -> None:
    given = (await form_fields(request)).get("csrf")
    if not csrf_ok(
        secret_of(hub_context(request)), session, given if isinstance(given, str) else None
    ):
        raise Problem(
            403, "csrf_failed", "the form's CSRF token is missing or wrong; reload the page"
        )


def _set_cookie(response: Response, request: Request, name: str, value: str, age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=age,
        path="/ui",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str | None = None) -> Response:
    token = secrets.token_urlsafe(24)
    response = page(
        request, "login.html", None, login_csrf=token, next=safe_next(request, next) or HOME,
        error=None,
    )  # fmt: skip
    _set_cookie(response, request, LOGIN_CSRF_COOKIE, token, 3600)
    return response


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    context = hub_context(request)
    form = await form_fields(request)
    token, csrf, next = form.get("token", ""), form.get("csrf", ""), form.get("next", "/ui")
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, csrf):
        raise Problem(403, "csrf_failed", "the login form expired; reload the page")
    async with context.sessions() as db:
        operator = await find_by_token(db, token.strip()) if token.strip() else None
    if operator is None:
        metrics.auth_failed("ui_login_failed")
        again = secrets.token_urlsafe(24)
        response = page(
            request, "login.html", None, status=401, login_csrf=again,
            next=safe_next(request, next) or HOME,
            error="Token không hợp lệ (invalid operator token).",
        )  # fmt: skip
        _set_cookie(response, request, LOGIN_CSRF_COOKIE, again, 3600)
        return response
    cookie = encode(
        secret_of(context), operator.name, operator.role, context.settings.ui_session_seconds
    )
    redirect = RedirectResponse(safe_next(request, next) or HOME, status_code=303)
    _set_cookie(redirect, request, SESSION_COOKIE, cookie, context.settings.ui_session_seconds)
    redirect.delete_cookie(LOGIN_CSRF_COOKIE, path="/ui")
    return redirect


@router.post("/logout")
async def logout(request: Request) -> Response:
    session = await require_session(request)
    await check_csrf(request, session)
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/ui")
    return response


def login_redirect(exc: LoginRequired) -> Response:
    return RedirectResponse(f"/ui/login?next={quote(exc.next_path)}", status_code=303)
