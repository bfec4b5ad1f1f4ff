"""Submission: read, check, verify and durably accept a package (`POST /v1/documents`).

`202` means the document, its attachment bodies (once per SHA-256) and one
delivery job per accepted recipient are committed in one transaction. Every
refusal is a `Problem` with a stable code raised before anything is written.
Parsing, hashing and signature verification are CPU work: done on the event
loop for a typical package (under a millisecond), in a small pool of threads
for a large one so the event loop keeps serving. A principal PDF is read in
between, in worker processes within the hub's bounds (`hub.ingest.pdfs`),
and judged with the envelope. Concurrent submissions are then committed
together (`hub.ingest.batcher`, `hub.ingest.writer`).
"""

from __future__ import annotations

import asyncio
import hashlib
import unicodedata
import uuid
from collections.abc import AsyncIterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import ClientDisconnect

from hub.identity import HubIdentity
from hub.ingest.batcher import GroupCommit
from hub.ingest.edxml import judge_edxml, read_checked_edxml
from hub.ingest.pdfs import PdfBounds, PdfReader
from hub.ingest.writer import Accepted, IngestWriter, Submission, result_of
from hub.tracking import recall
from registry.db import utcnow
from registry.problems import Problem
from signing.package import Package, PackageFormatError, manifest_digest, parse_package
from signing.trust import TrustStore
from signing.verify import Verdict, principal_pdf, verify_package
from signing.workdays import DEFAULT_CALENDAR, WorkCalendar

if TYPE_CHECKING:
    from signing.edxml import EdxmlDocument
    from signing.pades.validate import PdfReading

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
    *,
    bounds: PdfBounds | None = None,
    calendar: WorkCalendar = DEFAULT_CALENDAR,
) -> Checked:
    """Parse and check a submitted body, then verify its signatures (CPU-bound).

    The principal PDF is read here, in the calling thread (within `bounds`);
    `calendar` holds the working days LATE_DISPATCH counts.
    """
    package, blobs = inspect_package(body, sender)
    return verify_checked(package, blobs, trust, received_at, bounds=bounds, calendar=calendar)


def inspect_package(body: bytes, sender: str) -> tuple[Package, list[dict[str, Any]]]:
    """Everything `check_package` refuses a body for: parsed, from `sender`, well addressed,
    attachments intact. Returns the package and its distinct attachment bodies."""
    return _inspected(_parse(body), sender)


def _inspected(package: Package, sender: str) -> tuple[Package, list[dict[str, Any]]]:
    """The checks every package passes whatever its wire format."""
    if package.sender != sender:
        raise Problem(
            403,
            "sender_mismatch",
            f"the package's sender {package.sender} is not the authenticated member {sender}",
        )
    _check_recipients(package)
    return package, _check_attachments(package)


def verify_checked(
    package: Package,
    blobs: list[dict[str, Any]],
    trust: TrustStore,
    received_at: datetime,
    *,
    bounds: PdfBounds | None = None,
    reading: PdfReading | None = None,
    calendar: WorkCalendar = DEFAULT_CALENDAR,
) -> Checked:
    """The verdict on an inspected package; `reading` is its principal PDF already read."""
    verdict = verify_package(
        package,
        trust,
        received_at=received_at,
        sender=package.sender,
        holidays=calendar,
        pdf_limits=(bounds or PdfBounds()).limits,
        pdf_reading=reading,
    )
    return Checked(package, manifest_digest(package), verdict, blobs)


def pdf_to_read(package: Package) -> bytes | None:
    """The principal PDF's bytes when verification will open it (intact), else None."""
    principal = principal_pdf(package)
    if principal is None or not principal[1].intact:
        return None
    return principal[1].data


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
        pdf_bounds: PdfBounds | None = None,
        calendar: WorkCalendar = DEFAULT_CALENDAR,
    ) -> None:
        self.identity = identity
        self.calendar = calendar
        """The working days (with the operator's announced changes) LATE_DISPATCH counts."""
        self.sessions = sessions
        self.checkers = ThreadPoolExecutor(CHECKER_THREADS, thread_name_prefix="ingest-check")
        """Threads for `prepare`; ECDSA verification runs there without holding the GIL."""
        self.pdf_bounds = pdf_bounds or PdfBounds()
        self.pdfs = PdfReader(self.pdf_bounds, self.checkers)
        """Reads principal PDFs in worker processes (`hub.ingest.pdfs`)."""
        self.writer = IngestWriter(sessions, identity, hub_id)
        self.commits: GroupCommit[Submission, Accepted] = GroupCommit(
            self.writer.write_batch,
            max_items=max_batch,
            key=lambda item: item.document_id,
            writers=writers,
        )

    async def submit(self, sender: str, body: bytes, *, wire_format: str = "json") -> Accepted:
        """Accept `body` from `sender` durably, or raise a `Problem`; idempotent on the id.

        `wire_format` is `json` (the package) or `edxml` (an edXML envelope,
        mapped to the same package; its bytes are stored as received).
        """
        received_at = utcnow()
        if wire_format == "edxml":
            submission = await self._edxml(body, sender, received_at)
        else:
            submission = await self._package(body, sender, received_at)
        accepted = await self.commits.submit(submission)
        # a revocation is the sender's recall of the earlier document; done
        # again for a resent revocation, so a crash in between loses nothing
        earlier = submission.earlier_id if submission.business_type == 1 else None
        if earlier is not None and await recall.revoke(self.sessions, sender, earlier):
            accepted.pushes = True
        return accepted

    async def _package(self, body: bytes, sender: str, received_at: datetime) -> Submission:
        """A JSON package: checked, its principal PDF read in a worker process, judged."""
        inline = len(body) <= INLINE_CHECK_BYTES
        loop = asyncio.get_running_loop()
        if inline:
            package, blobs = inspect_package(body, sender)
        else:
            package, blobs = await loop.run_in_executor(
                self.checkers, inspect_package, body, sender
            )
        pdf = pdf_to_read(package)
        reading = await self.pdfs.read(pdf) if pdf is not None else None
        trust = self.identity.trust
        args = (package, blobs, trust, received_at, self.pdf_bounds, reading, self.calendar)
        if inline:
            return conclude(*args)
        return await loop.run_in_executor(self.checkers, conclude, *args)

    async def _edxml(self, body: bytes, sender: str, received_at: datetime) -> Submission:
        """An edXML envelope: read and checked in the ingest threads, its principal PDF in
        the PDF workers, then judged."""
        trust = self.identity.trust
        loop = asyncio.get_running_loop()
        inline = len(body) <= INLINE_CHECK_BYTES
        if inline:
            doc = read_checked_edxml(body, sender, trust, received_at)
        else:
            doc = await loop.run_in_executor(
                self.checkers, read_checked_edxml, body, sender, trust, received_at
            )
        pdf = pdf_to_read(doc.package)
        reading = await self.pdfs.read(pdf) if pdf is not None else None
        args = (doc, body, sender, trust, received_at, self.calendar, reading)
        if inline:
            return conclude_edxml(*args)
        return await loop.run_in_executor(self.checkers, conclude_edxml, *args)


