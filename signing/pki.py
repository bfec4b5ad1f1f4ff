"""The national CA: issues organisation, official, hub and TLS server certificates; revokes them.

A CA lives in a directory: `ca.key` (0600), `ca.crt`, `ca.json` (settings) and
`revoked.json` (the revocation list the signed CRL is made from).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from signing.certs import POLICY_OIDS, cert_to_pem, load_certificate
from signing.keys import KeyType, PrivateKey, generate_key, load_private_key, save_private_key

IssueKind = Literal["organization", "official", "hub"]
ISSUE_KINDS: tuple[str, ...] = ("organization", "official", "hub")
DEFAULT_CRL_URL = "http://pki.lienthong.invalid/crl/national-root.crl"
REVOCATION_REASONS: dict[str, x509.ReasonFlags] = {
    "unspecified": x509.ReasonFlags.unspecified,
    "key_compromise": x509.ReasonFlags.key_compromise,
    "affiliation_changed": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessation_of_operation": x509.ReasonFlags.cessation_of_operation,
    "certificate_hold": x509.ReasonFlags.certificate_hold,
    "privilege_withdrawn": x509.ReasonFlags.privilege_withdrawn,
}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _hash_for_signer(key: PrivateKey) -> hashes.SHA256 | None:
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


@dataclass(frozen=True)
class IssuedCertificate:
    """A certificate, its private key and the chain up to (and including) the root."""

    cert: x509.Certificate
    key: PrivateKey
    chain: list[x509.Certificate] = field(default_factory=list)

    @property
    def full_chain(self) -> list[x509.Certificate]:
        """The certificate followed by its chain: what goes into `x5c`."""
        return [self.cert, *self.chain]

    def save(self, prefix: str | os.PathLike[str]) -> tuple[Path, Path]:
        """Write `PREFIX.key` (0600) and `PREFIX.crt` (the certificate, then its chain)."""
        base = Path(prefix)
        key_path = save_private_key(base.with_name(base.name + ".key"), self.key)
        crt_path = base.with_name(base.name + ".crt")
        crt_path.write_bytes(b"".join(cert_to_pem(c) for c in self.full_chain))
        return key_path, crt_path


@dataclass(frozen=True)
class Revocation:
    serial: int
    reason: str
    at: dt.datetime


class CertificateAuthority:
    """The national signing authority (a self-signed root), kept in one directory."""

    def __init__(
        self, directory: Path, certificate: x509.Certificate, key: PrivateKey, crl_url: str
    ) -> None:
        self.directory = directory
        self.certificate = certificate
        self.key = key
        self.crl_url = crl_url

    @classmethod
    def init(
        cls,
        directory: str | os.PathLike[str],
        name: str = "National Root CA (Ban Co yeu Chinh phu, simulated)",
        days: int = 3650,
        *,
        not_before: dt.datetime | None = None,
        key_type: KeyType = "ec",
        crl_url: str = DEFAULT_CRL_URL,
        key: PrivateKey | None = None,
        serial_number: int | None = None,
    ) -> CertificateAuthority:
        """Create a new root in `directory` (refuses to overwrite an existing one).

        `key` and `serial_number` (default: fresh, random) make a reproducible root
        (the test vectors in docs/vectors).
        """
        path = Path(directory)
        if (path / "ca.key").exists():
            raise FileExistsError(f"a CA already exists in {path}")
        path.mkdir(parents=True, exist_ok=True)
        key = key or generate_key(key_type)
        start = not_before or _now() - dt.timedelta(days=1)
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
                x509.NameAttribute(NameOID.COMMON_NAME, name),
            ]
        )
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(serial_number or x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(_key_usage(cert_sign=True), critical=True)
            .add_extension(ski, critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
                critical=False,
            )
            .sign(key, _hash_for_signer(key))
        )
        save_private_key(path / "ca.key", key)
        (path / "ca.crt").write_bytes(cert_to_pem(cert))
        (path / "ca.json").write_text(json.dumps({"crl_url": crl_url}))
        (path / "revoked.json").write_text("[]")
        return cls(path, cert, key, crl_url)

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> CertificateAuthority:
        path = Path(directory)
        if not (path / "ca.key").exists():
            raise FileNotFoundError(f"no CA in {path} (run `lienthong pki init-ca`)")
        settings = json.loads((path / "ca.json").read_text())
        return cls(
            path,
            load_certificate(path / "ca.crt"),
            load_private_key(path / "ca.key"),
            str(settings.get("crl_url", DEFAULT_CRL_URL)),
        )

    def issue(
        self,
        kind: IssueKind,
        code: str,
        name: str,
        title: str | None = None,
        key_type: KeyType = "ec",
        days: int = 730,
        not_before: dt.datetime | None = None,
        organization_name: str | None = None,
        *,
        key: PrivateKey | None = None,
        serial_number: int | None = None,
    ) -> IssuedCertificate:
        """Issue a certificate with a fresh key (or for `key`, an existing one).

        `name` is the organisation's name for `organization` and `hub`, the
        person's name for `official` (whose organisation is
        `organization_name`, defaulting to the code). `not_before` and `days`
        let tests make expired and not-yet-valid certificates; `key` and
        `serial_number` (default: fresh, random) make reproducible ones.
        """
        if kind not in ISSUE_KINDS:
            raise ValueError(f"unknown certificate kind {kind!r}")
        key = key or generate_key(key_type)
        start = not_before or _now() - dt.timedelta(minutes=5)
        org = name if kind != "official" else (organization_name or code)
        attrs = [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, code),
        ]
        if title:
            attrs.append(x509.NameAttribute(NameOID.TITLE, title))
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, name))
        builder = self._leaf(x509.Name(attrs), key, start, days, serial_number)
        builder = self._key_ids(
            builder.add_extension(_key_usage(non_repudiation=kind != "hub"), critical=True), key
        )
        builder = builder.add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        full_name=[x509.UniformResourceIdentifier(self.crl_url)],
                        relative_name=None,
                        reasons=None,
                        crl_issuer=None,
                    )
                ]
            ),
            critical=False,
        ).add_extension(
            x509.CertificatePolicies([x509.PolicyInformation(POLICY_OIDS[kind], None)]),
            critical=False,
        )
        cert = builder.sign(self.key, _hash_for_signer(self.key))
        return IssuedCertificate(cert=cert, key=key, chain=[self.certificate])

    def issue_tls_server(
        self, names: Sequence[str], *, key_type: KeyType = "ec", days: int = 397
    ) -> IssuedCertificate:
        """A TLS server certificate for the reverse proxy in front of the hubs.

        `names` go in the subject alternative name: DNS names, or IP addresses
        where they parse as one. Extended key usage: server authentication only.
        """
        if not names:
            raise ValueError("a TLS server certificate needs at least one DNS name or address")
        key = generate_key(key_type)
        start = _now() - dt.timedelta(minutes=5)
        alt_names: list[x509.GeneralName] = []
        for name in names:
            try:
                alt_names.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                alt_names.append(x509.DNSName(name))
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
        builder = (
            self._leaf(subject, key, start, days)
            .add_extension(_key_usage(), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        )
        cert = self._key_ids(builder, key).sign(self.key, _hash_for_signer(self.key))
        return IssuedCertificate(cert=cert, key=key, chain=[self.certificate])

    def _leaf(
        self,
        subject: x509.Name,
        key: PrivateKey,
        start: dt.datetime,
        days: int,
        serial_number: int | None = None,
    ) -> x509.CertificateBuilder:
        """What every end-entity certificate of this CA starts with: subject, issuer, key,
        serial (random by default), validity from `start`, not a CA."""
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(serial_number or x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        )

    def _key_ids(
        self, builder: x509.CertificateBuilder, key: PrivateKey
    ) -> x509.CertificateBuilder:
        """The subject's and this CA's key identifiers (chain building follows them)."""
        ca_ski = self.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        return builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        ).add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski.value),
            critical=False,
        )

    # -- revocation ---------------------------------------------------------------

    def revocations(self) -> list[Revocation]:
        raw = json.loads((self.directory / "revoked.json").read_text())
        return [
            Revocation(int(r["serial"], 16), r["reason"], dt.datetime.fromisoformat(r["at"]))
            for r in raw
        ]

    def revoke(
        self, cert: x509.Certificate, reason: str = "unspecified", at: dt.datetime | None = None
    ) -> Revocation:
        """Record that `cert` is revoked since `at` (default now) for `reason`."""
        if reason not in REVOCATION_REASONS:
            raise ValueError(
                f"unknown revocation reason {reason!r}; expected one of "
                + ", ".join(REVOCATION_REASONS)
            )
        if cert.issuer != self.certificate.subject:
            raise ValueError("this certificate was not issued by this CA")
        when = (at or _now()).astimezone(dt.UTC).replace(microsecond=0)
        entries = [r for r in self.revocations() if r.serial != cert.serial_number]
        entries.append(Revocation(cert.serial_number, reason, when))
        (self.directory / "revoked.json").write_text(
            json.dumps(
                [
                    {"serial": f"{r.serial:x}", "reason": r.reason, "at": r.at.isoformat()}
                    for r in entries
                ],
                indent=1,
            )
        )
        return entries[-1]

    def crl(
        self, next_update_days: int = 7, *, now: dt.datetime | None = None
    ) -> x509.CertificateRevocationList:
        """A freshly signed CRL of every revocation so far (issued `now`, default now)."""
        now = now or _now()
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.certificate.subject)
            .last_update(now)
            .next_update(now + dt.timedelta(days=next_update_days))
            .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
        )
        for r in self.revocations():
            entry = (
                x509.RevokedCertificateBuilder()
                .serial_number(r.serial)
                .revocation_date(r.at)
                .add_extension(x509.CRLReason(REVOCATION_REASONS[r.reason]), critical=False)
                .build()
            )
            builder = builder.add_revoked_certificate(entry)
        return builder.sign(self.key, _hash_for_signer(self.key))

    def crl_pem(self, next_update_days: int = 7) -> bytes:
        """`crl()` as PEM: what `crl.pem` holds and the hub reads."""
        return _crl_pem(self.crl(next_update_days))


def _crl_pem(crl: x509.CertificateRevocationList) -> bytes:
    return crl.public_bytes(serialization.Encoding.PEM)


def _key_usage(*, cert_sign: bool = False, non_repudiation: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=non_repudiation,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


__all__ = ["CertificateAuthority", "IssuedCertificate", "Revocation"]
