"""A node's keys and trust anchors, read from one directory (`--keys DIR`).

The layout, all PEM:

- `org.key` (0600), `org.crt` (certificate, then chain): the organisation; signs
  bearer tokens, the organisation signature and delivery receipts.
- `official.key` (0600), `official.crt`: the competent official; makes the
  personal signature when sending (optional).
- `hub.crt`: the hub certificate, pinned; checks the directory and pushes.
- `ca.crt`: the national root certificate(s); re-verifies received packages.

`lienthong pki issue --kind organization --out DIR/org` (and `--kind official
--out DIR/official`) write the first four; the hub operator hands out `hub.crt`
and `ca.crt`. Without `official.*` a node can still send, but only with the
organisation signature (the hub will count `NO_PERSONAL_SIGNATURE`).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from signing.certs import agency_code_of, load_certificates
from signing.keys import PrivateKey, load_private_key


class IdentityError(ValueError):
    """A key or certificate of the node is missing, unreadable or not the node's."""


@dataclass(frozen=True)
class Signer:
    """A private key with its certificate chain (the certificate first)."""

    key: PrivateKey
    chain: list[x509.Certificate]

    @property
    def certificate(self) -> x509.Certificate:
        return self.chain[0]


@dataclass(frozen=True)
class NodeIdentity:
    """Who a node is (its code and keys) and whom it trusts (pinned hub, national root)."""

    code: str
    organization: Signer
    official: Signer | None
    hub_certificate: x509.Certificate
    roots: list[x509.Certificate]

    @classmethod
    def load(cls, directory: str | os.PathLike[str], code: str | None = None) -> NodeIdentity:
        """Read the `--keys DIR` layout; `code` must match the organisation certificate."""
        base = Path(directory)
        if not base.is_dir():
            raise IdentityError(f"no keys directory at {base}")
        organization = _signer(base, "org")
        if organization is None:
            raise IdentityError(f"{base} has no org.key and org.crt")
        cert_code = agency_code_of(organization.certificate)
        if cert_code is None:
            raise IdentityError(f"{base / 'org.crt'} carries no agency code")
        if code is not None and cert_code != code:
            raise IdentityError(f"{base / 'org.crt'} is for {cert_code}, not {code}")
        hub = _certificates(base / "hub.crt")
        roots = _certificates(base / "ca.crt")
        return cls(cert_code, organization, _signer(base, "official"), hub[0], roots)


def _certificates(path: Path) -> list[x509.Certificate]:
    try:
        certs = load_certificates(path.read_bytes())
    except OSError as exc:
        raise IdentityError(f"cannot read {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise IdentityError(f"{path} is not a PEM certificate: {exc}") from exc
    if not certs:
        raise IdentityError(f"{path} holds no certificate")
    return certs


def _signer(base: Path, name: str) -> Signer | None:
    key_path, crt_path = base / f"{name}.key", base / f"{name}.crt"
    if not key_path.exists() and not crt_path.exists():
        return None
    if not key_path.exists():
        raise IdentityError(f"{crt_path} has no matching {key_path.name}")
    if stat.S_IMODE(key_path.stat().st_mode) & 0o077:
        raise IdentityError(f"{key_path} is readable by others; chmod 600 it")
    try:
        key = load_private_key(key_path)
    except (OSError, ValueError) as exc:
        raise IdentityError(f"cannot read the private key {key_path}: {exc}") from exc
    chain = _certificates(crt_path)
    if _spki(chain[0].public_key()) != _spki(key.public_key()):
        raise IdentityError(f"{key_path} does not match the certificate in {crt_path}")
    return Signer(key, chain)


def _spki(key: PublicKeyTypes) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
