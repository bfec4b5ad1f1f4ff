"""From a body to a `Submission`: checked, verified and made ready for the writer.

The JSON package and the edXML envelope take the same steps (inspect, judge,
build the writer's row); `prepare` runs them all in the calling thread, the
service splits them around reading the principal PDF in a worker process.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hub.ingest.checks import (
    Checked,
    inspect_package,
    inspected,
    stored_package,
    verify_checked,
)
from hub.ingest.edxml import judge_edxml, read_checked_edxml
from hub.ingest.pdfs import PdfBounds
from hub.ingest.writer import Submission
from signing.package import Package, manifest_digest
from signing.trust import TrustStore
from signing.workdays import DEFAULT_CALENDAR, WorkCalendar

if TYPE_CHECKING:
    from signing.edxml import EdxmlDocument
    from signing.pades.validate import PdfReading

__all__ = ["conclude", "conclude_edxml", "prepare", "prepare_edxml"]


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
    package, blobs = inspected(found.package, sender)
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
