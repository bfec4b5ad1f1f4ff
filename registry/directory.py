"""`GET /v1/directory` (DESIGN section 4): who is connected and which keys to trust.

The answer is conditional and compressed: `If-None-Match` with the last ETag
gets a `304` when nothing changed; `?since=VERSION` (the `version` claim of the
directory a member holds) gets a signed delta instead of the whole directory;
`Accept-Encoding: gzip` gets the body gzipped (encoded once per body). The
ETag names the state of the directory, not the byte string: a delta carries
the ETag of the directory it brings the member to, so the next call, whole or
delta, can be a `304`. The building and signing live in
`registry.signed_directory`.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response

from registry.context import RegistryContext, registry_context
from registry.db import INT64_MAX
from registry.member_auth import AuthenticatedMember, authenticated_member, member_only
from registry.signed_directory import (
    DELTA_TYP,
    DIRECTORY_TYP,
    Body,
    SignedDirectory,
    check_since,
    current_directory,
    directory_delta,
)

__all__ = [
    "DELTA_TYP",
    "DIRECTORY_MEDIA_TYPE",
    "DIRECTORY_TYP",
    "accepts_gzip",
    "directory_built_at",
    "router",
]

DIRECTORY_MEDIA_TYPE = "application/jose"
_MIN_GZIP = 1024
"""Bodies below this many bytes go as they are: gzip would save nothing worth a header."""

router = APIRouter(tags=["directory"])


def directory_built_at(request: Request) -> float | None:
    """When this process last signed the directory (`time.monotonic()`), or None."""
    cached: SignedDirectory | None = getattr(request.app.state, "signed_directory", None)
    return None if cached is None else cached.built_at


def _matches(if_none_match: str | None, etag: str) -> bool:
    if if_none_match is None:
        return False
    candidates = {c.strip().removeprefix("W/") for c in if_none_match.split(",")}
    return etag in candidates or "*" in candidates


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether `Accept-Encoding` allows gzip (RFC 9110: named or `*`, with q above 0)."""
    if not accept_encoding:
        return False
    allowed: dict[str, float] = {}
    for item in accept_encoding.split(","):
        name, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        allowed[name.strip().lower()] = quality
    quality = allowed.get("gzip", allowed.get("x-gzip", allowed.get("*", 0.0)))
    return quality > 0


def _encoded(body: Body, request: Request, headers: dict[str, str]) -> Response:
    raw = body.raw
    if len(raw) >= _MIN_GZIP and accepts_gzip(request.headers.get("accept-encoding")):
        headers["Content-Encoding"] = "gzip"
        raw = body.gzipped
    return Response(raw, media_type=DIRECTORY_MEDIA_TYPE, headers=headers)


_MEMBER = member_only(422)
_JWS = {
    "type": "string",
    "pattern": r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$",
    "description": (
        f"JWS compact serialization signed by the hub: `typ` {DIRECTORY_TYP}, or"
        f" {DELTA_TYP} with `?since`; its claims: hub_id, version, generated_at,"
        " expires_at, hub_certificate, ca_chain, crl and members (a delta: since, and"
        " only the members changed after it)"
    ),
}


@router.get(
    "/v1/directory",
    response_class=Response,
    responses={
        200: {
            "content": {DIRECTORY_MEDIA_TYPE: {"schema": _JWS}},
            "description": "The signed directory, or its delta since `since` (JWS)",
            "headers": {
                "ETag": {"schema": {"type": "string"}, "description": "The directory's state"},
                "Content-Encoding": {
                    "schema": {"type": "string", "enum": ["gzip"]},
                    "description": "gzip when Accept-Encoding allows it",
                },
            },
        },
        304: {"description": "Unchanged since the ETag sent in If-None-Match"},
        **_MEMBER["responses"],
    },
    openapi_extra=_MEMBER["openapi_extra"],
    summary="The signed directory",
)
async def directory(
    request: Request,
    since: int | None = Query(
        None,
        ge=0,
        le=INT64_MAX,
        description="The `version` of the directory held: answer only what changed after it"
        " (code `directory_version_unknown` for a version the hub has not reached)",
    ),
    member: AuthenticatedMember = Depends(authenticated_member),
    context: RegistryContext = Depends(registry_context),
) -> Response:
    """The hub-signed directory; verify it with the hub certificate pinned from it."""
    signed = await current_directory(request.app.state, context)
    headers = {"ETag": signed.etag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding"}
    if since is not None:
        check_since(signed, since)
    if _matches(request.headers.get("if-none-match"), signed.etag):
        return Response(status_code=304, headers=headers)
    if since is None:
        return _encoded(signed.body, request, headers)
    return _encoded(await directory_delta(context, signed, since), request, headers)
