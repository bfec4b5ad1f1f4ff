"""edXML at the hub's door: an envelope read into the package and its verdict.

`POST /v1/documents` with an XML media type comes here before the ingest
path every package takes (`hub.ingest.prepare.prepare`). Every `EdxmlError`
becomes a problem+json answer with the library's stable code: 413 for
something too large, 400 for bytes that are not XML, 422 for the rest. Nothing
is stored for any of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.models import Document
from hub.protocol import StatusCode, StatusEntry, StatusPost
from hub.tracking import statuses
from registry.problems import Problem
from signing.edxml import (
    EdxmlDocument,
    EdxmlError,
    EdxmlStatus,
    parse_status,
    read_edxml,
    signing_time_of,
    verify_edxml,
)
from signing.package import Package
from signing.trust import TrustStore
from signing.verify import Verdict
from signing.workdays import DEFAULT_CALENDAR, WorkCalendar

if TYPE_CHECKING:
    from signing.pades.validate import PdfReading

EDXML_MEDIA_TYPES = frozenset({"application/xml", "application/edxml+xml", "text/xml"})
"""Request media types read as edXML (`application/edxml+xml` is not registered, SDKs send it)."""

MAX_DOCUMENT_ID = 256
"""The longest DocumentId kept (`documents.edxml_document_id`); the SDKs' are under 100."""
_STATUS_BY_CODE = {
    "edxml_too_large": 413,
    "edxml_not_well_formed": 400,
}


@dataclass(frozen=True)
class CheckedEdxml:
    package: Package
    verdict: Verdict
    document_id: str
    """The envelope's own DocumentId."""


def edxml_problem(exc: EdxmlError) -> Problem:
    """The answer to input the edXML library refused (always 4xx)."""
    return Problem(_STATUS_BY_CODE.get(exc.code, 422), exc.code, exc.detail)


def check_edxml(
    body: bytes,
    sender: str,
    trust: TrustStore,
    received_at: datetime,
    calendar: WorkCalendar = DEFAULT_CALENDAR,
    reading: PdfReading | None = None,
) -> CheckedEdxml:
    """Parse, validate, map and verify an envelope from `sender` (CPU-bound); the principal
    PDF is read here unless `reading` is given."""
    doc = read_checked_edxml(body, sender, trust, received_at)
    return judge_edxml(doc, sender, trust, received_at, calendar, reading)


def read_checked_edxml(
    body: bytes, sender: str, trust: TrustStore, received_at: datetime
) -> EdxmlDocument:
    """The envelope parsed, validated against our XSD, mapped, its XML-DSig checked, from
    `sender`; raises a `Problem` for what is refused."""
    try:
        doc = read_edxml(body, trust, received_at=received_at)
    except EdxmlError as exc:
        raise edxml_problem(exc) from exc
    if len(doc.document_id) > MAX_DOCUMENT_ID:
        raise Problem(
            422,
            "edxml_invalid_value",
            f"DocumentId is longer than {MAX_DOCUMENT_ID} characters",
        )
    if doc.package.sender != sender:
        raise Problem(
            403,
            "sender_mismatch",
            f"the envelope's From {doc.package.sender} is not the authenticated member {sender}",
        )
    return doc


def judge_edxml(
    doc: EdxmlDocument,
    sender: str,
    trust: TrustStore,
    received_at: datetime,
    calendar: WorkCalendar = DEFAULT_CALENDAR,
    reading: PdfReading | None = None,
) -> CheckedEdxml:
    """The verdict on a read envelope, its principal PDF included (`reading` when read
    elsewhere, in the hub's PDF workers)."""
    verdict = verify_edxml(
        doc, trust, received_at=received_at, sender=sender, holidays=calendar, pdf_reading=reading
    )
    return CheckedEdxml(doc.package, verdict, doc.document_id)


def is_edxml(content_type: str | None) -> bool:
    """Whether a request's Content-Type names XML."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media in EDXML_MEDIA_TYPES


def accepts_xml(accept: str | None) -> bool:
    """Whether an Accept header asks for XML before JSON (a plain first-match reading)."""
    for part in (accept or "").split(","):
        media = part.split(";", 1)[0].strip().lower()
        if media in EDXML_MEDIA_TYPES:
            return True
        if media in ("application/json", "application/problem+json", "*/*", "application/*"):
            return False
    return False


def status_post_of(data: bytes) -> tuple[EdxmlStatus, StatusPost]:
    """An edXML status message as the JSON status it stands for; raises a `Problem`."""
    try:
        status = parse_status(data)
    except EdxmlError as exc:
        raise edxml_problem(exc) from exc
    stamp = signing_time_of(status.timestamp) or status.timestamp
    try:
        at = datetime.fromisoformat(stamp)
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise Problem(422, "edxml_invalid_value", f"Timestamp is not a time: {stamp[:40]!r}")
    try:
        post = StatusPost(code=StatusCode(status.code), reason=status.description, at=at)
    except ValueError as exc:
        raise Problem(422, "edxml_invalid_value", f"the status cannot be read: {exc}") from exc
    return status, post


async def post_edxml_status(
    sessions: async_sessionmaker[AsyncSession], member: str, document_id: str, data: bytes
) -> StatusEntry:
    """`POST /v1/documents/{id}/status` with an edXML status message.

    The message must come from the caller (`From/OrganId`) and name the
    document of the URL (`ResponseFor`: its sender and DocumentId, or the
    package id itself); then the JSON status's rules apply unchanged.
    """
    status, post = status_post_of(data)
    if status.organ_id != member:
        raise Problem(
            403,
            "status_from_mismatch",
            f"the status is From {status.organ_id}, not the authenticated member {member}",
        )
    async with sessions() as session:
        named = (
            await session.execute(
                select(Document.sender, Document.edxml_document_id).where(
                    Document.id == document_id
                )
            )
        ).one_or_none()
    ref = status.document
    if named is not None and not (
        ref.package_id == document_id
        or (ref.organ_id == named.sender and ref.document_id == named.edxml_document_id)
    ):
        raise Problem(
            422,
            "status_document_mismatch",
            f"ResponseFor names {ref.organ_id} {ref.document_id[:80]!r}, "
            f"not document {document_id}",
        )
    return await statuses.post_status(sessions, member, document_id, post)
