"""Submission: read, check, verify and durably accept a package (`POST /v1/documents`).

`202` means the document, its attachment bodies (once per SHA-256) and one
delivery job per accepted recipient are committed in one transaction. Every
refusal is a `Problem` with a stable code raised before anything is written.
Parsing, hashing and signature verification are CPU work: done on the event
loop for a typical package (under a millisecond), in a small pool of threads
for a large one so the event loop keeps serving; concurrent submissions
are then committed together (`hub.ingest.batcher`, `hub.ingest.writer`).
"""

from __future__ import annotations

import asyncio
import unicodedata
import uuid
from collections.abc import AsyncIterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import ClientDisconnect

from hub.identity import HubIdentity
from hub.ingest.batcher import GroupCommit
from hub.ingest.writer import Accepted, IngestWriter, Submission, result_of
from registry.db import utcnow
from registry.problems import Problem
from signing.package import Package, PackageFormatError, manifest_digest, parse_package
from signing.trust import TrustStore
from signing.verify import Verdict, verify_package
from signing.workdays import DEFAULT_CALENDAR, WorkCalendar

_FORBIDDEN_NAME_CATEGORIES = {"Cc", "Cf", "Zl", "Zp"}
INLINE_CHECK_BYTES = 256 * 1024
"""Bodies up to this size are checked on the event loop (well under a millisecond for a
typical package): handing them to a thread cost more CPU in GIL handoffs than the
parallel ECDSA saved (one worker under load: 2.3 ms of CPU per document inline,
2.5-3.2 ms through threads; two workers: 583 against 483 documents/s)."""
CHECKER_THREADS = 2
"""Threads for larger bodies, which would hold the event loop too long: one per core."""
CONCURRENT_BATCHES = {"postgresql": 2}
"""Batches in flight at once per database (else one): on PostgreSQL one batch is
staged while the other commits, which kept one saturated worker busy 90% of the
time instead of 78%; SQLite has a single write lock, so a second batch only waits."""


@dataclass
class Checked:
    """A package that passed every check that needs no database, with its verdict."""

    package: Package
    digest: str
    verdict: Verdict
    blobs: list[dict[str, Any]]


async def read_limited(chunks: AsyncIterable[bytes], limit: int, declared: str | None) -> bytes:
    """The request body, refused with 413 as soon as it passes `limit` bytes."""
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    body = bytearray()
    try:
        async for chunk in chunks:
            body += chunk
            if len(body) > limit:
                raise _too_large(limit)
    except ClientDisconnect:
        raise Problem(400, "client_disconnected", "the body ended before it was complete") from None
    return bytes(body)


def _too_large(limit: int) -> Problem:
    return Problem(413, "payload_too_large", f"the package is larger than {limit} bytes")


def check_package(
    body: bytes,
    sender: str,
    trust: TrustStore,
    received_at: datetime,
    calendar: WorkCalendar = DEFAULT_CALENDAR,
) -> Checked:
    """Parse and check a submitted body, then verify its signatures (CPU-bound);
    `calendar` holds the working days LATE_DISPATCH counts."""
    package = _parse(body)
    if package.sender != sender:
        raise Problem(
            403,
            "sender_mismatch",
            f"the package's sender {package.sender} is not the authenticated member {sender}",
        )
    _check_recipients(package)
    blobs = _check_attachments(package)
    verdict = verify_package(
        package, trust, received_at=received_at, sender=sender, holidays=calendar
    )
    return Checked(package, manifest_digest(package), verdict, blobs)


def _parse(body: bytes) -> Package:
    try:
        return parse_package(body)
    except PackageFormatError as exc:
        if exc.code == "not_json":
            raise Problem(400, exc.code, exc.detail) from exc
        raise Problem(422, exc.code, exc.detail, errors=exc.fields) from exc


def _check_recipients(package: Package) -> None:
    seen: set[str] = set()
    duplicates: set[str] = set()
    for recipient in package.recipients:
        (duplicates if recipient in seen else seen).add(recipient)
    if duplicates:
        raise Problem(
            422,
            "duplicate_recipient",
            f"recipients listed more than once: {', '.join(sorted(duplicates))}",
            errors=[
                {"field": "recipients", "message": f"duplicate {r}"} for r in sorted(duplicates)
            ],
        )
    if package.sender in seen:
        raise Problem(
            422,
            "sender_among_recipients",
            "a member cannot send a document to itself",
            errors=[{"field": "recipients", "message": f"{package.sender} is the sender"}],
        )


