"""What the registry's routes need from the process hosting them (the hub).

The registry may not import the hub (dependencies point `registry` <- `hub`),
so it states what it needs as protocols; the hub's `HubContext`, stored at
`app.state.hub`, satisfies them.
"""

from __future__ import annotations

from typing import Protocol

from cryptography import x509
from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from signing.keys import KeyLike


class DirectorySettings(Protocol):
    """The host's settings the registry reads: its id, the directory's lifetime, mutual TLS."""

    @property
    def hub_id(self) -> str: ...

    @property
    def directory_ttl_seconds(self) -> int: ...

    @property
    def client_cert_header(self) -> str | None: ...


class SigningIdentity(Protocol):
    """The hub's key, certificate chain, national roots and current CRL."""

    @property
    def key(self) -> KeyLike: ...

    @property
    def chain(self) -> list[x509.Certificate]: ...

    @property
    def roots(self) -> list[x509.Certificate]: ...

    @property
    def crl(self) -> x509.CertificateRevocationList | None: ...


class RegistryContext(Protocol):
    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]: ...

    @property
    def identity(self) -> SigningIdentity: ...

    @property
    def settings(self) -> DirectorySettings: ...


def registry_context(request: Request) -> RegistryContext:
    """FastAPI dependency: the hosting app's context (`app.state.hub`)."""
    context: RegistryContext = request.app.state.hub
    return context
