"""Member authentication: the short-lived bearer JWT of DESIGN section 4.

A token names its member (`iss`) and its certificate (`kid`). The signature is
checked once per token: verified tokens are cached (bounded LRU keyed by the
token string) until they expire.

Whether the member is still active and the key not rotated out is read from
the database (one indexed join), and that row is kept for at most
`REGISTRY_TTL_SECONDS` (1 s) per process, because a read per request was a
large part of a submission's cost. The trade-off: a change made in this
process takes effect at once (any flush or commit that touches a member or a
member certificate drops every kept row), while a change made by another hub
process (another worker, a replica, the registry CLI) takes effect there
within one second. A second is far below the token lifetime a suspension
would otherwise have to wait for, and below the time an operator needs to
look at the result.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from fastapi import FastAPI, Request
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session

from registry.context import RegistryContext, registry_context
from registry.models import Member, MemberCertificate
from registry.operator_auth import bearer_token
from registry.problems import Problem, problems
from signing.certs import fingerprint, load_certificate
from signing.jose import JoseError, unverified_claims, unverified_header, verify_token

MAX_LIFETIME_SECONDS = 300
LEEWAY_SECONDS = 30
CACHE_SIZE = 32_768
"""Tokens and registry rows kept per process: room for every one of the ~12,000 members
of the national tree with a token and a half each. An LRU smaller than the set of members
calling in turn would miss on every request."""
REGISTRY_TTL_SECONDS = 1.0
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="lienthong-members"'}
_JOSE_REFUSALS = {
    "expired": "token_expired",
    "not_yet_valid": "token_not_yet_valid",
    "bad_audience": "wrong_audience",
    "bad_lifetime": "token_lifetime_too_long",
    "malformed_token": "malformed_token",
    "bad_claims": "malformed_token",
    "bad_algorithm": "bad_algorithm",
}


@dataclass(frozen=True)
class AuthenticatedMember:
    """The caller: its agency code, its registry row and the certificate it used."""

    code: str
    member: Member
    certificate: MemberCertificate


@dataclass(frozen=True)
class _Verified:
    iss: str
    kid: str
    aud: str
    exp: int


class TokenCache:
    """Verified tokens, least recently used evicted first."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[str, _Verified] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, token: str) -> _Verified | None:
        found = self._items.get(token)
        if found is None:
            self.misses += 1
            return None
        self._items.move_to_end(token)
        self.hits += 1
        return found

    def put(self, token: str, verified: _Verified) -> None:
        self._items[token] = verified
        self._items.move_to_end(token)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


_Found = tuple[Member, MemberCertificate] | None


@dataclass(slots=True)
class _Kept:
    generation: int
    read_at: float
    found: tuple[Member, MemberCertificate] | None


class RegistryRows:
    """`(iss, kid) -> (member, certificate)` rows read from the database, kept briefly.

    A row is used again for `ttl` seconds, unless a local change to the
    registry tables bumped the process-wide generation since it was read.
    """

    def __init__(self, ttl: float = REGISTRY_TTL_SECONDS, size: int = CACHE_SIZE) -> None:
        self.ttl = ttl
        self.size = size
        self._items: dict[tuple[str, str], _Kept] = {}
        self.reading: dict[tuple[str, str], tuple[int, asyncio.Future[_Found]]] = {}
        """Reads under way, so concurrent misses for one key share a single query."""

    def get(
        self, iss: str, kid: str, now: float
    ) -> tuple[bool, tuple[Member, MemberCertificate] | None]:
        kept = self._items.get((iss, kid))
        if kept is None or kept.generation != _changes.generation or now >= kept.read_at + self.ttl:
            return False, None
        return True, kept.found

    def put(
        self,
        iss: str,
        kid: str,
        found: tuple[Member, MemberCertificate] | None,
        now: float,
        generation: int,
    ) -> None:
        if len(self._items) >= self.size:
            self._evict(now)
        self._items[(iss, kid)] = _Kept(generation, now, found)

    def _evict(self, now: float) -> None:
        """Drop the rows that ran out; all of them if that frees less than half the room, so
        a sweep comes at most once per `size / 2` reads."""
        current = _changes.generation
        self._items = {
            key: kept
            for key, kept in self._items.items()
            if kept.generation == current and now < kept.read_at + self.ttl
        }
        if len(self._items) >= self.size // 2:
            self._items.clear()


