"""Submission: read, check, verify and durably accept a package (`POST /v1/documents`).

`202` means the document, its attachment bodies (once per SHA-256) and one
delivery job per accepted recipient are committed in one transaction. Every
refusal is a `Problem` with a stable code raised before anything is written.
Parsing, hashing and signature verification are CPU work and run in a worker
thread so the event loop keeps serving other requests.
"""

from __future__ import annotations

import json
import unicodedata
import uuid
from collections.abc import AsyncIterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import anyio.to_thread
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import ClientDisconnect

from hub import eventlog, metrics
from hub.identity import HubIdentity
from hub.models import AttachmentBlob, Delivery, Document
from hub.policy import decide
from hub.protocol import ReceiptClaims, RecipientOutcome, RecipientResult, SubmitResult
from hub.receipts import read_receipt, sign_receipt
from hub.reports import facts as reports
from hub.sql import insert_ignoring_duplicates
from registry.db import utcnow
from registry.models import Member
from registry.problems import Problem
from signing.package import Package, PackageFormatError, manifest_digest, parse_package
from signing.trust import TrustStore
from signing.verify import Verdict, verify_package

_FORBIDDEN_NAME_CATEGORIES = {"Cc", "Cf", "Zl", "Zp"}


@dataclass
class Checked:
    """A package that passed every check that needs no database, with its verdict."""

    package: Package
    digest: str
    verdict: Verdict
    blobs: list[dict[str, Any]]


@dataclass
class Accepted:
    result: SubmitResult
    created: bool
    """False for a repeated submission answered with the stored receipt."""
    pushes: bool = False
    """Whether a push delivery job was queued (the worker is woken only then)."""


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


def check_package(body: bytes, sender: str, trust: TrustStore, received_at: datetime) -> Checked:
    """Parse and check a submitted body, then verify its signatures (CPU-bound)."""
    package = _parse(body)
    if package.sender != sender:
        raise Problem(
            403,
            "sender_mismatch",
            f"the package's sender {package.sender} is not the authenticated member {sender}",
        )
    _check_recipients(package)
    blobs = _check_attachments(package)
    verdict = verify_package(package, trust, received_at=received_at, sender=sender)
    return Checked(package, manifest_digest(package), verdict, blobs)


def _parse(body: bytes) -> Package:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Problem(400, "not_json", f"the body is not JSON: {exc}") from exc
    if isinstance(data, dict) and data.get("recipients") == []:
        raise Problem(
            422,
            "no_recipients",
            "the package has no recipients",
            errors=[{"field": "recipients", "message": "at least one recipient is required"}],
        )
    try:
        return parse_package(data)
    except PackageFormatError as exc:
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
    data = package.model_dump(
        mode="json", exclude_unset=True, exclude={"attachments": {"__all__": {"content"}}}
    )
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def result_of(receipt: str) -> SubmitResult:
    claims = read_receipt(receipt)
    return SubmitResult(
        document_id=claims.document_id,
        manifest_digest=claims.manifest_digest,
        received_at=claims.received_at,
        verdict=claims.verdict,
        recipients=claims.recipients,
        receipt=receipt,
    )


