"""The hub's signed directory, as a member sees it: verified, parsed, cached.

`GET /v1/directory` answers a compact JWS signed by the hub. The node checks it
against the hub certificate it pinned (`hub.crt`) and keeps it until shortly
before its `expires_at`; the ETag lets an unchanged directory cost one 304.
Once it holds a directory it asks only for what changed since its `version`
(`?since=`): the hub answers a signed delta (`typ` lienthong-directory-delta+jws)
whose members replace the held ones and whose CRL, CA chain and times replace
the rest. Every `FULL_EVERY` seconds it takes the whole directory again: two
registry changes committed out of the order of their change-log ids could
otherwise leave a member behind for good.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from pydantic import BaseModel, ConfigDict, ValidationError

from member_node.errors import DirectoryError
from signing.certs import fingerprint, load_certificates
from signing.jose import JoseError, unverified_header, verify_compact

REFRESH_MARGIN = 60
"""Seconds before `expires_at` at which a cached directory is refreshed."""
FULL_EVERY = 6 * 3600
"""Seconds after which the whole directory is fetched again instead of a delta."""
DELTA_TYP = "lienthong-directory-delta+jws"


class _MemberClaims(BaseModel):
    model_config = ConfigDict(extra="ignore")

    code: str
    name: str = ""
    status: str = "active"
    delivery_mode: str | None = None
    certificates: list[dict[str, Any]] = []


class _DirectoryClaims(BaseModel):
    model_config = ConfigDict(extra="ignore")

    hub_id: str
    hub_certificate: str
    version: int | None = None
    since: int | None = None
    members: list[_MemberClaims] = []
    ca_chain: list[str] = []
    crl: str | None = None
    generated_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class DirectoryMember:
    code: str
    name: str
    status: str
    delivery_mode: str | None
    fingerprints: list[str]
    """Fingerprints of the member's current certificates (retired ones left out)."""


@dataclass(frozen=True)
class Directory:
    """A verified directory: who is connected, their certificates, the CA, the CRL."""

    hub_id: str
    hub_certificate: x509.Certificate
    members: dict[str, DirectoryMember]
    ca_certificates: list[x509.Certificate]
    crl: x509.CertificateRevocationList | None
    generated_at: datetime
    expires_at: datetime
    token: str = field(repr=False)
    """The JWS that made this directory: the whole one, or the last delta applied."""
    version: int | None = None

    @property
    def is_delta(self) -> bool:
        return _is_delta(self.token)

    def member(self, code: str) -> DirectoryMember | None:
        return self.members.get(code)


def parse_directory(
    token: str, pinned: x509.Certificate, base: Directory | None = None
) -> Directory:
    """Verify `token` against the pinned hub certificate and read its claims.

    A delta is applied to `base`, the directory held, which must be the version
    the delta starts from. Raises `DirectoryError` when the signature, the
    certificate or the shape is wrong.
    """
    try:
        raw = verify_compact(token, pinned)
    except JoseError as exc:
        raise DirectoryError(
            "directory_signature_invalid",
            f"the directory is not signed by the pinned hub certificate: {exc.detail}",
        ) from exc
    try:
        claims = _DirectoryClaims.model_validate(raw)
        hub_cert = load_certificates(claims.hub_certificate)[0]
        cas = [c for pem in claims.ca_chain for c in load_certificates(pem)]
        crl = x509.load_pem_x509_crl(claims.crl.encode()) if claims.crl else None
        members = {m.code: _member(m) for m in claims.members}
    except (ValidationError, ValueError, IndexError) as exc:
        raise DirectoryError("directory_malformed", f"the directory cannot be read: {exc}") from exc
    if fingerprint(hub_cert) != fingerprint(pinned):
        raise DirectoryError(
            "directory_hub_mismatch",
            "the directory names a hub certificate other than the pinned one",
        )
    if _is_delta(token):
        if base is None or claims.since is None or claims.since != base.version:
            held = None if base is None else base.version
            raise DirectoryError(
                "directory_delta_mismatch",
                f"a delta since version {claims.since} does not apply to the version held ({held})",
            )
        members = {**base.members, **members}
    return Directory(
        hub_id=claims.hub_id,
        hub_certificate=hub_cert,
        members=members,
        ca_certificates=cas,
        crl=crl,
        generated_at=_aware(claims.generated_at),
        expires_at=_aware(claims.expires_at),
        token=token,
        version=claims.version,
    )


def _is_delta(token: str) -> bool:
    try:
        return unverified_header(token).get("typ") == DELTA_TYP
    except JoseError:
        return False


def _member(m: _MemberClaims) -> DirectoryMember:
    return DirectoryMember(
        m.code,
        m.name,
        m.status,
        m.delivery_mode,
        [
            str(c["fingerprint"])
            for c in m.certificates
            if "fingerprint" in c and not c.get("retired_at")
        ],
    )


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


Fetch = Callable[[str | None], Awaitable[tuple[str | None, str | None]]]
"""Given the cached ETag, return (token or None when unchanged, new ETag); it may ask
for the delta since `DirectoryCache.since`."""


class DirectoryCache:
    """Holds the current directory and refreshes it before it expires."""

    def __init__(
        self,
        pinned: x509.Certificate,
        *,
        margin: float = REFRESH_MARGIN,
        clock: Callable[[], float] = time.time,
        full_every: float = FULL_EVERY,
    ) -> None:
        self.pinned = pinned
        self.margin = margin
        self.full_every = full_every
        self._clock = clock
        self._current: Directory | None = None
        self._etag: str | None = None
        self._full_at = 0.0

    @property
    def since(self) -> int | None:
        """The version a fetch may ask the delta from; None when the whole directory is due."""
        if self._current is None or self._clock() - self._full_at >= self.full_every:
            return None
        return self._current.version

    @property
    def current(self) -> Directory | None:
        return self._current

    def forget(self) -> None:
        """Drop what is held: the next fetch takes the whole directory."""
        self._current, self._etag, self._full_at = None, None, 0.0

    def is_fresh(self) -> bool:
        if self._current is None:
            return False
        return self._clock() < self._current.expires_at.timestamp() - self.margin

    async def get(self, fetch: Fetch, *, refresh: bool = False) -> Directory:
        """The cached directory, fetched first when missing, stale or `refresh`ed."""
        if self._current is not None and self.is_fresh() and not refresh:
            return self._current
        whole = self.since is None
        token, etag = await fetch(self._etag if self._current is not None else None)
        if token is None:
            if self._current is None:
                raise DirectoryError("directory_missing", "the hub sent no directory")
            if whole:  # the whole directory is the one held
                self._full_at = self._clock()
            return self._current
        directory = parse_directory(token, self.pinned, self._current)
        if not directory.is_delta:
            self._full_at = self._clock()
        self._current, self._etag = directory, etag
        return directory


def claims_of(directory: Directory) -> dict[str, Any]:
    """The directory's raw claims (verified), for display."""
    return verify_compact(directory.token, directory.hub_certificate)
