"""Submission: read, check, verify and durably accept a package (`POST /v1/documents`).

`202` means the document, its attachment bodies (once per SHA-256) and one
delivery job per accepted recipient are committed in one transaction. Every
refusal is a `Problem` with a stable code raised before anything is written.
Parsing, hashing and signature verification are CPU work: done on the event
loop for a typical package (under a millisecond), in a small pool of threads
for a large one so the event loop keeps serving. A principal PDF is read in
between, in worker processes within the hub's bounds (`hub.ingest.pdfs`),
and judged with the envelope. Concurrent submissions are then committed
together (`hub.ingest.batcher`, `hub.ingest.writer`). The checks are in
`hub.ingest.checks`, the steps from a body to a `Submission` in
`hub.ingest.prepare`; their names are re-exported here.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.identity import HubIdentity
from hub.ingest.batcher import GroupCommit
from hub.ingest.checks import (
    Checked,
    check_package,
    inspect_package,
    pdf_to_read,
    read_limited,
    stored_package,
    verify_checked,
)
from hub.ingest.edxml import read_checked_edxml
from hub.ingest.pdfs import PdfBounds, PdfReader
from hub.ingest.prepare import conclude, conclude_edxml, prepare, prepare_edxml
from hub.ingest.writer import Accepted, IngestWriter, Submission, result_of
from hub.tracking import recall
from registry.db import utcnow
from signing.workdays import DEFAULT_CALENDAR, WorkCalendar

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
    "CHECKER_THREADS",
    "CONCURRENT_BATCHES",
    "INLINE_CHECK_BYTES",
    "Accepted",
    "Checked",
    "Ingest",
    "PdfBounds",
    "Submission",
    "check_package",
    "conclude",
    "conclude_edxml",
    "inspect_package",
    "pdf_to_read",
    "prepare",
    "prepare_edxml",
    "read_limited",
    "result_of",
    "stored_package",
    "submit",
    "verify_checked",
]
