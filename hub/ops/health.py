"""Readiness checks: can this hub process do its job right now?

Like X-Road's health check, each check has a stable name and the answer names
every one that fails. A hub is ready when its database answers, its signing
key works with its certificate, the national root and a current CRL are
loaded, the signed directory it serves (if it has built one) has not
expired, and its data directory (and SQLite database) has free space above
the configured floor.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.identity import HubIdentity, IdentityError
from registry.db import utcnow
from signing.jose import JoseError, sign_compact, verify_compact

CHECK_NAMES = ("database", "signing_key", "ca", "crl", "directory", "disk")
DATABASE_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str = "ok"


async def check_database(engine: AsyncEngine) -> CheckResult:
    """The database answers a trivial query within a couple of seconds, and accepts writes."""
    read_only = False
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT_SECONDS):
            async with engine.connect() as connection:
                if engine.dialect.name == "postgresql":
                    answer = await connection.scalar(text("SHOW transaction_read_only"))
                    read_only = answer == "on"
                else:
                    await connection.execute(text("SELECT 1"))
    except TimeoutError:
        return CheckResult("database", False, "the database did not answer in time")
    except Exception as exc:
        return CheckResult("database", False, f"the database is unreachable: {type(exc).__name__}")
    sqlite_file = sqlite_path(engine)
    if sqlite_file is not None and not _writable(sqlite_file):
        read_only = True
    if read_only:
        return CheckResult("database", False, "the database is read-only")
    return CheckResult("database", True)


def sqlite_path(engine: AsyncEngine) -> Path | None:
    """The SQLite database file of `engine`, or None (PostgreSQL, or in memory)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    return Path(database)


def _writable(path: Path) -> bool:
    """Whether SQLite can write `path` (and its journal beside it)."""
    try:
        if os.statvfs(path.parent).f_flag & os.ST_RDONLY:
            return False
    except OSError:
        return False
    return os.access(path.parent, os.W_OK) and (not path.exists() or os.access(path, os.W_OK))


def check_disk(directories: Iterable[Path], min_free_bytes: int) -> CheckResult:
    """Every directory the hub writes to has at least `min_free_bytes` free."""
    for directory in directories:
        try:
            free = shutil.disk_usage(directory).free
        except OSError as exc:
            return CheckResult("disk", False, f"cannot read the free space of {directory}: {exc}")
        if free < min_free_bytes:
            return CheckResult(
                "disk",
                False,
                f"{free // (1024 * 1024)} MiB free in {directory}, "
                f"under the floor of {min_free_bytes // (1024 * 1024)} MiB",
            )
    return CheckResult("disk", True)


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
    *,
    data_dir: Path | None = None,
    min_free_bytes: int = 0,
) -> list[CheckResult]:
    """Every check, in `CHECK_NAMES` order."""
    now = clock()
    directories = [] if data_dir is None else [data_dir]
    sqlite_file = sqlite_path(engine)
    if sqlite_file is not None and sqlite_file.parent not in directories:
        directories.append(sqlite_file.parent)
    return [
        await check_database(engine),
        check_signing_key(identity, now),
        check_ca(identity, now),
        check_crl(identity, now),
        check_directory(directory_built_at, directory_ttl_seconds),
        check_disk(directories, min_free_bytes),
    ]