async def submit(
    sessions: async_sessionmaker[AsyncSession],
    identity: HubIdentity,
    hub_id: str,
    sender: str,
    body: bytes,
) -> Accepted:
    """Accept `body` from `sender` durably, or raise a `Problem`; idempotent on the id."""
    received_at = utcnow()
    checked = await anyio.to_thread.run_sync(
        check_package, body, sender, identity.trust, received_at
    )
    package = checked.package
    document_id = str(uuid.UUID(package.id))
    async with sessions() as session:
        repeated = await _repeated(session, document_id, checked.digest)
        if repeated is not None:
            return repeated
        members = await _recipients(session, package.recipients)
        results, deliveries = _route(document_id, package, checked.verdict, members, received_at)
        claims = ReceiptClaims(
            iss=hub_id,
            sub=sender,
            document_id=document_id,
            manifest_digest=checked.digest,
            received_at=received_at,
            verdict=checked.verdict,
            recipients=results,
        )
        receipt = sign_receipt(claims, identity.key, identity.chain)
        session.add(
            Document(
                id=document_id,
                sender=sender,
                manifest_digest=checked.digest,
                package=stored_package(package),
                verdict=checked.verdict.model_dump_json(),
                compliant=checked.verdict.compliant,
                violations=" ".join(str(v) for v in checked.verdict.violations),
                received_at=received_at,
                receipt=receipt,
            )
        )
        await session.flush()
        if checked.blobs:
            await session.execute(
                insert_ignoring_duplicates(
                    session, AttachmentBlob, _with_time(checked.blobs), ["sha256"]
                )
            )
        session.add_all(deliveries)
        await eventlog.record(
            session,
            "document.accepted",
            document_id,
            {
                "sender": sender,
                "manifest_digest": checked.digest,
                "compliant": checked.verdict.compliant,
                "violations": [str(v) for v in checked.verdict.violations],
                "recipients": [r.model_dump(mode="json") for r in results],
            },
        )
        # reports (issue 6): facts and counters, the only report write; last before commit,
        # since the counters' row locks are held until then.
        await reports.record_ingest(
            session, document_id, sender, package.recipients, received_at,
            package.header.type, checked.verdict,
        )  # fmt: skip
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()
            repeated = await _repeated(session, document_id, checked.digest)
            if repeated is None:
                raise
            return repeated
    metrics.document_accepted(checked.verdict.compliant, checked.verdict.violations)
    pushes = any(d.mode == "push" and d.state == "queued" for d in deliveries)
    return Accepted(result_of(receipt), created=True, pushes=pushes)


def _with_time(blobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    now = utcnow()
    return [{**blob, "stored_at": now} for blob in blobs]


async def _repeated(session: AsyncSession, document_id: str, digest: str) -> Accepted | None:
    row = (
        await session.execute(
            select(Document.manifest_digest, Document.receipt).where(Document.id == document_id)
        )
    ).one_or_none()
    if row is None:
        return None
    if row.manifest_digest != digest:
        raise Problem(
            409,
            "document_id_conflict",
            f"document {document_id} was already submitted with a different manifest",
        )
    return Accepted(result_of(row.receipt), created=False)


async def _recipients(session: AsyncSession, codes: list[str]) -> dict[str, Any]:
    rows = (
        await session.execute(
            select(Member.code, Member.status, Member.policy, Member.delivery_mode).where(
                Member.code.in_(codes)
            )
        )
    ).all()
    members = {row.code: row for row in rows}
    unknown = [code for code in codes if code not in members]
    if unknown:
        raise Problem(
            422,
            "unknown_recipient",
            f"not members of the hub: {', '.join(unknown[:20])}",
            errors=[{"field": "recipients", "message": f"unknown {code}"} for code in unknown],
        )
    return members


def _route(
    document_id: str,
    package: Package,
    verdict: Verdict,
    members: dict[str, Any],
    now: datetime,
) -> tuple[list[RecipientResult], list[Delivery]]:
    results: list[RecipientResult] = []
    deliveries: list[Delivery] = []
    violations = [str(v) for v in verdict.violations]
    for code in package.recipients:
        member = members[code]
        outcome, reasons = decide(member.status, member.policy, violations)
        delivery_id = str(uuid.uuid4())
        deliveries.append(
            Delivery(
                id=delivery_id,
                document_id=document_id,
                recipient=code,
                mode=member.delivery_mode,
                outcome=outcome.value,
                reasons=" ".join(reasons),
                state="queued" if outcome is RecipientOutcome.ACCEPTED else "refused",
                status_rank=0,
                attempts=0,
                created_at=now,
                next_attempt_at=now,
                recall_pending=False,
            )
        )
        results.append(
            RecipientResult(
                recipient=code, outcome=outcome, delivery_id=delivery_id, reasons=reasons
            )
        )
    return results, deliveries