class _RegistryChanges:
    """A counter bumped whenever this process writes the member tables."""

    generation = 0


_changes = _RegistryChanges()
_WATCHED = (Member, MemberCertificate)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: object) -> None:
    touched = (session.new, session.dirty, session.deleted)
    if any(isinstance(obj, _WATCHED) for objects in touched for obj in objects):
        session.info["member_auth_changed"] = True
        _changes.generation += 1


@event.listens_for(Session, "do_orm_execute")
def _on_bulk_write(state: ORMExecuteState) -> None:
    mapper = state.bind_mapper
    if (state.is_update or state.is_delete) and mapper is not None and mapper.class_ in _WATCHED:
        state.session.info["member_auth_changed"] = True
        _changes.generation += 1


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    # again at commit: a row read between the flush and the commit is dropped too
    if session.info.pop("member_auth_changed", False):
        _changes.generation += 1


def registry_rows(request: Request) -> RegistryRows:
    rows: RegistryRows | None = getattr(request.app.state, "member_registry_rows", None)
    if rows is None:
        rows = request.app.state.member_registry_rows = RegistryRows()
    return rows


def token_cache(request: Request) -> TokenCache:
    cache: TokenCache | None = getattr(request.app.state, "member_token_cache", None)
    if cache is None:
        cache = request.app.state.member_token_cache = TokenCache()
    return cache


MEMBER_SCHEME = "memberToken"
"""The OpenAPI security scheme of member routes."""
MEMBER_SECURITY_SCHEME: dict[str, Any] = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT",
    "description": (
        "A member's short-lived JWT (ES256, PS256 or RS256): `iss` its agency code, `aud` the"
        " hub id of the directory, `iat`/`exp` at most 5 minutes apart, header `kid` the hex"
        " SHA-256 of the DER of a certificate the registry holds for it."
    ),
}


def member_only(*statuses: int) -> dict[str, Any]:
    """Route keywords of a member route: its security and its problems (401, 403, `statuses`)."""
    return {
        "openapi_extra": {"security": [{MEMBER_SCHEME: []}]},
        "responses": problems(401, 403, *statuses),
    }


def _refuse(code: str, detail: str, status: int = 401) -> Problem:
    return Problem(status, code, detail, headers=_CHALLENGE if status == 401 else None)


async def _lookup(
    session: AsyncSession, iss: str, kid: str
) -> tuple[Member, MemberCertificate] | None:
    row = (
        await session.execute(
            select(Member, MemberCertificate)
            .join(MemberCertificate, MemberCertificate.member_code == Member.code)
            .where(MemberCertificate.fingerprint == kid, Member.code == iss)
        )
    ).first()
    return None if row is None else (row[0], row[1])


def _peek(token: str) -> tuple[str, str]:
    try:
        header, claims = unverified_header(token), unverified_claims(token)
    except JoseError as exc:
        raise _refuse("malformed_token", exc.detail) from exc
    kid, iss = header.get("kid"), claims.get("iss")
    if not isinstance(kid, str) or not isinstance(iss, str):
        raise _refuse("malformed_token", "the token needs a kid header and an iss claim")
    return iss, kid


async def _registry_row(
    context: RegistryContext, rows: RegistryRows | None, iss: str, kid: str
) -> tuple[Member, MemberCertificate] | None:
    if rows is None:
        async with context.sessions() as session:
            return await _lookup(session, iss, kid)
    now = time.monotonic()
    hit, found = rows.get(iss, kid, now)
    if hit:
        return found
    generation = _changes.generation  # read before the query: a change during it wins
    reading = rows.reading.get((iss, kid))
    if reading is not None and reading[0] == generation:
        return await asyncio.shield(reading[1])  # one read serves every request waiting on it
    future: asyncio.Future[tuple[Member, MemberCertificate] | None] = (
        asyncio.get_running_loop().create_future()
    )
    rows.reading[(iss, kid)] = (generation, future)
    try:
        async with context.sessions() as session:
            found = await _lookup(session, iss, kid)
    except BaseException as exc:
        future.set_exception(exc)
        future.exception()  # seen here, whether or not anyone else waits on it
        raise
    else:
        future.set_result(found)
        rows.put(iss, kid, found, now, generation)
    finally:
        if rows.reading.get((iss, kid), (0, None))[1] is future:
            del rows.reading[(iss, kid)]
    return found


