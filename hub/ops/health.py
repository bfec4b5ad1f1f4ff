"""Readiness checks: can this hub process do its job right now?

Like X-Road's health check, each check has a stable name and the answer names
every one that fails. A hub is ready when its database answers, its signing
key works with its certificate, the national root and a current CRL are
loaded, and the signed directory it serves (if it has built one) has not
expired.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.identity import HubIdentity, IdentityError
from registry.db import utcnow
from signing.jose import JoseError, sign_compact, verify_compact

CHECK_NAMES = ("database", "signing_key", "ca", "crl", "directory")
DATABASE_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str = "ok"


async def check_database(engine: AsyncEngine) -> CheckResult:
    """The database answers a trivial query within a couple of seconds."""
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT_SECONDS):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except TimeoutError:
        return CheckResult("database", False, "the database did not answer in time")
    except Exception as exc:
        return CheckResult("database", False, f"the database is unreachable: {type(exc).__name__}")
    return CheckResult("database", True)


def check_signing_key(identity: HubIdentity, now: datetime) -> CheckResult:
    """The key signs, its certificate verifies that signature, and the certificate is valid."""
    cert = identity.certificate
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        return CheckResult("signing_key", False, "the hub certificate is not valid now")
    try:
        verify_compact(sign_compact({"probe": True}, identity.key, cert), cert)
    except (JoseError, ValueError, TypeError) as exc:
        return CheckResult(
            "signing_key", False, f"the hub key does not match its certificate: {exc}"
        )
    return CheckResult("signing_key", True)


def check_ca(identity: HubIdentity, now: datetime) -> CheckResult:
    """At least one national root is loaded and valid."""
    valid = [r for r in identity.roots if r.not_valid_before_utc <= now <= r.not_valid_after_utc]
    if not valid:
        return CheckResult("ca", False, "no valid national root certificate is loaded")
    return CheckResult("ca", True)


def check_crl(identity: HubIdentity, now: datetime) -> CheckResult:
    """A CRL from the national root is loaded and has not passed its next update."""
    try:
        identity.refresh_crl()
    except IdentityError as exc:
        return CheckResult("crl", False, str(exc))
    crl = identity.crl
    if crl is None:
        return CheckResult("crl", False, f"no CRL is loaded (expected at {identity.crl_path})")
    if not any(_crl_signed_by(crl, root) for root in identity.roots):
        return CheckResult("crl", False, "the CRL is not signed by the national root")
    if crl.next_update_utc is not None and crl.next_update_utc < now:
        return CheckResult("crl", False, f"the CRL expired at {crl.next_update_utc.isoformat()}")
    return CheckResult("crl", True)


def _crl_signed_by(crl: x509.CertificateRevocationList, root: x509.Certificate) -> bool:
    try:
        return crl.issuer == root.subject and crl.is_signature_valid(root.public_key())  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def check_directory(built_at: float | None, ttl_seconds: int) -> CheckResult:
    """The signed directory this process serves, if built, is still within its validity."""
    if built_at is not None and time.monotonic() - built_at > ttl_seconds:
        return CheckResult("directory", False, "the signed directory served here has expired")
    return CheckResult("directory", True)


async def readiness(
    engine: AsyncEngine,
    identity: HubIdentity,
    directory_built_at: float | None,
    directory_ttl_seconds: int,
    clock: Callable[[], datetime] = utcnow,
) -> list[CheckResult]:
    """Every check, in `CHECK_NAMES` order."""
    now = clock()
    return [
        await check_database(engine),
        check_signing_key(identity, now),
        check_ca(identity, now),
        check_crl(identity, now),
        check_directory(directory_built_at, directory_ttl_seconds),
    ]
