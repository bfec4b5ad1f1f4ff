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
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

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
from signing.keys import PublicKey, Verifier, verifier_for
from signing.package import (
    Package,
    Signature,
    attachment_errors,
    manifest_bytes,
    parse_package,
)
from signing.sign import b64url_decode, prev_of
from signing.trust import TrustStore

KNOWN_CRIT = frozenset({"prev"})
_NO_CRIT: list[str] = []  # never mutated: the `crit` of a header without one


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
        decoded = b64url_decode(protected)
        try:
            value = json.loads(decoded.decode())  # UTF-8, as headers are: no sniffing
        except ValueError:
            value = json.loads(decoded)  # what else `json.loads` takes (UTF-16/32, a BOM)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _payload(manifest: bytes) -> bytes:
    """What follows a protected header in a signing input: a dot, then the b64url manifest."""
    return b"." + base64.urlsafe_b64encode(manifest).rstrip(b"=")


def extract_facts(
    pkg: Package, trust: TrustStore, *, received_at: dt.datetime, manifest: bytes | None = None
) -> list[SignatureFacts]:
    """The facts of every JWS signature of `pkg`, in order."""
    payload = _payload(manifest if manifest is not None else manifest_bytes(pkg))
    signatures = pkg.signatures
    headers = [_header(sig.protected) for sig in signatures]
    pending: list[_Check] = []
    found: list[dict[str, Any]] = [
        {"index": index, "errors": ["malformed_header"]}
        if header is None
        else _signature_values(index, sig, header, payload, trust, received_at, pending)
        for index, (sig, header) in enumerate(zip(signatures, headers, strict=True))
    ]
    # The signature checks run back to back, after the rest of the reading:
    # they then find the curve arithmetic still in the CPU's caches.
    for values, verify, alg, data, raw in pending:
        values["signature_valid"] = verify(alg, data, raw)
    facts: list[SignatureFacts] = []
    # Personal signatures so far, with their signing times; the `prev` that
    # links to each is a hash over the whole signature, so it is worked out
    # only when an organisation signature asks for it.
    personal: list[tuple[Signature, dt.datetime | None]] = []
    links: dict[str, dt.datetime | None] = {}
    linked_so_far = 0
    for sig, header, values in zip(signatures, headers, found, strict=True):
        kind = values.get("kind")
        if header is not None and kind == "organization":
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


# A signature check waiting to run: the facts it completes, the signer's
# verifier, `alg`, the signing input and the raw signature.
_Check = tuple[dict[str, Any], Verifier, str, bytes, bytes]


def _signature_values(
    index: int,
    sig: Signature,
    header: dict[str, Any],
    payload: bytes,
    trust: TrustStore,
    received_at: dt.datetime,
    pending: list[_Check],
) -> dict[str, Any]:
    """The fields of one signature's `SignatureFacts`; `payload` is from `_payload`.

    `signature_valid` starts false; when there is a signature to check, the
    check is appended to `pending` for the caller to run.
    """
    errors: list[str] = []
    get = header.get
    alg = get("alg")
    if not isinstance(alg, str):
        alg = None
    kind = get("kind")
    if kind != "personal" and kind != "organization":
        kind = None
        errors.append("unknown_kind")
    sig_t = get("sigT")
    if not isinstance(sig_t, str):
        sig_t = None
    crit = get("crit", _NO_CRIT)
    crit_ok = isinstance(crit, list) and (
        not crit or all(isinstance(c, str) and c in KNOWN_CRIT for c in crit)
    )
    if not crit_ok:
        errors.append("unknown_crit")
    x5c = get("x5c")
    signer = (
        _signer(tuple(x5c))
        if isinstance(x5c, list) and x5c and all(isinstance(e, str) for e in x5c)
        else None
    )
    if signer is None:
        errors.append("bad_x5c")
        return {"index": index, "kind": kind, "alg": alg, "signing_time": sig_t, "errors": errors}
    try:
        raw = b64url_decode(sig.signature)
    except ValueError:
        raw = b""
        errors.append("bad_signature_encoding")
    at = parse_signing_time(sig_t) or received_at
    status = trust.check(signer.leaf, signer.intermediates, at)
    if status.error:
        errors.append("untrusted: " + status.error[:200])
    trusted = status.trusted
    values = {
        "index": index,
        "kind": kind,
        "certificate_kind": signer.certificate_kind,
        "alg": alg,
        "key_type": signer.key_type,
        "key_size": signer.key_size,
        "signing_time": sig_t,
        "signature_valid": False,
        "chain_trusted": trusted,
        "chain": list(signer.fingerprints),
        "subject": signer.subject,
        "agency_code": signer.agency_code,
        "valid_at_signing_time": status.valid_at if trusted else None,
        "revoked_at_signing_time": status.revoked if trusted else None,
        "revocation_reason": status.revocation_reason,
        "revocation_checked": status.revocation_checked,
        "errors": errors,
    }
    if raw and crit_ok and alg in STRONG_ALGORITHMS:
        pending.append((values, signer.verify, str(alg), sig.protected.encode() + payload, raw))
    return values


def verify_package(
    pkg: Package,
    trust: TrustStore,
    *,
    received_at: dt.datetime,
    sender: str | None = None,
    clock_skew: dt.timedelta = DEFAULT_CLOCK_SKEW,
    holidays: Collection[dt.date] | None = None,
) -> Verdict:
    """The verdict on `pkg` as received at `received_at` from `sender` (default `pkg.sender`)."""
    if received_at.tzinfo is None:
        raise ValueError("received_at must be timezone-aware")
    manifest = manifest_bytes(pkg)
    facts = extract_facts(pkg, trust, received_at=received_at, manifest=manifest)
    intact = not attachment_errors(pkg)
    violations: list[Violation] = judge(
        facts,
        sender=sender or pkg.sender,
        received_at=received_at,
        attachments_intact=intact,
        clock_skew=clock_skew,
        holidays=holidays,
    )
    return Verdict(
        compliant=not violations,
        violations=[v.value for v in violations],
        signatures=facts,
        manifest_sha256=hashlib.sha256(manifest).hexdigest(),
        attachments_intact=intact,
        received_at=received_at,
    )


def verify_json(
    source: bytes | str | Mapping[str, Any],
    trust: TrustStore,
    *,
    received_at: dt.datetime,
    sender: str | None = None,
) -> Verdict:
    """Parse then verify; malformed input raises `PackageFormatError` with a stable code."""
    return verify_package(parse_package(source), trust, received_at=received_at, sender=sender)
