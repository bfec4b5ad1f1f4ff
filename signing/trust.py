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
_NEVER = dt.datetime.min.replace(tzinfo=dt.UTC)


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


# A CRL as a dict: serial number -> (revocation time, reason).
_Revoked = dict[int, tuple[dt.datetime, str]]


@dataclass(frozen=True)
class _Plan:
    """A built chain made ready for the per-call check: two comparisons and dict lookups.

    Depends on the CRLs, so the plans are dropped whenever a CRL is adopted.
    """

    untrusted: CertificateStatus | None
    not_before: dt.datetime
    not_after: dt.datetime
    lookups: tuple[tuple[_Revoked | None, int], ...]
    clean: tuple[CertificateStatus, CertificateStatus]  # not revoked: (invalid, valid)


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
        self._plans: dict[tuple[bytes, ...], _Plan] = {}
        self._crls: dict[x509.Name, x509.CertificateRevocationList] = {}
        self._revoked: dict[x509.Name, _Revoked] = {}
        self._fingerprints: dict[int, tuple[x509.Certificate, bytes]] = {}
        for crl in self.crls:
            self.update_crl(crl)

    def update_crl(self, crl: x509.CertificateRevocationList) -> None:
        """Adopt a newer CRL; refuses one that no trusted root signed."""
        issuer = next((r for r in self.roots if r.subject == crl.issuer), None)
        if issuer is None or not crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]
            raise ValueError("the CRL is not signed by a trusted root")
        revoked: _Revoked = {}
        for entry in crl:  # the first entry of a serial wins, as in a lookup by serial
            if entry.serial_number not in revoked:
                revoked[entry.serial_number] = (entry.revocation_date_utc, _reason_of(entry))
        self._crls[crl.issuer] = crl
        self._revoked[crl.issuer] = revoked
        self._plans.clear()

    def check(
        self,
        cert: x509.Certificate,
        intermediates: Sequence[x509.Certificate] = (),
        at: dt.datetime | None = None,
    ) -> CertificateStatus:
        """Whether `cert` chains to a root, and is valid and unrevoked at `at` (default now)."""
        when = at or dt.datetime.now(dt.UTC)
        key = self._key(cert, intermediates)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plan(key, cert, intermediates)
        else:
            self.stats.hits += 1
        if plan.untrusted is not None:
            return plan.untrusted
        valid = plan.not_before <= when <= plan.not_after
        checked = True
        for revoked, serial in plan.lookups:
            if revoked is None:
                checked = False
                continue
            entry = revoked.get(serial)
            if entry is not None and entry[0] <= when:
                return CertificateStatus(
                    trusted=True,
                    chain=plan.clean[0].chain,
                    valid_at=valid,
                    revoked=True,
                    revocation_reason=entry[1],
                    revoked_at=entry[0],
                    revocation_checked=checked,
                )
        return plan.clean[valid]

    def _plan(
        self,
        key: tuple[bytes, ...],
        cert: x509.Certificate,
        intermediates: Sequence[x509.Certificate],
    ) -> _Plan:
        built = self._chain(key, cert, intermediates)
        if not built.trusted:
            untrusted = CertificateStatus(trusted=False, error=built.error)
            plan = _Plan(untrusted, _NEVER, _NEVER, (), (untrusted, untrusted))
        else:
            lookups = tuple(
                (self._revoked.get(member.issuer), member.serial_number)
                for member in built.chain[:-1]
            )
            checked = all(revoked is not None for revoked, _ in lookups)
            invalid, valid = (
                CertificateStatus(
                    trusted=True, chain=built.chain, valid_at=v, revocation_checked=checked
                )
                for v in (False, True)
            )
            plan = _Plan(
                untrusted=None,
                not_before=max(start for start, _ in built.windows),
                not_after=min(end for _, end in built.windows),
                lookups=lookups,
                clean=(invalid, valid),
            )
        if len(self._plans) >= MAX_CACHED_CHAINS:
            self._plans.clear()
        self._plans[key] = plan
        return plan

    def _chain(
        self,
        key: tuple[bytes, ...],
        cert: x509.Certificate,
        intermediates: Sequence[x509.Certificate],
    ) -> _Chain:
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

    def _key(
        self, cert: x509.Certificate, intermediates: Sequence[x509.Certificate]
    ) -> tuple[bytes, ...]:
        return (self._fingerprint(cert), *[self._fingerprint(c) for c in intermediates])

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
