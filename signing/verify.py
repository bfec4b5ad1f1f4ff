"""Verifying a package: JWS signatures become `SignatureFacts`, the rules give the verdict.

Malformed signatures never raise: a header that is not base64url JSON, an
`x5c` that is not a certificate, `alg: none` or an unknown `crit` member each
become facts that the rules turn into BAD_SIGNATURE, UNTRUSTED_CERTIFICATE,
WEAK_ALGORITHM or BAD_SIGNING_TIME. Validity and revocation are judged at
the claimed signing time, or at `received_at` when there is no usable one.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from pydantic import BaseModel

from signing.certs import agency_code_of, cert_kind, fingerprint
from signing.compliance import (
    DEFAULT_CLOCK_SKEW,
    STRONG_ALGORITHMS,
    SignatureFacts,
    Violation,
    judge,
    parse_signing_time,
)
from signing.jose import b64url
from signing.keys import PublicKey, Verifier, verifier_for
from signing.package import (
    Attachment,
    Package,
    Signature,
    attachment_errors,
    manifest_bytes,
    parse_package,
)
from signing.sign import b64url_decode, prev_of
from signing.trust import TrustStore
from signing.workdays import Holidays

if TYPE_CHECKING:
    from signing.pades.validate import PdfLimits, PdfReading

KNOWN_CRIT = frozenset({"prev"})


class Verdict(BaseModel):
    """The judgement of one package: stored with it, sent with it, counted."""

    compliant: bool
    violations: list[str]
    signatures: list[SignatureFacts]
    manifest_sha256: str
    attachments_intact: bool
    received_at: dt.datetime


@dataclass(frozen=True)
class _Signer:
    """What an `x5c` says about its signer, worked out once per distinct chain."""

    chain: tuple[x509.Certificate, ...]
    leaf: x509.Certificate
    intermediates: tuple[x509.Certificate, ...]
    key: PublicKey
    verify: Verifier
    key_type: str
    key_size: int
    certificate_kind: str | None
    subject: str
    agency_code: str | None
    fingerprints: tuple[str, ...]


@functools.lru_cache(maxsize=4096)
def _signer(x5c: tuple[str, ...]) -> _Signer | None:
    """The signer of an `x5c`, or None if it is not a list of certificates.

    Cached: the same sender sends the same chain with every package.
    """
    try:
        chain = tuple(
            x509.load_der_x509_certificate(base64.b64decode(e, validate=True)) for e in x5c
        )
        key = chain[0].public_key()
    except (ValueError, binascii.Error):
        return None
    if isinstance(key, rsa.RSAPublicKey):
        key_type, size = "RSA", key.key_size
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key_type, size = "EC", key.curve.key_size
    elif isinstance(key, ed25519.Ed25519PublicKey):
        key_type, size = "OKP", 256
    else:
        return None
    leaf = chain[0]
    return _Signer(
        chain=chain,
        leaf=leaf,
        intermediates=chain[1:],
        key=key,
        verify=verifier_for(key),
        key_type=key_type,
        key_size=size,
        certificate_kind=cert_kind(leaf),
        subject=leaf.subject.rfc4514_string(),
        agency_code=agency_code_of(leaf),
        fingerprints=tuple(fingerprint(c) for c in chain),
    )


def _header(protected: str) -> dict[str, Any] | None:
    try:
        value = _loads(b64url_decode(protected))
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _loads(data: bytes) -> Any:
    """`json.loads`, by orjson when it can: a header is mostly an `x5c` chain, and
    orjson reads it several times faster. What orjson refuses but the standard
    library reads (NaN, 1e400, lone surrogates, UTF-16, a BOM) goes to
    `json.loads`. The one value orjson reads differently, an integer past 64
    bits (a float for orjson), is never one verification reads: it only uses
    strings and lists of strings, so every header judges as it always did."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def extract_facts(
    pkg: Package, trust: TrustStore, *, received_at: dt.datetime, manifest: bytes | None = None
) -> list[SignatureFacts]:
    """The facts of every JWS signature of `pkg`, in order."""
    payload = b64url(manifest if manifest is not None else manifest_bytes(pkg)).encode()
    facts: list[SignatureFacts] = []
    # Personal signatures so far, with their signing times; the `prev` that
    # links to each is a hash over the whole signature, so it is worked out
    # only when an organisation signature asks for it.
    personal: list[tuple[Signature, dt.datetime | None]] = []
    links: dict[str, dt.datetime | None] = {}
    linked_so_far = 0
    for index, sig in enumerate(pkg.signatures):
        header = _header(sig.protected)
        if header is None:
            facts.append(SignatureFacts(index=index, errors=["malformed_header"]))
            continue
        values = _signature_values(
            index, sig.protected, sig.signature, header, payload, trust, received_at
        )
        kind = values["kind"]
        if kind == "organization":
            prev = header.get("prev")
            crit = header.get("crit")
            linked = isinstance(prev, str) and isinstance(crit, list) and "prev" in crit
            if linked:
                for earlier, signed_at in personal[linked_so_far:]:
                    links[prev_of(earlier)] = signed_at
                linked_so_far = len(personal)
                linked = prev in links
            if linked:
                before = links[str(prev)]
                after = parse_signing_time(values["signing_time"])
                linked = before is None or after is None or after >= before
            values["follows_personal"] = linked
        elif kind == "personal":
            personal.append((sig, parse_signing_time(values["signing_time"])))
        facts.append(SignatureFacts.model_validate(values))
    return facts


