"""A JSON package written as an edXML document (QCVN 102:2016).

Two layouts: `wrapped` (the default, what the public SDKs write and read: a
root `<edXML>` holding the `edXMLEnvelope` and, beside it, the encoded
attachments) and `envelope` (a bare `edXMLEnvelope` whose `edXMLBody` holds
the manifest and the encoded attachments). Attachments are referenced as
`cid:attachment-N` (N from 1), by `xlink:href` and by `ContentId`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Literal

from lxml import etree

from signing.edxml.errors import EdxmlError
from signing.edxml.ids import edxml_date, edxml_timestamp
from signing.edxml.parse import DS, NS, XLINK, q
from signing.package import Package

Layout = Literal["wrapped", "envelope"]
LAYOUTS: tuple[str, ...] = ("wrapped", "envelope")
NSMAP = {"edXML": NS, "xlink": XLINK}


def _add(parent: etree._Element, name: str, value: str | int | None = None) -> etree._Element:
    node = etree.SubElement(parent, q(name))
    if value is not None:
        node.text = str(value)
    return node


def _organ(parent: etree._Element, tag: str, code: str, names: Mapping[str, str]) -> None:
    node = _add(parent, tag)
    _add(node, "OrganId", code)
    if code in names:
        _add(node, "OrganName", names[code])


def message_header(pkg: Package, document_id: str, names: Mapping[str, str] = {}) -> etree._Element:
    """The MessageHeader of `pkg` (its mapped fields only)."""
    head = pkg.header
    message = etree.Element(q("MessageHeader"), nsmap=NSMAP)
    _organ(message, "From", pkg.sender, names)
    for recipient in pkg.recipients:
        _organ(message, "To", recipient, names)
    _add(message, "DocumentId", document_id)
    code = _add(message, "Code")
    _add(code, "CodeNumber", head.code.number)
    _add(code, "CodeNotation", head.code.notation)
    promulgation = _add(message, "PromulgationInfo")
    _add(promulgation, "Place", head.promulgation.place)
    _add(promulgation, "PromulgationDate", edxml_date(head.promulgation.date))
    _add(_add(message, "DocumentType"), "Type", head.type)
    _add(message, "Subject", head.subject)
    signer = _add(message, "SignerInfo")
    if head.signer.competence is not None:
        _add(signer, "Competence", head.signer.competence)
    if head.signer.position is not None:
        _add(signer, "Position", head.signer.position)
    _add(signer, "FullName", head.signer.name)
    if head.due_date is not None:
        _add(message, "DueDate", edxml_date(head.due_date))
    _add(_add(message, "OtherInfo"), "Priority", head.priority)
    if head.steering_type is not None:
        _add(message, "SteeringType", head.steering_type)
    return message


def trace_header_list(
    pkg: Package,
    timestamp: dt.datetime,
    earlier_document_id: str | None,
) -> etree._Element:
    """The sender's TraceHeader and the business info."""
    trace = etree.Element(q("TraceHeaderList"), nsmap=NSMAP)
    hop = _add(trace, "TraceHeader")
    _add(hop, "OrganId", pkg.sender)
    _add(hop, "Timestamp", edxml_timestamp(timestamp))
    business = _add(trace, "Bussiness")
    _add(business, "BussinessDocType", pkg.header.business.type)
    if pkg.header.business.type == 3 and earlier_document_id is not None:
        info = _add(_add(business, "ReplacementInfoList"), "ReplacementInfo")
        _add(info, "DocumentId", earlier_document_id)
    return trace


def _attachments(
    pkg: Package, manifest_parent: etree._Element, data_parent: etree._Element
) -> None:
    manifest = _add(manifest_parent, "Manifest")
    manifest.set("version", "1.0")
    if not pkg.attachments:
        return
    encoded = _add(data_parent, "AttachmentEncoded")
    for index, attachment in enumerate(pkg.attachments, start=1):
        cid = f"cid:attachment-{index}"
        ref = _add(manifest, "Reference")
        ref.set(f"{{{XLINK}}}href", cid)
        _add(ref, "ContentId", cid)
        _add(ref, "ContentType", attachment.media_type)
        _add(ref, "AttachmentName", attachment.name)
        item = _add(encoded, "Attachment")
        _add(item, "ContentId", cid)
        _add(item, "AttachmentName", attachment.name)
        _add(item, "ContentType", attachment.media_type)
        _add(item, "ContentTransferEncoded", attachment.content)


def document_id_of(pkg: Package, document_id: str | None = None) -> str:
    """The DocumentId written for `pkg`: given, else the earlier document's for a
    revocation or update (they concern that document), else the package id."""
    if document_id is not None:
        return document_id
    business = pkg.header.business
    if business.type in (1, 2) and business.document_id is not None:
        return business.document_id
    return pkg.id


def package_to_tree(
    pkg: Package,
    *,
    layout: Layout = "wrapped",
    document_id: str | None = None,
    earlier_document_id: str | None = None,
    timestamp: dt.datetime | None = None,
    organ_names: Mapping[str, str] | None = None,
    signature_placeholder: bool = False,
) -> etree._Element:
    """`pkg` as an edXML tree (see `package_to_edxml`)."""
    if layout not in LAYOUTS:
        raise EdxmlError("edxml_invalid_value", f"layout must be one of {', '.join(LAYOUTS)}")
    when = timestamp or dt.datetime.now(dt.UTC)
    earlier = earlier_document_id or pkg.header.business.document_id
    root = etree.Element(q("edXML") if layout == "wrapped" else q("edXMLEnvelope"), nsmap=NSMAP)
    envelope = root if layout == "envelope" else _add(root, "edXMLEnvelope")
    header = _add(envelope, "edXMLHeader")
    header.append(message_header(pkg, document_id_of(pkg, document_id), organ_names or {}))
    header.append(trace_header_list(pkg, when, earlier))
    if signature_placeholder:
        etree.SubElement(header, f"{{{DS}}}Signature", nsmap={"ds": DS}).set("Id", "placeholder")
    body = _add(envelope, "edXMLBody")
    _attachments(pkg, body, root if layout == "wrapped" else body)
    return root


def package_to_edxml(
    pkg: Package,
    *,
    layout: Layout = "wrapped",
    document_id: str | None = None,
    earlier_document_id: str | None = None,
    timestamp: dt.datetime | None = None,
    organ_names: Mapping[str, str] | None = None,
) -> bytes:
    """`pkg` as edXML bytes (UTF-8, unsigned; `sign_envelope` signs them).

    Text is written as is; the reader strips surrounding whitespace and reads
    an empty element as absent, so such values do not come back unchanged.

    `document_id` defaults to `document_id_of(pkg)`; `earlier_document_id` is
    the replaced document's DocumentId for a replacement (default the
    package's `business.document_id`); `timestamp` is the sender's
    TraceHeader time (default now); `organ_names` adds OrganName to From/To.
    """
    try:
        root = package_to_tree(
            pkg,
            layout=layout,
            document_id=document_id,
            earlier_document_id=earlier_document_id,
            timestamp=timestamp,
            organ_names=organ_names,
        )
    except ValueError as exc:  # lxml: a control character XML 1.0 cannot carry
        detail = f"the package cannot be written as XML: {exc}"
        raise EdxmlError("edxml_unmappable", detail) from exc
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
