"""A document as edXML: the hub-signed export, and an edXML-born document's original.

Whatever format a document came in, the hub can hand it on as edXML signed
by the hub (`signing.edxml.hub_export`): an edXML-born document from the
sender's envelope as received (so nothing the package has no field for is
lost, and the sender's signature travels as data the hub's covers); a
JSON-born one written from its fields (`package_to_edxml`, the registry's
names as OrganName). The same export is what edXML members receive.
"""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.models import AttachmentBlob, Delivery, Document
from hub.identity import HubIdentity
from hub.tracking.trace import not_found
from registry.models import Member
from registry.problems import Problem
from signing.edxml import EdxmlError, hub_export, package_to_edxml
from signing.package import Package, parse_package

__all__ = ["edxml_export", "export_for", "original_envelope", "visible_document"]


async def visible_document(session: AsyncSession, member: str, document_id: str) -> Document:
    """The document if `member` sent it or it was routed to `member`; else 404."""
    document = await session.get(Document, document_id)
    if document is None:
        raise not_found(document_id)
    if document.sender != member:
        routed = await session.scalar(
            select(Delivery.id).where(
                Delivery.document_id == document_id,
                Delivery.recipient == member,
                Delivery.outcome == "accepted",
            )
        )
        if routed is None:
            raise not_found(document_id)
    return document


async def original_envelope(session: AsyncSession, document: Document) -> bytes:
    """The sender's envelope byte for byte; 404 `no_original_edxml` for a JSON-born one."""
    content = None
    if document.original_sha256 is not None:
        content = await session.scalar(
            select(AttachmentBlob.content).where(AttachmentBlob.sha256 == document.original_sha256)
        )
    if content is None:
        raise Problem(
            404,
            "no_original_edxml",
            f"document {document.id} was submitted as JSON: it has no original edXML envelope "
            "(GET …/edxml without original=1 exports it as edXML)",
        )
    return bytes(content)


async def _organ_names(session: AsyncSession, codes: list[str]) -> dict[str, str]:
    rows = await session.execute(select(Member.code, Member.name).where(Member.code.in_(codes)))
    return {row.code: row.name for row in rows}


async def unsigned_edxml(
    session: AsyncSession, document: Document, package: Package | None = None
) -> bytes:
    """What the hub signs: the sender's envelope, or the package written as edXML."""
    if document.original_sha256 is not None:
        return await original_envelope(session, document)
    if package is None:
        package = await load_package(session, document)
    names = await _organ_names(session, [package.sender, *package.recipients])
    try:
        return package_to_edxml(package, timestamp=document.received_at, organ_names=names)
    except EdxmlError as exc:  # a stored package XML cannot carry (a control character)
        raise Problem(422, exc.code, exc.detail) from exc


def export_for(data: bytes, identity: HubIdentity, hub_id: str, at: datetime) -> bytes:
    """`data` re-signed by the hub (CPU work: call it in a thread for large documents)."""
    return hub_export(data, identity.key, identity.chain, hub_id=hub_id, at=at)


async def edxml_export(
    session: AsyncSession,
    document: Document,
    identity: HubIdentity,
    hub_id: str,
    *,
    at: datetime,
    package: Package | None = None,
) -> bytes:
    """`document` as edXML signed by the hub (`package`: already loaded with its contents)."""
    data = await unsigned_edxml(session, document, package)
    try:
        return await asyncio.to_thread(export_for, data, identity, hub_id, at)
    except EdxmlError as exc:
        raise Problem(422, exc.code, exc.detail) from exc


async def load_package(session: AsyncSession, document: Document) -> Package:
    """The stored package with its attachments' contents."""
    data = json.loads(document.package)
    digests = {a["sha256"] for a in data.get("attachments", [])}
    blobs: dict[str, bytes] = {}
    if digests:
        rows = await session.execute(
            select(AttachmentBlob.sha256, AttachmentBlob.content).where(
                AttachmentBlob.sha256.in_(digests)
            )
        )
        blobs = {row.sha256: bytes(row.content) for row in rows}
    for attachment in data.get("attachments", []):
        attachment["content"] = base64.b64encode(blobs[attachment["sha256"]]).decode()
    return parse_package(data)
