"""The signed directory (DESIGN section 4): who is connected and which keys to trust.

A compact JWS signed by the hub over the members, the CA chain, the current
CRL and the hub certificate. It is rebuilt when the registry changes (the
change log's last id is its version), when the CRL or the hub certificate
changes, or when half its validity has passed; its ETag is the SHA-256 of the
JWS, so a node asks with `If-None-Match` and usually gets a `304`.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding
from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select

from registry.changes import registry_version
from registry.context import RegistryContext, registry_context
from registry.db import utcnow
from registry.member_auth import AuthenticatedMember, authenticated_member, member_only
from registry.models import Member
from signing.certs import cert_to_pem, fingerprint
from signing.jose import sign_compact

DIRECTORY_MEDIA_TYPE = "application/jose"
DIRECTORY_TYP = "lienthong-directory+jws"

router = APIRouter(tags=["directory"])


def _member_entry(member: Member) -> dict[str, Any]:
    return {
        "code": member.code,
        "name": member.name,
        "kind": member.kind,
        "parent": member.parent_code,
        "status": member.status,
        "delivery_mode": member.delivery_mode,
        "wire_format": member.wire_format,
        "certificates": [
            {
                "fingerprint": c.fingerprint,
                "signing": c.signing,
                "auth": c.auth,
                "not_before": c.not_before.isoformat(),
                "not_after": c.not_after.isoformat(),
                "retired_at": c.retired_at.isoformat() if c.retired_at else None,
            }
            for c in member.certificates
        ],
    }


async def build_directory(context: RegistryContext, version: int) -> dict[str, Any]:
    """The directory's claims, before signing."""
    identity = context.identity
    async with context.sessions() as session:
        members = list(await session.scalars(select(Member).order_by(Member.code)))
        entries = [_member_entry(m) for m in members]
    generated = utcnow().replace(microsecond=0)
    ttl = timedelta(seconds=context.settings.directory_ttl_seconds)
    crl = identity.crl
    return {
        "hub_id": context.settings.hub_id,
        "version": version,
        "generated_at": generated.isoformat(),
        "expires_at": (generated + ttl).isoformat(),
        "hub_certificate": cert_to_pem(identity.chain[0]).decode(),
        "ca_chain": [cert_to_pem(c).decode() for c in identity.roots],
        "crl": crl.public_bytes(Encoding.PEM).decode() if crl is not None else None,
        "members": entries,
    }


@dataclass(frozen=True)
class SignedDirectory:
    key: tuple[int, str, str]
    token: str
    etag: str
    built_at: float


def _inputs_key(context: RegistryContext, version: int) -> tuple[int, str, str]:
    crl = context.identity.crl
    crl_digest = hashlib.sha256(crl.public_bytes(Encoding.DER)).hexdigest() if crl else ""
    return version, crl_digest, fingerprint(context.identity.chain[0])


def directory_built_at(request: Request) -> float | None:
    """When this process last signed the directory (`time.monotonic()`), or None."""
    cached: SignedDirectory | None = getattr(request.app.state, "signed_directory", None)
    return None if cached is None else cached.built_at


async def current_directory(request: Request, context: RegistryContext) -> SignedDirectory:
    """The signed directory, rebuilt only when its inputs changed or it is half expired."""
    async with context.sessions() as session:
        version = await registry_version(session)
    key = _inputs_key(context, version)
    cached: SignedDirectory | None = getattr(request.app.state, "signed_directory", None)
    half_life = context.settings.directory_ttl_seconds / 2
    if cached is not None and cached.key == key and time.monotonic() - cached.built_at < half_life:
        return cached
    claims = await build_directory(context, version)
    identity = context.identity
    token = sign_compact(claims, identity.key, identity.chain, typ=DIRECTORY_TYP)
    etag = '"' + hashlib.sha256(token.encode()).hexdigest() + '"'
    signed = SignedDirectory(key, token, etag, time.monotonic())
    request.app.state.signed_directory = signed
    return signed


def _matches(if_none_match: str | None, etag: str) -> bool:
    if if_none_match is None:
        return False
    candidates = {c.strip().removeprefix("W/") for c in if_none_match.split(",")}
    return etag in candidates or "*" in candidates


_MEMBER = member_only()


@router.get(
    "/v1/directory",
    response_class=Response,
    responses={
        200: {
            "content": {
                DIRECTORY_MEDIA_TYPE: {
                    "schema": {
                        "type": "string",
                        "pattern": r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$",
                        "description": (
                            "JWS compact serialization (`typ` lienthong-directory+jws) signed by"
                            " the hub; its claims: hub_id, version, generated_at, expires_at,"
                            " hub_certificate, ca_chain, crl and members"
                        ),
                    }
                }
            },
            "description": "The signed directory (JWS)",
        },
        304: {"description": "Unchanged since the ETag sent in If-None-Match"},
        **_MEMBER["responses"],
    },
    openapi_extra=_MEMBER["openapi_extra"],
    summary="The signed directory",
)
async def directory(
    request: Request,
    member: AuthenticatedMember = Depends(authenticated_member),
    context: RegistryContext = Depends(registry_context),
) -> Response:
    """The hub-signed directory; verify it with the hub certificate pinned from it."""
    signed = await current_directory(request, context)
    headers = {"ETag": signed.etag, "Cache-Control": "no-cache"}
    if _matches(request.headers.get("if-none-match"), signed.etag):
        return Response(status_code=304, headers=headers)
    return Response(signed.token, media_type=DIRECTORY_MEDIA_TYPE, headers=headers)
