"""An edXML envelope read into the JSON package (`signing.package.Package`).

Only what the package has a field for is mapped; everything else in the
envelope (organisation names and addresses, Content, ToPlaces, OtherInfo
beyond Priority, ResponseFor, StaffInfo, the signature…) has no counterpart
and stays in the original bytes, which the reader keeps alongside.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pybase64
from lxml import etree

from signing.edxml.errors import EdxmlError
from signing.edxml.ids import iso_date, package_id_for, update_id_for
from signing.edxml.parse import XLINK, Layout, child_text, q, text
from signing.package import Package, PackageFormatError, parse_package


@dataclass(frozen=True)
class Trace:
    """One TraceHeader: an organisation the document passed and when."""

    organ_id: str | None
    timestamp: str | None


@dataclass(frozen=True)
class BusinessInfo:
    """The `Bussiness` part of the TraceHeaderList, as far as the hub uses it."""

    type: int = 0
    reason: str | None = None
    replaced_document_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class EnvelopeFacts:
    """What the envelope says besides the package: its ids, trace and business info."""

    document_id: str
    sender: str
    business: BusinessInfo
    trace: tuple[Trace, ...] = ()
    sender_timestamp: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _int(value: str | None, name: str, default: int | None) -> int | None:
    if value is None:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise EdxmlError("edxml_invalid_value", f"{name} is not a number: {value[:20]!r}") from exc


def _required(value: str | None, name: str) -> str:
    if value is None:
        raise EdxmlError("edxml_schema_invalid", f"MessageHeader has no {name}")
    return value


def read_trace(header: etree._Element) -> tuple[tuple[Trace, ...], BusinessInfo]:
    """The TraceHeaders in order and the business info of an edXMLHeader."""
    trace_list = header.find(q("TraceHeaderList"))
    if trace_list is None:
        return (), BusinessInfo()
    traces = tuple(
        Trace(child_text(t, "OrganId"), child_text(t, "Timestamp"))
        for t in trace_list.findall(q("TraceHeader"))
    )
    business = trace_list.find(q("Bussiness"))
    if business is None:
        return traces, BusinessInfo()
    replaced = tuple(
        value
        for info in business.iter(q("ReplacementInfo"))
        if (value := child_text(info, "DocumentId")) is not None
    )
    kind = _int(child_text(business, "BussinessDocType"), "BussinessDocType", 0) or 0
    return traces, BusinessInfo(kind, child_text(business, "BussinessDocReason"), replaced)


def envelope_facts(found: Layout) -> EnvelopeFacts:
    """The document id, sender, trace and business info of a message envelope."""
    message = found.header.find(q("MessageHeader"))
    sender = _required(child_text(message, "From", "OrganId"), "From/OrganId")
    document_id = _required(child_text(message, "DocumentId"), "DocumentId")
    traces, business = read_trace(found.header)
    stamp = next((t.timestamp for t in traces if t.organ_id == sender), None)
    return EnvelopeFacts(document_id, sender, business, traces, stamp)


def _header(message: etree._Element, facts: EnvelopeFacts) -> dict[str, Any]:
    signer = {
        "name": _required(child_text(message, "SignerInfo", "FullName"), "SignerInfo/FullName"),
        "position": child_text(message, "SignerInfo", "Position"),
        "competence": child_text(message, "SignerInfo", "Competence"),
    }
    business = facts.business
    earlier: str | None = None
    if business.type in (1, 2):
        earlier = package_id_for(facts.sender, facts.document_id)
    elif business.type == 3 and business.replaced_document_ids:
        earlier = package_id_for(facts.sender, business.replaced_document_ids[0])
    date = iso_date(child_text(message, "PromulgationInfo", "PromulgationDate"), "date")
    return {
        "code": {
            "number": _required(child_text(message, "Code", "CodeNumber"), "Code/CodeNumber"),
            "notation": _required(child_text(message, "Code", "CodeNotation"), "Code/CodeNotation"),
        },
        "promulgation": {
            "place": _required(child_text(message, "PromulgationInfo", "Place"), "Place"),
            "date": _required(date, "PromulgationInfo/PromulgationDate"),
        },
        "type": _required(child_text(message, "DocumentType", "Type"), "DocumentType/Type"),
        "subject": _required(child_text(message, "Subject"), "Subject"),
        "signer": signer,
        "priority": _int(child_text(message, "OtherInfo", "Priority"), "Priority", 0),
        "due_date": iso_date(child_text(message, "DueDate"), "DueDate"),
        "steering_type": _int(child_text(message, "SteeringType"), "SteeringType", None),
        "business": {"type": business.type, "document_id": earlier},
    }


def envelope_to_package(found: Layout) -> tuple[Package, EnvelopeFacts]:
    """The JSON package an edXML message carries, and the envelope's own facts."""
    facts = envelope_facts(found)
    message = found.header.find(q("MessageHeader"))
    assert message is not None  # envelope_facts read it
    recipients = [organ for to in message.findall(q("To")) if (organ := child_text(to, "OrganId"))]
    if facts.business.type in (1, 2):
        package_id = update_id_for(
            facts.sender, facts.document_id, facts.business.type, facts.sender_timestamp or ""
        )
    else:
        package_id = package_id_for(facts.sender, facts.document_id)
    draft = {
        "id": package_id,
        "sender": facts.sender,
        "recipients": recipients,
        "header": _header(message, facts),
        "attachments": list(read_attachments(found)),
        "signatures": [],
    }
    try:
        return parse_package(draft), facts
    except PackageFormatError as exc:
        fields = "; ".join(f"{f['field']}: {f['message']}" for f in exc.fields[:5])
        raise EdxmlError("edxml_unmappable", f"{exc.detail} {fields}".strip()) from exc


