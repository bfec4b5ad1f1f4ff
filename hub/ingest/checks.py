"""The checks of a submitted package that need no database: size, form, sender,
recipients, attachments, then the signatures' verdict.

Every refusal is a `Problem` with a stable code, raised before anything is
written; all of it is CPU work the service runs inline or in its threads.
"""

from __future__ import annotations

import unicodedata
from collections.abc import AsyncIterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import ClientDisconnect

from hub.ingest.pdfs import PdfBounds
from registry.problems import Problem
from signing.package import Package, PackageFormatError, manifest_digest, parse_package
from signing.trust import TrustStore
from signing.verify import Verdict, principal_pdf, verify_package
from signing.workdays import DEFAULT_CALENDAR, WorkCalendar

if TYPE_CHECKING:
    from signing.pades.validate import PdfReading

__all__ = [
    "Checked",
    "check_package",
    "inspect_package",
    "inspected",
    "pdf_to_read",
    "read_limited",
    "stored_package",
    "verify_checked",
]

_FORBIDDEN_NAME_CATEGORIES = {"Cc", "Cf", "Zl", "Zp"}


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
    return inspected(_parse(body), sender)


def inspected(package: Package, sender: str) -> tuple[Package, list[dict[str, Any]]]:
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
