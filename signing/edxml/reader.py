"""The hub's entry point for an edXML document: bytes in, package and facts out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cryptography import x509

from signing.compliance import DEFAULT_CLOCK_SKEW, SignatureFacts, Violation, judge
from signing.edxml.dsig import _verify, check_form, signature_facts, signatures_of
from signing.edxml.errors import EdxmlError
from signing.edxml.ids import signing_time_of
from signing.edxml.mapping import BusinessInfo, Trace, envelope_to_package
from signing.edxml.parse import DS, MAX_INPUT_BYTES, q, read_document
from signing.edxml.sign import CARRIED
from signing.package import Package, attachment_errors, manifest_digest
from signing.trust import TrustStore
from signing.verify import Verdict, extract_facts, principal_pdf_facts

if TYPE_CHECKING:
    from signing.pades.validate import PdfLimits, PdfReading
from signing.workdays import Holidays


@dataclass(frozen=True)
class EdxmlDocument:
    """An edXML message as the hub keeps it.

    `package` holds every mapped field; `original` is the document exactly as
    received, which keeps everything the package has no field for (and the
    signature, which only verifies over those bytes). `facts` has the
    envelope's organisation signature, if it is signed.
    """

    package: Package
    facts: tuple[SignatureFacts, ...]
    original: bytes
    document_id: str
    business: BusinessInfo
    trace: tuple[Trace, ...]
    wrapped: bool
    signing_time: str | None


def read_edxml(
    data: bytes,
    trust: TrustStore,
    *,
    received_at: dt.datetime,
    max_bytes: int = MAX_INPUT_BYTES,
) -> EdxmlDocument:
    """Parse, validate, map and verify an edXML message; raises `EdxmlError`.

    The signing time of the envelope signature is the sender's TraceHeader
    timestamp (covered by the signature; see `signing_time_of`).
    """
    if received_at.tzinfo is None:
        raise ValueError("received_at must be timezone-aware")
    found = read_document(data, max_bytes=max_bytes)
    checked = check_form(found.root)
    pkg, envelope = envelope_to_package(found)
    signing_time = signing_time_of(envelope.sender_timestamp)
    facts: tuple[SignatureFacts, ...] = ()
    if checked is not None:
        facts = (
            signature_facts(
                found.root, checked, trust, signing_time=signing_time, received_at=received_at
            ),
        )
    return EdxmlDocument(
        package=pkg,
        facts=facts,
        original=data,
        document_id=envelope.document_id,
        business=envelope.business,
        trace=envelope.trace,
        wrapped=found.wrapped,
        signing_time=signing_time,
    )


def edxml_to_package(data: bytes, *, max_bytes: int = MAX_INPUT_BYTES) -> Package:
    """The JSON package of an edXML message, without verifying its signature
    (whose form is still checked); raises `EdxmlError`."""
    found = read_document(data, max_bytes=max_bytes)
    check_form(found.root)
    return envelope_to_package(found)[0]


def verify_edxml(
    doc: EdxmlDocument,
    trust: TrustStore,
    *,
    received_at: dt.datetime,
    sender: str | None = None,
    extra_facts: Collection[SignatureFacts] = (),
    clock_skew: dt.timedelta = DEFAULT_CLOCK_SKEW,
    holidays: Holidays | None = None,
    pdf_limits: PdfLimits | None = None,
    pdf_reading: PdfReading | None = None,
) -> Verdict:
    """The verdict on an edXML document: its envelope signature's facts, with any
    JWS signatures of the package, the principal PDF's signatures (PAdES, as
    `verify_package` reads them: `pdf_reading` when a caller read it elsewhere)
    and `extra_facts`, judged together by the one rule across sources."""
    facts = [
        *extract_facts(doc.package, trust, received_at=received_at),
        *doc.facts,
        *extra_facts,
    ]
    intact = not attachment_errors(doc.package)
    pdf_facts, document_violations = principal_pdf_facts(
        doc.package, trust, received_at=received_at, limits=pdf_limits, reading=pdf_reading
    )
    facts += pdf_facts
    violations: list[Violation] = judge(
        facts,
        sender=sender or doc.package.sender,
        received_at=received_at,
        attachments_intact=intact,
        clock_skew=clock_skew,
        holidays=holidays,
        document_violations=document_violations,
    )
    return Verdict(
        compliant=not violations,
        violations=[v.value for v in violations],
        signatures=facts,
        manifest_sha256=manifest_digest(doc.package),
        attachments_intact=intact,
        received_at=received_at,
    )


@dataclass(frozen=True)
class HubExport:
    """A hub-signed edXML document as a recipient reads it (`read_hub_export`)."""

    package: Package
    """The mapped package (its id as the envelope gives it; the hub's document id may differ
    for a JSON-born revocation or update, see docs/EDXML.md section 3)."""
    hub_signature_valid: bool
    errors: tuple[str, ...]
    document_id: str
    """The envelope's DocumentId."""


def read_hub_export(
    data: bytes, hub_certificate: x509.Certificate, *, max_bytes: int = MAX_INPUT_BYTES
) -> HubExport:
    """Check the hub's signature on an export (`hub_export`) and map the document.

    The hub's signature is the first child of edXMLHeader, in the one accepted
    form, and must verify under `hub_certificate` (the directory's); the
    sender's signatures it carries in `OriginalSignatures` are data it covers.
    Raises `EdxmlError` for a document that is not an export in that form.
    """
    found = read_document(data, max_bytes=max_bytes)
    header = found.header
    first = header[0] if len(header) else None
    if first is None or first.tag != f"{{{DS}}}Signature":
        raise EdxmlError("edxml_signature_wrapping", "the hub's signature is not first")
    for signature in signatures_of(found.root):
        if signature is not first and signature.getparent() is not header.find(q(CARRIED)):
            raise EdxmlError("edxml_signature_wrapping", "a signature outside OriginalSignatures")
    carried = header.find(q(CARRIED))
    if carried is not None:
        header.remove(carried)
    checked = check_form(found.root)  # the hub's, now the only one
    header.remove(first)
    errors: list[str] = []
    valid = False
    if checked is not None:
        header.insert(0, first)
        if carried is not None:
            header.append(carried)
        valid = _verify(found.root, hub_certificate, errors)
        header.remove(first)
        if carried is not None:
            header.remove(carried)
    pkg, envelope = envelope_to_package(found)
    return HubExport(pkg, valid, tuple(errors), envelope.document_id)