def _local(element: etree._Element, name: str) -> etree._Element | None:
    """A child named `name` in edXML's namespace or in none (SDKs write both)."""
    found = element.find(q(name))
    return found if found is not None else element.find(name)


def _cid(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip().strip("<>")
    return value[4:] if value.lower().startswith("cid:") else value


def _references(found: Layout) -> list[dict[str, str | None]]:
    body = found.envelope.find(q("edXMLBody"))
    if body is None:
        return []
    refs = []
    for manifest in (*body.findall(q("Manifest")), *body.findall(q("edXMLManifest"))):
        for ref in manifest:
            if etree.QName(ref).localname != "Reference":
                continue
            refs.append(
                {
                    "cid": _cid(ref.get(f"{{{XLINK}}}href") or text(_local(ref, "ContentId"))),
                    "name": text(_local(ref, "AttachmentName")),
                    "type": text(_local(ref, "ContentType")),
                }
            )
    return refs


def _encoded(found: Layout) -> Iterator[etree._Element]:
    """Every `Attachment` (or self-contained `AttachmentEncoded`) holding content."""
    holders = [found.root] if found.wrapped else []
    body = found.envelope.find(q("edXMLBody"))
    if body is not None:
        holders.append(body)
    for holder in holders:
        for block in (
            *holder.findall(q("AttachmentEncoded")),
            *holder.findall("AttachmentEncoded"),
        ):
            items = [*block.findall(q("Attachment")), *block.findall("Attachment")]
            if not items and _local(block, "ContentTransferEncoded") is not None:
                items = [block]
            yield from items


def decode_base64(value: str, name: str) -> bytes:
    """Strict base64, line breaks and spaces allowed (SDKs wrap at 76)."""
    compact = value if value.isascii() and " " not in value and "\n" not in value else None
    if compact is None:
        compact = "".join(value.split())
    try:
        return pybase64.b64decode(compact, validate=True)
    except ValueError:
        pass
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise EdxmlError("edxml_bad_base64", f"attachment {name!r} is not valid base64") from exc


def read_attachments(found: Layout) -> Iterator[dict[str, Any]]:
    """The attachments in manifest order (then any the manifest does not list)."""
    contents: dict[str | None, etree._Element] = {}
    for item in _encoded(found):
        contents.setdefault(_cid(text(_local(item, "ContentId"))), item)
    refs = _references(found)
    listed = {r["cid"] for r in refs}
    for cid in contents:
        if cid not in listed:
            refs.append({"cid": cid, "name": None, "type": None})
    for ref in refs:
        found_item = contents.get(ref["cid"])
        if found_item is None:
            raise EdxmlError(
                "edxml_unmappable", f"the manifest lists cid:{ref['cid']} but no content"
            )
        item = found_item
        name = ref["name"] or text(_local(item, "AttachmentName")) or ref["cid"] or "attachment"
        media_type = ref["type"] or text(_local(item, "ContentType")) or "application/octet-stream"
        encoded = _local(item, "ContentTransferEncoded")
        data = decode_base64(text(encoded) or "", name)
        yield _attachment(name, media_type, data)


def _attachment(name: str, media_type: str, data: bytes) -> dict[str, Any]:
    return {
        "name": name,
        "media_type": media_type,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "content": pybase64.b64encode(data).decode(),
    }
