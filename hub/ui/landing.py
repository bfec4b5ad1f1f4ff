"""Where an operator lands after logging in: a dashboard page they can GET, never a
form's POST-only address and never another site.

A session that ends while a form is being filled in sends the POST to the login
page; what the form asked for is not done. After logging in the operator is
sent back to the page that held the form (the request's `Referer` when it is
one of ours, else the nearest dashboard page above the form's address), where
they may submit it again with a fresh CSRF token.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, Request
from fastapi.dependencies.utils import request_params_to_args
from fastapi.routing import APIRoute
from starlette.routing import Match

__all__ = ["HOME", "landing", "remember_pages", "safe_next"]

HOME = "/ui"
_NOT_LANDINGS = ("/ui/login", "/ui/logout")


def remember_pages(app: FastAPI, routers: Sequence[APIRouter]) -> None:
    """Keep the dashboard's routes on `app`, to tell its pages from its forms' addresses."""
    app.state.ui_routes = [route for router in routers for route in router.routes]


def _is_page(request: Request, path: str) -> bool:
    """Whether `path` is answered by a dashboard GET route whose path parameters it fits
    (`/ui/registry/members` is a form's address, not a member's page)."""
    scope = {"type": "http", "path": path, "root_path": "", "method": "GET"}
    for route in getattr(request.app.state, "ui_routes", []):
        if not isinstance(route, APIRoute):
            continue
        match, child = route.matches(scope)
        if match is Match.FULL:
            params = child.get("path_params", {})
            _, errors = request_params_to_args(route.dependant.path_params, params)
            return not errors
    return False


def safe_next(request: Request, value: str | None) -> str | None:
    """`value` if it is a page of this dashboard an operator can GET (path and query
    only: no scheme, host, backslash, control character or dot segment), else None."""
    if not value or "\\" in value or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return None
    parts = urlsplit(value)
    path = parts.path
    if parts.scheme or parts.netloc or not (path == HOME or path.startswith(HOME + "/")):
        return None
    if "//" in path or any(seg in (".", "..") for seg in path.split("/")):
        return None
    if path in _NOT_LANDINGS or not _is_page(request, path):
        return None
    return path + (f"?{parts.query}" if parts.query else "")


def _referrer(request: Request) -> str | None:
    """The referring page's path and query, when it is on this host."""
    referer = request.headers.get("referer")
    if not referer:
        return None
    parts = urlsplit(referer)
    if parts.netloc and parts.netloc != request.headers.get("host", request.url.netloc):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _ancestors(path: str) -> list[str]:
    """`/ui/registry/X/status`, then `/ui/registry/X`, `/ui/registry`, `/ui`."""
    parts = path.rstrip("/").split("/")
    return ["/".join(parts[:n]) for n in range(len(parts), 1, -1)]


def landing(request: Request) -> str:
    """The page to return to after logging in: this one when it was a GET, else the page
    that held the form (see the module's note)."""
    url = request.url
    if request.method in ("GET", "HEAD"):
        here = url.path + (f"?{url.query}" if url.query else "")
        return safe_next(request, here) or HOME
    for candidate in [_referrer(request), *_ancestors(url.path)]:
        if found := safe_next(request, candidate):
            return found
    return HOME
