"""The hub's entry point for an edXML document: bytes in, package and facts out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from signing.compliance import DEFAULT_CLOCK_SKEW, SignatureFacts, Violation, judge
from signing.edxml.dsig import check_form, signature_facts
from signing.edxml.ids import signing_time_of
from signing.edxml.mapping import BusinessInfo, Trace, envelope_to_package
from signing.edxml.parse import MAX_INPUT_BYTES, read_document
from signing.package import Package, attachment_errors, manifest_digest
from signing.trust import TrustStore
from signing.verify import Verdict, extract_facts
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
) -> Verdict:
    """The verdict on an edXML document: its envelope signature's facts, with any
    JWS signatures of the package and `extra_facts` (a PDF's), judged together."""
    facts = [
        *extract_facts(doc.package, trust, received_at=received_at),
        *doc.facts,
        *extra_facts,
    ]
    intact = not attachment_errors(doc.package)
    violations: list[Violation] = judge(
        facts,
        sender=sender or doc.package.sender,
        received_at=received_at,
        attachments_intact=intact,
        clock_skew=clock_skew,
        holidays=holidays,
    )
    return Verdict(
        compliant=not violations,
        violations=[v.value for v in violations],
        signatures=facts,
        manifest_sha256=manifest_digest(doc.package),
        attachments_intact=intact,
        received_at=received_at,
    )
