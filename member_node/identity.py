"""A node's keys and trust anchors, read from one directory (`--keys DIR`).

The layout, all PEM:

- `org.key` (0600), `org.crt` (certificate, then chain): the organisation; signs
  bearer tokens, the organisation signature and delivery receipts.
- `official.key` (0600), `official.crt`: the competent official; makes the
  personal signature when sending (optional).
- `tls.key` (0600), `tls.crt`: an authentication certificate of the organisation
  (optional), shown as TLS client certificate instead of `org.crt`. A node whose
  organisation key lives on a token needs one for mutual TLS: OpenSSL, as Python's
  `ssl` uses it, takes a client key only from a file. Like X-Road's authentication
  certificate, it is registered on the hub for authentication only (`auth: true,
  signing: false`) and signs nothing.
- `hub.crt`: the hub certificate, pinned; checks the directory and pushes.
- `ca.crt`: the national root certificate(s); re-verifies received packages.

`lienthong pki issue --kind organization --out DIR/org` (and `--kind official
--out DIR/official`) write the first four; the hub operator hands out `hub.crt`
and `ca.crt`. Without `official.*` a node can still send, but only with the
organisation signature (the hub will count `NO_PERSONAL_SIGNATURE`).

Keys on hardware tokens: with `TokenKeys` (a PKCS#11 module, the token's
label, each key's label; the PIN from `LIENTHONG_PKCS11_PIN`), the key named
there is used instead of `org.key` / `official.key`; the certificates stay
`org.crt` / `official.crt` in the directory.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from signing.certs import agency_code_of, load_certificates
from signing.keys import KeyLike, load_private_key


class IdentityError(ValueError):
    """A key or certificate of the node is missing, unreadable or not the node's."""


@dataclass(frozen=True)
class Signer:
    """A private key with its certificate chain (the certificate first)."""

    key: KeyLike
    """A key read from a PEM file, or a `SigningKey` such as a PKCS#11 token's."""
    chain: list[x509.Certificate]

    @property
    def certificate(self) -> x509.Certificate:
        return self.chain[0]


PIN_ENV = "LIENTHONG_PKCS11_PIN"
OFFICIAL_PIN_ENV = "LIENTHONG_PKCS11_OFFICIAL_PIN"


@dataclass(frozen=True)
class TokenKeys:
    """Which keys live on PKCS#11 tokens (the rest are read from the keys directory)."""

    module: str
    """The token's PKCS#11 module, e.g. `/usr/lib/softhsm/libsofthsm2.so`."""
    token: str
    """The token's label."""
    org_key: str | None = None
    """Label of the organisation's private key on the token."""
    official_key: str | None = None
    """Label of the official's private key (on `official_token` when that is set)."""
    official_token: str | None = None
    """The official's own token (a second USB token), if not the same one."""
    pin: str | None = field(default=None, repr=False)
    official_pin: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, **given: str | None
    ) -> TokenKeys | None:
        """Options given (None ones left out) over `LIENTHONG_PKCS11_*` variables; None if no
        module is named. PINs only ever come from the environment."""
        source = os.environ if env is None else env
        names = {
            "module": "LIENTHONG_PKCS11_MODULE",
            "token": "LIENTHONG_PKCS11_TOKEN",
            "org_key": "LIENTHONG_PKCS11_ORG_KEY",
            "official_key": "LIENTHONG_PKCS11_OFFICIAL_KEY",
            "official_token": "LIENTHONG_PKCS11_OFFICIAL_TOKEN",
        }
        values = {k: given.get(k) or source.get(v) or None for k, v in names.items()}
        if not values["module"]:
            return None
        if not values["token"]:
            raise IdentityError("a PKCS#11 module needs the token's label (LIENTHONG_PKCS11_TOKEN)")
        pin = source.get(PIN_ENV)
        return cls(
            module=str(values["module"]),
            token=str(values["token"]),
            org_key=values["org_key"],
            official_key=values["official_key"],
            official_token=values["official_token"],
            pin=pin,
            official_pin=source.get(OFFICIAL_PIN_ENV) or pin,
        )


@dataclass(frozen=True)
class NodeIdentity:
    """Who a node is (its code and keys) and whom it trusts (pinned hub, national root)."""

    code: str
    organization: Signer
    official: Signer | None
    hub_certificate: x509.Certificate
    roots: list[x509.Certificate]
    tls: Signer | None = None
    """The TLS client certificate and its file key, when it is not the organisation's."""

    @property
    def tls_client(self) -> Signer:
        """What the node shows in TLS: `tls`, else the organisation's certificate."""
        return self.tls or self.organization

    @classmethod
    def load(
        cls,
        directory: str | os.PathLike[str],
        code: str | None = None,
        *,
        tokens: TokenKeys | None = None,
    ) -> NodeIdentity:
        """Read the `--keys DIR` layout; `code` must match the organisation certificate.

        With `tokens`, the keys it names are opened on their PKCS#11 token instead.
        """
        base = Path(directory)
        if not base.is_dir():
            raise IdentityError(f"no keys directory at {base}")
        organization = _signer(base, "org", tokens)
        if organization is None:
            raise IdentityError(f"{base} has no org.key and org.crt")
        cert_code = agency_code_of(organization.certificate)
        if cert_code is None:
            raise IdentityError(f"{base / 'org.crt'} carries no agency code")
        if code is not None and cert_code != code:
            raise IdentityError(f"{base / 'org.crt'} is for {cert_code}, not {code}")
        hub = _certificates(base / "hub.crt")
        roots = _certificates(base / "ca.crt")
        tls = _signer(base, "tls")
        if tls is not None and agency_code_of(tls.certificate) != cert_code:
            raise IdentityError(f"{base / 'tls.crt'} is not a certificate of {cert_code}")
        official = _signer(base, "official", tokens)
        return cls(cert_code, organization, official, hub[0], roots, tls)


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


def _token_signer(crt_path: Path, tokens: TokenKeys, name: str) -> Signer:
    from signing.pkcs11 import Pkcs11Error, Pkcs11Key

    official = name == "official"
    label = tokens.official_key if official else tokens.org_key
    assert label is not None
    token = (tokens.official_token or tokens.token) if official else tokens.token
    chain = _certificates(crt_path)
    try:
        key = Pkcs11Key(
            tokens.module,
            token,
            label,
            public_key=chain[0].public_key(),  # type: ignore[arg-type]
            pin=tokens.official_pin if official else tokens.pin,
        )
    except Pkcs11Error as exc:
        raise IdentityError(f"{name} key on PKCS#11 token {token!r}: {exc}") from exc
    return Signer(key, chain)


def _signer(base: Path, name: str, tokens: TokenKeys | None = None) -> Signer | None:
    key_path, crt_path = base / f"{name}.key", base / f"{name}.crt"
    if tokens is not None and name != "tls":
        on_token = tokens.official_key if name == "official" else tokens.org_key
    else:
        on_token = None
    if tokens is not None and on_token:
        return _token_signer(crt_path, tokens, name)
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