def _is_safe_name(name: str) -> bool:
    if name in {".", ".."} or "/" in name or "\\" in name:
        return False
    return all(unicodedata.category(c) not in _FORBIDDEN_NAME_CATEGORIES for c in name)


def _check_attachments(package: Package) -> list[dict[str, Any]]:
    bad_names = [
        {"field": f"attachments.{i}.name", "message": "no path separators or control characters"}
        for i, a in enumerate(package.attachments)
        if not _is_safe_name(a.name)
    ]
    if bad_names:
        raise Problem(
            422, "invalid_attachment_name", "an attachment name is not a plain file name",
            errors=bad_names,
        )  # fmt: skip
    altered = [
        {"field": f"attachments.{i}.content", "message": "does not match its size and sha256"}
        for i, a in enumerate(package.attachments)
        if not a.intact
    ]
    if altered:
        raise Problem(
            422,
            "attachment_digest_mismatch",
            "an attachment's content does not match its declared size and SHA-256",
            errors=altered,
        )
    blobs: dict[str, dict[str, Any]] = {}
    for a in package.attachments:
        blobs.setdefault(a.sha256, {"sha256": a.sha256, "size": a.size, "content": a.data})
    return list(blobs.values())


def stored_package(package: Package) -> str:
    """The package as stored: given fields only, attachment content removed."""
    return package.model_dump_json(
        exclude_unset=True, exclude={"attachments": {"__all__": {"content"}}}
    )


class Ingest:
    """Submission for one hub process: checks in worker threads, writes by group commit."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        identity: HubIdentity,
        hub_id: str,
        *,
        max_batch: int = 64,
        writers: int = 1,
        calendar: WorkCalendar = DEFAULT_CALENDAR,
    ) -> None:
        self.identity = identity
        self.calendar = calendar
        """The working days (with the operator's announced changes) LATE_DISPATCH counts."""
        self.checkers = ThreadPoolExecutor(CHECKER_THREADS, thread_name_prefix="ingest-check")
        """Threads for `prepare`; ECDSA verification runs there without holding the GIL."""
        self.writer = IngestWriter(sessions, identity, hub_id)
        self.commits: GroupCommit[Submission, Accepted] = GroupCommit(
            self.writer.write_batch,
            max_items=max_batch,
            key=lambda item: item.document_id,
            writers=writers,
        )

    async def submit(self, sender: str, body: bytes) -> Accepted:
        """Accept `body` from `sender` durably, or raise a `Problem`; idempotent on the id."""
        received_at = utcnow()
        if len(body) <= INLINE_CHECK_BYTES:
            submission = prepare(body, sender, self.identity.trust, received_at, self.calendar)
        else:
            submission = await asyncio.get_running_loop().run_in_executor(
                self.checkers,
                prepare,
                body,
                sender,
                self.identity.trust,
                received_at,
                self.calendar,
            )
        return await self.commits.submit(submission)


def prepare(
    body: bytes,
    sender: str,
    trust: TrustStore,
    received_at: datetime,
    calendar: WorkCalendar = DEFAULT_CALENDAR,
) -> Submission:
    """`check_package`, then everything the writer needs that is CPU work."""
    checked = check_package(body, sender, trust, received_at, calendar)
    package = checked.package
    return Submission(
        sender=sender,
        document_id=str(uuid.UUID(package.id)),
        package=package,
        digest=checked.digest,
        verdict=checked.verdict,
        blobs=checked.blobs,
        stored_package=stored_package(package),
        received_at=received_at,
    )


async def submit(
    sessions: async_sessionmaker[AsyncSession],
    identity: HubIdentity,
    hub_id: str,
    sender: str,
    body: bytes,
) -> Accepted:
    """One submission in its own transaction (no group commit): for scripts and tools."""
    return await Ingest(sessions, identity, hub_id, max_batch=1).submit(sender, body)


__all__ = ["Accepted", "Ingest", "Submission", "check_package", "read_limited", "result_of"]
