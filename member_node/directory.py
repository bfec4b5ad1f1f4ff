"""The hub's signed directory, as a member sees it: verified, parsed, cached.

`GET /v1/directory` answers a compact JWS signed by the hub. The node checks it
against the hub certificate it pinned (`hub.crt`) and keeps it until shortly
before its `expires_at`; the ETag lets an unchanged directory cost one 304.
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
from signing.jose import JoseError, verify_compact

REFRESH_MARGIN = 60
"""Seconds before `expires_at` at which a cached directory is refreshed."""


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

    def member(self, code: str) -> DirectoryMember | None:
        return self.members.get(code)


def parse_directory(token: str, pinned: x509.Certificate) -> Directory:
    """Verify `token` against the pinned hub certificate and read its claims.

    Raises `DirectoryError` when the signature, the certificate or the shape is wrong.
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
        members = {
            m.code: DirectoryMember(
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
            for m in claims.members
        }
    except (ValidationError, ValueError, IndexError) as exc:
        raise DirectoryError("directory_malformed", f"the directory cannot be read: {exc}") from exc
    if fingerprint(hub_cert) != fingerprint(pinned):
        raise DirectoryError(
            "directory_hub_mismatch",
            "the directory names a hub certificate other than the pinned one",
        )
    return Directory(
        hub_id=claims.hub_id,
        hub_certificate=hub_cert,
        members=members,
        ca_certificates=cas,
        crl=crl,
        generated_at=_aware(claims.generated_at),
        expires_at=_aware(claims.expires_at),
        token=token,
    )


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


Fetch = Callable[[str | None], Awaitable[tuple[str | None, str | None]]]
"""Given the cached ETag, return (token or None when unchanged, new ETag)."""


class DirectoryCache:
    """Holds the current directory and refreshes it before it expires."""

    def __init__(
        self,
        pinned: x509.Certificate,
        *,
        margin: float = REFRESH_MARGIN,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.pinned = pinned
        self.margin = margin
        self._clock = clock
        self._current: Directory | None = None
        self._etag: str | None = None

    @property
    def current(self) -> Directory | None:
        return self._current

    def is_fresh(self) -> bool:
        if self._current is None:
            return False
        return self._clock() < self._current.expires_at.timestamp() - self.margin

    async def get(self, fetch: Fetch, *, refresh: bool = False) -> Directory:
        """The cached directory, fetched first when missing, stale or `refresh`ed."""
        if self._current is not None and self.is_fresh() and not refresh:
            return self._current
        token, etag = await fetch(self._etag if self._current is not None else None)
        if token is None:
            if self._current is None:
                raise DirectoryError("directory_missing", "the hub sent no directory")
            return self._current
        self._current = parse_directory(token, self.pinned)
        self._etag = etag
        return self._current


def claims_of(directory: Directory) -> dict[str, Any]:
    """The directory's raw claims (verified), for display."""
    return verify_compact(directory.token, directory.hub_certificate)
