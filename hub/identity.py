"""The hub's own identity and trust anchors, loaded from the PKI directory.

The hub signs receipts, pushed deliveries and the directory with its key, and
verifies every member signature against the national root and its CRL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

from hub.settings import HubSettings
from signing.certs import load_certificates
from signing.keys import KeyLike, load_private_key
from signing.trust import TrustStore


class IdentityError(RuntimeError):
    """The hub cannot start: a key, a certificate or the CRL is missing or unreadable."""


@dataclass
class HubIdentity:
    key: KeyLike
    """The key file's key, or the key on a PKCS#11 token (`hub_pkcs11_*` settings)."""
    chain: list[x509.Certificate]
    roots: list[x509.Certificate]
    crl: x509.CertificateRevocationList | None
    trust: TrustStore
    crl_path: Path | None = None
    _crl_mtime: float = field(default=0.0, repr=False)

    @property
    def certificate(self) -> x509.Certificate:
        return self.chain[0]

    @classmethod
    def load(cls, settings: HubSettings) -> HubIdentity:
        try:
            chain = load_certificates(settings.resolved_hub_cert().read_bytes())
            roots = load_certificates(settings.resolved_ca_cert().read_bytes())
            key = (
                _token_key(settings, chain[0])
                if settings.hub_pkcs11_module
                else load_private_key(settings.resolved_hub_key())
            )
        except (OSError, ValueError) as exc:
            raise IdentityError(
                f"cannot load the hub identity from {settings.resolved_pki_dir()}: {exc}. "
                "Create it with `lienthong pki init-ca` and `lienthong pki issue --kind hub`."
            ) from exc
        crl_path = settings.resolved_crl_file()
        crl, mtime = _read_crl(crl_path)
        trust = TrustStore(roots, crls=[crl] if crl is not None else [])
        return cls(key, chain, roots, crl, trust, crl_path, mtime)

    def refresh_crl(self) -> bool:
        """Reload the CRL if its file changed; return whether it did."""
        if self.crl_path is None:
            return False
        try:
            mtime = self.crl_path.stat().st_mtime
        except OSError:
            return False
        if mtime == self._crl_mtime:
            return False
        crl, mtime = _read_crl(self.crl_path)
        if crl is None:
            return False
        self.crl, self._crl_mtime = crl, mtime
        self.trust.update_crl(crl)
        return True


HUB_PIN_ENV = "LIENTHONG_HUB_PKCS11_PIN"


def _token_key(settings: HubSettings, certificate: x509.Certificate) -> KeyLike:
    """The hub's key on its token or HSM (raises `ValueError`, a `Pkcs11Error`, when it cannot)."""
    from signing.pkcs11 import Pkcs11Key

    if not settings.hub_pkcs11_token or not settings.hub_pkcs11_key:
        raise ValueError("hub_pkcs11_module needs hub_pkcs11_token and hub_pkcs11_key")
    return Pkcs11Key(
        str(settings.hub_pkcs11_module),
        settings.hub_pkcs11_token,
        settings.hub_pkcs11_key,
        public_key=certificate.public_key(),  # type: ignore[arg-type]
        pin_env=HUB_PIN_ENV,
    )


def _read_crl(path: Path) -> tuple[x509.CertificateRevocationList | None, float]:
    try:
        data = path.read_bytes()
        mtime = path.stat().st_mtime
    except OSError:
        return None, 0.0
    try:
        return x509.load_pem_x509_crl(data), mtime
    except ValueError as exc:
        raise IdentityError(f"the CRL at {path} is not a PEM CRL: {exc}") from exc