async def authenticate_member(
    token: str | None,
    context: RegistryContext,
    cache: TokenCache,
    now: int | None = None,
    rows: RegistryRows | None = None,
) -> AuthenticatedMember:
    """Check a bearer token; raise a 401/403 `Problem` with a stable code if refused."""
    if token is None:
        raise _refuse("member_token_missing", "send a bearer token signed with your member key")
    current = int(time.time()) if now is None else now
    audience = context.settings.hub_id
    cached = cache.get(token)
    iss, kid = (cached.iss, cached.kid) if cached else _peek(token)
    found = await _registry_row(context, rows, iss, kid)
    if found is None or not found[1].auth:
        raise _refuse("unknown_key", f"no authentication key {kid[:16]}… registered for {iss}")
    member, certificate = found
    if cached is None:
        try:
            claims = verify_token(
                token,
                load_certificate(certificate.pem.encode()),
                audience=audience,
                now=current,
                max_lifetime=MAX_LIFETIME_SECONDS,
                leeway=LEEWAY_SECONDS,
            )
        except JoseError as exc:
            raise _refuse(_JOSE_REFUSALS.get(exc.code, "invalid_token"), exc.detail) from exc
        cached = _Verified(iss, kid, audience, int(claims["exp"]))
        cache.put(token, cached)
    if cached.aud != audience:
        raise _refuse("wrong_audience", "the token is for another audience")
    if current >= cached.exp + LEEWAY_SECONDS:
        raise _refuse("token_expired", "the token has expired")
    if certificate.retired_at is not None:
        raise _refuse("key_retired", "this key was rotated out; sign with the current one")
    if member.status != "active":
        raise _refuse(f"member_{member.status}", f"{member.code} is {member.status}", 403)
    return AuthenticatedMember(member.code, member, certificate)


AdmissionCheck = Callable[[AuthenticatedMember], None]
"""Runs on every authenticated member request; raises a `Problem` to refuse it (a rate limit)."""


def add_admission_check(app: FastAPI, check: AdmissionCheck) -> None:
    """Have `authenticated_member` run `check` on each member it lets in."""
    if not hasattr(app.state, "member_admission"):
        app.state.member_admission = []
    app.state.member_admission.append(check)


async def authenticated_member(request: Request) -> AuthenticatedMember:
    """FastAPI dependency: the member calling, authenticated by its bearer JWT
    (and by its TLS client certificate, when the hub is set up for mutual TLS).

    `registry_context` is called, not declared with `Depends`: FastAPI runs a
    sync dependency in a worker thread, a hop that cost more than the check.
    Then the app's admission checks (`add_admission_check`) run.
    """
    context = registry_context(request)
    rows = registry_rows(request)
    member = await authenticate_member(
        bearer_token(request), context, token_cache(request), rows=rows
    )
    header = context.settings.client_cert_header
    if header:
        await check_client_certificate(request.headers.get(header), member, context, rows)
    for check in getattr(request.app.state, "member_admission", ()):
        check(member)
    return member


async def check_client_certificate(
    escaped_pem: str | None,
    member: AuthenticatedMember,
    context: RegistryContext,
    rows: RegistryRows | None = None,
) -> None:
    """Refuse a call whose TLS client certificate is not one of `member`'s auth certificates.

    The proxy in front of the hub verified the TLS handshake against the
    national CA; this binds that client to the member the token names, so a
    stolen token alone is not enough.
    """
    if not escaped_pem:
        raise _refuse("client_certificate_missing", "this hub needs a TLS client certificate")
    try:
        cert = load_certificate(unquote(escaped_pem).encode())
    except ValueError:
        raise _refuse(
            "client_certificate_invalid", "the forwarded client certificate is not PEM"
        ) from None
    found = await _registry_row(context, rows, member.code, fingerprint(cert))
    if found is None or not found[1].auth or found[1].retired_at is not None:
        raise _refuse(
            "client_certificate_mismatch",
            f"the TLS client certificate is not a current authentication key of {member.code}",
            403,
        )
