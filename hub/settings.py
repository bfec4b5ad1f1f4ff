"""The hub's settings, read from `LIENTHONG_*` environment variables."""

from __future__ import annotations

from pathlib import Path

from registry.settings import StorageSettings


class HubSettings(StorageSettings):
    """Everything a hub process needs to know; documented in the README."""

    hub_id: str = "lienthong-hub"
    """The hub's identity: the `aud` members put in their tokens, published in the directory."""

    pki_dir: Path | None = None
    """Directory holding `ca.crt`, `crl.pem`, `hub.key` and `hub.crt`. Unset: `{data_dir}/pki`."""

    hub_key: Path | None = None
    """The hub's private key (PEM). Unset: `{pki_dir}/hub.key`."""

    hub_cert: Path | None = None
    """The hub's certificate (PEM), chain after it allowed. Unset: `{pki_dir}/hub.crt`."""

    ca_cert: Path | None = None
    """The national root certificate(s) (PEM). Unset: `{pki_dir}/ca.crt`."""

    crl_file: Path | None = None
    """The CA's current CRL (PEM). Unset: `{pki_dir}/crl.pem`; reloaded when it changes."""

    max_package_bytes: int = 50 * 1024 * 1024
    """The largest request body accepted by `POST /v1/documents`; over it the answer is 413."""

    directory_ttl_seconds: int = 3600
    """How long a signed directory stays valid (`expires_at - generated_at`)."""

    def resolved_pki_dir(self) -> Path:
        return self.pki_dir if self.pki_dir is not None else self.data_dir / "pki"

    def resolved_hub_key(self) -> Path:
        return self.hub_key or self.resolved_pki_dir() / "hub.key"

    def resolved_hub_cert(self) -> Path:
        return self.hub_cert or self.resolved_pki_dir() / "hub.crt"

    def resolved_ca_cert(self) -> Path:
        return self.ca_cert or self.resolved_pki_dir() / "ca.crt"

    def resolved_crl_file(self) -> Path:
        return self.crl_file or self.resolved_pki_dir() / "crl.pem"