def prepare(
    body: bytes,
    sender: str,
    trust: TrustStore,
    received_at: datetime,
    bounds: PdfBounds | None = None,
    wire_format: str = "json",
    calendar: WorkCalendar = DEFAULT_CALENDAR,
) -> Submission:
    """`check_package` (or its edXML twin), then everything the writer needs that is CPU work
    (all in this thread)."""
    if wire_format == "edxml":
        return prepare_edxml(body, sender, trust, received_at, calendar)
    package, blobs = inspect_package(body, sender)
    return conclude(package, blobs, trust, received_at, bounds, calendar=calendar)


def prepare_edxml(
    body: bytes,
    sender: str,
    trust: TrustStore,
    received_at: datetime,
    calendar: WorkCalendar = DEFAULT_CALENDAR,
) -> Submission:
    """An edXML envelope checked, mapped and verified (all in this thread)."""
    doc = read_checked_edxml(body, sender, trust, received_at)
    return conclude_edxml(doc, body, sender, trust, received_at, calendar)


def conclude_edxml(
    doc: EdxmlDocument,
    body: bytes,
    sender: str,
    trust: TrustStore,
    received_at: datetime,
    calendar: WorkCalendar = DEFAULT_CALENDAR,
    reading: PdfReading | None = None,
) -> Submission:
    """The verdict on a read envelope and the writer's CPU work; its bytes kept as received."""
    found = judge_edxml(doc, sender, trust, received_at, calendar, reading)
    package, blobs = _inspected(found.package, sender)
    checked = Checked(package, manifest_digest(package), found.verdict, blobs)
    original = hashlib.sha256(body).hexdigest()
    if all(blob["sha256"] != original for blob in blobs):
        blobs = [*blobs, {"sha256": original, "size": len(body), "content": body}]
    return _submission(
        checked, received_at, blobs,
        wire_format="edxml", edxml_document_id=found.document_id, original_sha256=original,
    )  # fmt: skip


def conclude(
    package: Package,
    blobs: list[dict[str, Any]],
    trust: TrustStore,
    received_at: datetime,
    bounds: PdfBounds | None = None,
    reading: PdfReading | None = None,
    calendar: WorkCalendar = DEFAULT_CALENDAR,
) -> Submission:
    """The verdict on an inspected package and the rest of the writer's CPU work."""
    checked = verify_checked(
        package, blobs, trust, received_at, bounds=bounds, reading=reading, calendar=calendar
    )
    return _submission(checked, received_at, checked.blobs)


def _submission(
    checked: Checked,
    received_at: datetime,
    blobs: list[dict[str, Any]],
    *,
    wire_format: str = "json",
    edxml_document_id: str | None = None,
    original_sha256: str | None = None,
) -> Submission:
    package = checked.package
    business = package.header.business
    return Submission(
        sender=package.sender,
        document_id=str(uuid.UUID(package.id)),
        package=package,
        digest=checked.digest,
        verdict=checked.verdict,
        blobs=blobs,
        stored_package=stored_package(package),
        received_at=received_at,
        wire_format=wire_format,
        edxml_document_id=edxml_document_id,
        original_sha256=original_sha256,
        business_type=business.type,
        earlier_id=_earlier_id(business.document_id),
    )


def _earlier_id(value: str | None) -> str | None:
    """The earlier document's id as stored (a UUID), or None for anything else."""
    if value is None:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


async def submit(
    sessions: async_sessionmaker[AsyncSession],
    identity: HubIdentity,
    hub_id: str,
    sender: str,
    body: bytes,
) -> Accepted:
    """One submission in its own transaction (no group commit): for scripts and tools."""
    return await Ingest(sessions, identity, hub_id, max_batch=1).submit(sender, body)


__all__ = [
    "Accepted",
    "Ingest",
    "PdfBounds",
    "Submission",
    "check_package",
    "read_limited",
    "result_of",
]
