"""The signed directory and its deltas, built once and served many times.

The directory is a compact JWS signed by the hub over the members, the CA
chain, the current CRL and the hub certificate. It is rebuilt when the registry
changes (the change log's last id is its `version`), when the CRL or the hub
certificate changes, or when half its validity has passed.

Hubs serving one database give one directory the same ETag, so a member gets
its `304` from whichever replica answers: `generated_at` is not the moment a
replica signed but the start of the current half-validity window of the wall
clock (`expires_at` a whole validity after it), and the ETag is the SHA-256 of
the signed content (the JWS header and claims), not of the signature, which
differs with each signing.

At 12,000 members the directory is megabytes, so a member that holds version
V asks for the **delta** since V: a JWS of the same shape (`typ`
`lienthong-directory-delta+jws`, a `since` claim) whose `members` holds only
the members changed after V, found through the change log's primary key. The
rest (CRL, CA chain, hub certificate, times) is always whole, so a delta
leaves the member with exactly the current directory. Deltas are signed once
per `since` and version and kept with the directory they were cut from; each
body is gzipped once, when first asked for.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import select

from registry.changes import changed_members, registry_version
from registry.context import RegistryContext
from registry.db import utcnow
from registry.models import Member
from registry.problems import Problem
from signing.certs import cert_to_pem, fingerprint
from signing.jose import sign_compact

__all__ = [
    "DELTA_TYP",
    "DIRECTORY_TYP",
    "KEPT_DELTAS",
    "Body",
    "SignedDirectory",
    "build_directory",
    "check_since",
    "content_etag",
    "current_directory",
    "directory_delta",
]

DIRECTORY_TYP = "lienthong-directory+jws"
DELTA_TYP = "lienthong-directory-delta+jws"
KEPT_DELTAS = 64
"""Deltas kept per directory version: members poll from a handful of versions."""
_GZIP_LEVEL = 6


@dataclass
class Body:
    """A signed JWS and, once asked for, its gzip encoding."""

    token: str
    _gzip: bytes | None = field(default=None, repr=False)

    @property
    def raw(self) -> bytes:
        return self.token.encode()

    @property
    def gzipped(self) -> bytes:
        if self._gzip is None:
            self._gzip = gzip.compress(self.raw, _GZIP_LEVEL, mtime=0)
        return self._gzip


Key = tuple[int, str, str, int]
"""What a signed directory is built from: version, CRL digest, hub certificate, window."""


@dataclass
class SignedDirectory:
    """One signed version of the directory with what its deltas are cut from."""

    key: Key
    body: Body
    etag: str
    built_at: float
    claims: dict[str, Any] = field(repr=False)
    entries: dict[str, dict[str, Any]] = field(repr=False)
    deltas: dict[int, Body] = field(default_factory=dict, repr=False)

    @property
    def version(self) -> int:
        return self.key[0]

    @property
    def token(self) -> str:
        return self.body.token


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


def _window_seconds(context: RegistryContext) -> int:
    """The length of a window: half the validity, so a directory served has half of it left."""
    return max(1, context.settings.directory_ttl_seconds // 2)


def _window(context: RegistryContext) -> int:
    """The number of the current window since the epoch (the same on every replica)."""
    return int(utcnow().timestamp()) // _window_seconds(context)


async def build_directory(
    context: RegistryContext, version: int, window: int | None = None
) -> dict[str, Any]:
    """The directory's claims, before signing, for `window` (default: the current one)."""
    identity = context.identity
    async with context.sessions() as session:
        members = list(await session.scalars(select(Member).order_by(Member.code)))
        entries = [_member_entry(m) for m in members]
    step = _window_seconds(context)
    window = _window(context) if window is None else window
    generated = datetime.fromtimestamp(window * step, UTC)
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


def _inputs_key(context: RegistryContext, version: int) -> Key:
    crl = context.identity.crl
    crl_digest = hashlib.sha256(crl.public_bytes(Encoding.DER)).hexdigest() if crl else ""
    return version, crl_digest, fingerprint(context.identity.chain[0]), _window(context)


async def current_directory(state: Any, context: RegistryContext) -> SignedDirectory:
    """The signed directory kept on `state` (the app's), rebuilt only when its inputs
    changed or it is half expired."""
    async with context.sessions() as session:
        version = await registry_version(session)
    key = _inputs_key(context, version)
    cached = _fresh(state, key)
    if cached is not None:
        return cached
    lock: asyncio.Lock | None = getattr(state, "signed_directory_lock", None)
    if lock is None:
        lock = state.signed_directory_lock = asyncio.Lock()
    async with lock:  # one build serves every request that found the directory stale
        return _fresh(state, key) or await _build(state, context, key)


def _fresh(state: Any, key: Key) -> SignedDirectory | None:
    cached: SignedDirectory | None = getattr(state, "signed_directory", None)
    return cached if cached is not None and cached.key == key else None


def content_etag(token: str) -> str:
    """The ETag of a signed directory: its header and claims, whoever signed them when."""
    signed_content = token.rpartition(".")[0]
    return '"' + hashlib.sha256(signed_content.encode()).hexdigest() + '"'


async def _build(state: Any, context: RegistryContext, key: Key) -> SignedDirectory:
    version, window = key[0], key[3]
    claims = await build_directory(context, version, window)
    identity = context.identity
    token = sign_compact(claims, identity.key, identity.chain, typ=DIRECTORY_TYP)
    etag = content_etag(token)
    entries = {entry["code"]: entry for entry in claims["members"]}
    signed = SignedDirectory(key, Body(token), etag, time.monotonic(), claims, entries)
    state.signed_directory = signed
    return signed


async def directory_delta(context: RegistryContext, signed: SignedDirectory, since: int) -> Body:
    """The signed delta from version `since` to `signed` (see `check_since`)."""
    check_since(signed, since)
    kept = signed.deltas.get(since)
    if kept is not None:
        return kept
    async with context.sessions() as session:
        codes = await changed_members(session, after=since, upto=signed.version)
    members = [signed.entries[code] for code in sorted(codes) if code in signed.entries]
    claims = {**signed.claims, "since": since, "members": members}
    identity = context.identity
    body = Body(sign_compact(claims, identity.key, identity.chain, typ=DELTA_TYP))
    if len(signed.deltas) >= KEPT_DELTAS:
        signed.deltas.clear()
    signed.deltas[since] = body
    return body


def check_since(signed: SignedDirectory, since: int) -> None:
    """A version the hub has not reached yet is a 422 `directory_version_unknown`."""
    if since > signed.version:
        raise Problem(
            422,
            "directory_version_unknown",
            f"the directory has not reached version {since}; the current one is"
            f" {signed.version}: drop `since` to get it whole",
            errors=[{"field": "since", "message": "later than the current version"}],
        )
