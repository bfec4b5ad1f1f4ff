"""Trust in certificates: chains to the national root, validity and revocation at a time.

Building a chain is the expensive part, and it does not depend on the time
asked about, so it is done once per (certificate, intermediates) and cached.
Validity and revocation at a given instant are then cheap comparisons made on
every call. `TrustStore.stats` exposes the cache so callers (and tests) can
see that the 1,000th package from a sender did not rebuild a chain.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.verification import (
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

MAX_CACHED_CHAINS = 10_000


@dataclass(frozen=True)
class CertificateStatus:
    """What is known about a certificate at one instant."""

    trusted: bool
    chain: tuple[x509.Certificate, ...] = ()
    valid_at: bool = False
    revoked: bool = False
    revocation_reason: str | None = None
    revoked_at: dt.datetime | None = None
    revocation_checked: bool = False
    error: str | None = None


@dataclass
class CacheStats:
    chain_builds: int = 0
    hits: int = 0


@dataclass(frozen=True)
class _Chain:
    trusted: bool
    chain: tuple[x509.Certificate, ...]
    windows: tuple[tuple[dt.datetime, dt.datetime], ...]
    error: str | None = None


@dataclass
class TrustStore:
    """The national roots and their CRLs; checks certificates against them."""

    roots: Sequence[x509.Certificate]
    crls: Sequence[x509.CertificateRevocationList] = ()
    stats: CacheStats = field(default_factory=CacheStats)

    def __post_init__(self) -> None:
        self.roots = list(self.roots)
        self._store = Store(self.roots)
        self._chains: dict[tuple[bytes, ...], _Chain] = {}
        self._crls: dict[x509.Name, x509.CertificateRevocationList] = {}
        self._fingerprints: dict[int, tuple[x509.Certificate, bytes]] = {}
        for crl in self.crls:
            self.update_crl(crl)

    def update_crl(self, crl: x509.CertificateRevocationList) -> None:
        """Adopt a newer CRL; refuses one that no trusted root signed."""
        issuer = next((r for r in self.roots if r.subject == crl.issuer), None)
        if issuer is None or not crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]
            raise ValueError("the CRL is not signed by a trusted root")
        self._crls[crl.issuer] = crl

    def check(
        self,
        cert: x509.Certificate,
        intermediates: Sequence[x509.Certificate] = (),
        at: dt.datetime | None = None,
    ) -> CertificateStatus:
        """Whether `cert` chains to a root, and is valid and unrevoked at `at` (default now)."""
        when = at or dt.datetime.now(dt.UTC)
        built = self._chain(cert, intermediates)
        if not built.trusted:
            return CertificateStatus(trusted=False, error=built.error)
        valid = all(start <= when <= end for start, end in built.windows)
        revoked, reason, revoked_at, checked = False, None, None, True
        for member in built.chain[:-1]:
            crl = self._crls.get(member.issuer)
            if crl is None:
                checked = False
                continue
            entry = crl.get_revoked_certificate_by_serial_number(member.serial_number)
            if entry is not None and entry.revocation_date_utc <= when:
                revoked, revoked_at = True, entry.revocation_date_utc
                reason = _reason_of(entry)
                break
        return CertificateStatus(
            trusted=True,
            chain=built.chain,
            valid_at=valid,
            revoked=revoked,
            revocation_reason=reason,
            revoked_at=revoked_at,
            revocation_checked=checked,
        )

    def _chain(self, cert: x509.Certificate, intermediates: Sequence[x509.Certificate]) -> _Chain:
        key = tuple(self._fingerprint(c) for c in (cert, *intermediates))
        cached = self._chains.get(key)
        if cached is not None:
            self.stats.hits += 1
            return cached
        self.stats.chain_builds += 1
        built = self._build(cert, list(intermediates))
        if len(self._chains) >= MAX_CACHED_CHAINS:
            self._chains.clear()
        self._chains[key] = built
        return built

    def _fingerprint(self, cert: x509.Certificate) -> bytes:
        # Hashing the DER costs as much as the rest of a cached check, and
        # callers hand the same certificate objects again and again.
        known = self._fingerprints.get(id(cert))
        if known is not None and known[0] is cert:
            return known[1]
        digest = cert.fingerprint(hashes.SHA256())
        if len(self._fingerprints) >= MAX_CACHED_CHAINS:
            self._fingerprints.clear()
        self._fingerprints[id(cert)] = (cert, digest)
        return digest

    def _build(self, cert: x509.Certificate, intermediates: list[x509.Certificate]) -> _Chain:
        # The chain is judged at an instant inside the leaf's own validity, so
        # that expiry shows up as CERTIFICATE_EXPIRED at signing time, not as distrust.
        error = "no chain to a trusted root"
        start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
        for instant in (start, end, start + (end - start) / 2):
            verifier = (
                PolicyBuilder()
                .store(self._store)
                .time(instant)
                .extension_policies(
                    ca_policy=ExtensionPolicy.webpki_defaults_ca(),
                    ee_policy=ExtensionPolicy.permit_all(),
                )
                .build_client_verifier()
            )
            try:
                verified = verifier.verify(cert, intermediates)
            except VerificationError as exc:
                error = str(exc)
                continue
            chain = tuple(verified.chain)
            windows = tuple((c.not_valid_before_utc, c.not_valid_after_utc) for c in chain)
            return _Chain(trusted=True, chain=chain, windows=windows)
        return _Chain(trusted=False, chain=(), windows=(), error=error)


def _reason_of(entry: x509.RevokedCertificate) -> str:
    try:
        return str(entry.extensions.get_extension_for_class(x509.CRLReason).value.reason.value)
    except x509.ExtensionNotFound:
        return "unspecified"
