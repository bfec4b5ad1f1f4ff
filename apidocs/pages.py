"""`/docs` (Swagger UI) and `/redoc` (ReDoc) for an app's `/openapi.json`, served from
installed packages, never a CDN.

Hubs and nodes often sit on closed networks: Swagger UI's scripts and styles and
ReDoc's standalone bundle come from the `fastapi-offline` package at `/docs/assets/`
(the `swagger-ui-bundle` package ships Swagger UI 4, which cannot render OpenAPI
3.1), ReDoc's page asks for no web fonts, and both pages forbid the browser any other
host.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["ASSETS", "SELF_ONLY", "install_docs"]

ASSETS = "/docs/assets"
SELF_ONLY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline';"
    " img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'"
)
"""The docs pages' Content-Security-Policy: the browser fetches nothing from another host
(ReDoc's sidebar would load its maker's logo from a CDN; the image is left out)."""
BUNDLES = Path(fastapi_offline.__file__).parent / "static"
"""Swagger UI 5 (it renders OpenAPI 3.1, which these documents are) and ReDoc, as shipped
by the `fastapi-offline` package."""


def install_docs(app: FastAPI, title: str) -> None:
    """Serve Swagger UI at `/docs` and ReDoc at `/redoc` for `app`'s `/openapi.json`,
    their assets from installed packages."""
    router = APIRouter(include_in_schema=False)

    @router.get("/docs")
    async def swagger_ui() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=title,
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
        )
        page.headers["Content-Security-Policy"] = SELF_ONLY
        return page

    @router.get("/redoc")
    async def redoc() -> HTMLResponse:
        page = get_redoc_html(
            openapi_url="/openapi.json",
            title=title,
            redoc_js_url=f"{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS}/favicon.png",
            with_google_fonts=False,
        )
        page.headers["Content-Security-Policy"] = SELF_ONLY
        return page

    app.include_router(router)
    app.mount(ASSETS, StaticFiles(directory=BUNDLES), name="docs-assets")
