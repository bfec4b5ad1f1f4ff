"""Reading certificates and the facts a certificate carries about its holder."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID, ObjectIdentifier

CertKind = Literal["organization", "official", "hub", "ca"]

# Certificate-policy OIDs marking what a certificate is for. The arc is this
# project's own (a stand-in for the national CA's policy OIDs).
POLICY_OIDS: dict[str, ObjectIdentifier] = {
    "organization": ObjectIdentifier("1.3.6.1.4.1.59999.1.1"),
    "official": ObjectIdentifier("1.3.6.1.4.1.59999.1.2"),
    "hub": ObjectIdentifier("1.3.6.1.4.1.59999.1.3"),
}
_KIND_BY_OID = {oid: kind for kind, oid in POLICY_OIDS.items()}


def load_certificates(pem: bytes | str) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle, in order."""
    data = pem.encode() if isinstance(pem, str) else pem
    return x509.load_pem_x509_certificates(data)


def load_certificate(source: str | os.PathLike[str] | bytes) -> x509.Certificate:
    """The first certificate of a PEM or DER file or byte string."""
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    if data.lstrip().startswith(b"-----BEGIN"):
        return load_certificates(data)[0]
    return x509.load_der_x509_certificate(data)


def cert_to_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def cert_der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def fingerprint(cert: x509.Certificate) -> str:
    """Lowercase hex SHA-256 of the DER; also the `kid` of the tokens a certificate signs."""
    return hashlib.sha256(cert_der(cert)).hexdigest()


def _subject_value(cert: x509.Certificate, oid: ObjectIdentifier) -> str | None:
    attrs = cert.subject.get_attributes_for_oid(oid)
    if not attrs:
        return None
    value = attrs[0].value
    return value if isinstance(value, str) else value.decode()


def agency_code_of(cert: x509.Certificate) -> str | None:
    """The agency code in the subject's organizationIdentifier (OID 2.5.4.97)."""
    return _subject_value(cert, NameOID.ORGANIZATION_IDENTIFIER)


def organization_name_of(cert: x509.Certificate) -> str | None:
    return _subject_value(cert, NameOID.ORGANIZATION_NAME)


def common_name_of(cert: x509.Certificate) -> str | None:
    return _subject_value(cert, NameOID.COMMON_NAME)


def title_of(cert: x509.Certificate) -> str | None:
    return _subject_value(cert, NameOID.TITLE)


def cert_kind(cert: x509.Certificate) -> CertKind | None:
    """What the national CA issued the certificate for, from its policy OID."""
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        if bc.ca:
            return "ca"
    except x509.ExtensionNotFound:
        pass
    try:
        policies = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    except x509.ExtensionNotFound:
        return None
    for info in policies:
        kind = _KIND_BY_OID.get(info.policy_identifier)
        if kind is not None:
            return kind  # type: ignore[return-value]
    return None