def _signature_values(
    index: int,
    protected: str,
    signature: str,
    header: dict[str, Any],
    payload: bytes,
    trust: TrustStore,
    received_at: dt.datetime,
) -> dict[str, Any]:
    """The fields of one signature's `SignatureFacts`; `payload` is the b64url manifest."""
    errors: list[str] = []
    alg = header.get("alg") if isinstance(header.get("alg"), str) else None
    kind = header.get("kind") if header.get("kind") in ("personal", "organization") else None
    sig_t = header.get("sigT") if isinstance(header.get("sigT"), str) else None
    if kind is None:
        errors.append("unknown_kind")
    crit = header.get("crit", [])
    crit_ok = isinstance(crit, list) and all(isinstance(c, str) and c in KNOWN_CRIT for c in crit)
    if not crit_ok:
        errors.append("unknown_crit")
    x5c = header.get("x5c")
    signer = (
        _signer(tuple(x5c))
        if isinstance(x5c, list) and x5c and all(isinstance(e, str) for e in x5c)
        else None
    )
    if signer is None:
        errors.append("bad_x5c")
        return {"index": index, "kind": kind, "alg": alg, "signing_time": sig_t, "errors": errors}
    try:
        raw = b64url_decode(signature)
    except ValueError:
        raw = b""
        errors.append("bad_signature_encoding")
    valid = bool(
        raw
        and crit_ok
        and alg in STRONG_ALGORITHMS
        and signer.verify(alg, protected.encode() + b"." + payload, raw)
    )
    at = parse_signing_time(sig_t) or received_at
    status = trust.check(signer.leaf, signer.intermediates, at)
    if status.error:
        errors.append("untrusted: " + status.error[:200])
    return {
        "index": index,
        "kind": kind,
        "certificate_kind": signer.certificate_kind,
        "alg": alg,
        "key_type": signer.key_type,
        "key_size": signer.key_size,
        "signing_time": sig_t,
        "signature_valid": valid,
        "chain_trusted": status.trusted,
        "chain": list(signer.fingerprints),
        "subject": signer.subject,
        "agency_code": signer.agency_code,
        "valid_at_signing_time": status.valid_at if status.trusted else None,
        "revoked_at_signing_time": status.revoked if status.trusted else None,
        "revocation_reason": status.revocation_reason,
        "revocation_checked": status.revocation_checked,
        "errors": errors,
    }


PDF_MEDIA_TYPE = "application/pdf"


def principal_pdf(pkg: Package) -> tuple[int, Attachment] | None:
    """The document judged with the envelope: the first `application/pdf` attachment, if any."""
    for index, attachment in enumerate(pkg.attachments):
        if attachment.media_type.split(";", 1)[0].strip().lower() == PDF_MEDIA_TYPE:
            return index, attachment
    return None


def verify_package(
    pkg: Package,
    trust: TrustStore,
    *,
    received_at: dt.datetime,
    sender: str | None = None,
    clock_skew: dt.timedelta = DEFAULT_CLOCK_SKEW,
    holidays: Holidays | None = None,
    pdf_limits: PdfLimits | None = None,
    pdf_reading: PdfReading | None = None,
) -> Verdict:
    """The verdict on `pkg` as received at `received_at` from `sender` (default `pkg.sender`).

    The document judged is the envelope together with the principal PDF
    (`principal_pdf`): the PDF's signatures (PAdES) are validated within
    `pdf_limits` (default `PdfLimits()`) and their facts follow the envelope's.
    Other PDF attachments are not opened: the envelope's manifest fixes their bytes, and opening
    every appendix would multiply the cost and the untrusted parsing per package.
    A principal PDF that does not match its declared size and SHA-256 is not
    opened either: BAD_SIGNATURE already says the bytes are not the signed ones.
    `pdf_reading` is the principal PDF already read by `read_pdf` (by a caller
    that reads PDFs elsewhere, in a worker process): it is judged, not read again.
    """
    if received_at.tzinfo is None:
        raise ValueError("received_at must be timezone-aware")
    manifest = manifest_bytes(pkg)
    facts = extract_facts(pkg, trust, received_at=received_at, manifest=manifest)
    intact = not attachment_errors(pkg)
    pdf_facts, document_violations = principal_pdf_facts(
        pkg, trust, received_at=received_at, limits=pdf_limits, reading=pdf_reading
    )
    facts += pdf_facts
    violations: list[Violation] = judge(
        facts,
        sender=sender or pkg.sender,
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
        manifest_sha256=hashlib.sha256(manifest).hexdigest(),
        attachments_intact=intact,
        received_at=received_at,
    )


def principal_pdf_facts(
    pkg: Package,
    trust: TrustStore,
    *,
    received_at: dt.datetime,
    limits: PdfLimits | None = None,
    reading: PdfReading | None = None,
) -> tuple[list[SignatureFacts], list[Violation]]:
    """The principal PDF's signature facts and what is wrong with the file itself (none
    without a principal PDF). A principal PDF whose bytes are not the declared ones is not
    the document the sender signed: BAD_SIGNATURE (attachments_intact) says so, and it is
    not opened. `reading` is the PDF already read by `read_pdf` elsewhere (a worker)."""
    principal = principal_pdf(pkg)
    if principal is None or not principal[1].intact:
        return [], []
    # pyHanko is imported on the first PDF, not with this module: every hub and node
    # process imports verification, and most packages carry no signed PDF
    from signing.pades.validate import PdfLimits, judge_reading, read_pdf

    reading = reading or read_pdf(principal[1].data, limits or PdfLimits())
    pdf = judge_reading(reading, trust, received_at=received_at, attachment=principal[0])
    return list(pdf.facts), list(pdf.violations)


def verify_json(
    source: bytes | str | Mapping[str, Any],
    trust: TrustStore,
    *,
    received_at: dt.datetime,
    sender: str | None = None,
) -> Verdict:
    """Parse then verify; malformed input raises `PackageFormatError` with a stable code."""
    return verify_package(parse_package(source), trust, received_at=received_at, sender=sender)
