"""Validating the signatures inside a PDF: each becomes `SignatureFacts` (`format="pades"`).

Two phases. First pyHanko reads the untrusted file under the bounds of
`PdfLimits` (time, decoded bytes, input size, number of signatures): per
signature, whether its bytes verify, what it covers, and whether the file was
changed after it in a way it does not allow (pyHanko's difference analysis).
Then, outside the bounds, the existing `TrustStore` judges each signer's chain
at its signing time, as for the envelope's JWS signatures.

Nothing raises: a file that is not a PDF is `UNREADABLE_DOCUMENT`, a file past
a bound `VALIDATION_LIMIT_EXCEEDED`, and any pyHanko error about one signature
(including the `AssertionError` pyHanko 0.38 raises for an ECDSA key under an
RSA algorithm) becomes facts that the rules call BAD_SIGNATURE.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

from pyhanko.pdf_utils.misc import PdfDecodeLimitError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import enumerate_sig_fields

from signing.compliance import SignatureFacts, Violation, parse_signing_time
from signing.pades.limits import LimitExceeded, deadline, decode_limits
from signing.pades.signature import RawSignature, read_signature
from signing.trust import TrustStore

MiB = 1024 * 1024


@dataclass(frozen=True)
class PdfLimits:
    """Bounds on validating one PDF; past any of them the PDF is VALIDATION_LIMIT_EXCEEDED.

    `max_seconds`: wall time for pyHanko's part (reading, verifying, the
    difference analysis); `max_decoded_bytes`: bytes pyHanko's stream decoders
    may produce for the document (the memory bound); `max_input_bytes`: size
    of the file itself; `max_signatures`: signature fields looked at.
    """

    max_seconds: float | None = 10.0
    max_decoded_bytes: int = 256 * MiB
    max_input_bytes: int = 64 * MiB
    max_signatures: int = 32


@dataclass(frozen=True)
class PdfValidation:
    """The facts of every signature in one PDF, and what is wrong with the file as a whole."""

    facts: list[SignatureFacts]
    violations: list[Violation] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    revisions: int | None = None


@dataclass(frozen=True)
class PdfReading:
    """What pyHanko read from one untrusted PDF, before any trust decision (`read_pdf`).

    Plain, picklable values, so the reading may be done in another process and
    judged here. `violation` is set when the file as a whole could not be read
    (UNREADABLE_DOCUMENT) or went past a bound (VALIDATION_LIMIT_EXCEEDED).
    """

    signatures: list[RawSignature] = field(default_factory=list)
    revisions: int | None = None
    errors: list[str] = field(default_factory=list)
    violation: Violation | None = None

    @classmethod
    def failed(cls, violation: Violation, reason: str) -> PdfReading:
        return cls(violation=violation, errors=[reason[:300]])


def validate_pdf(
    data: bytes,
    trust: TrustStore,
    *,
    received_at: dt.datetime,
    attachment: int = 0,
    limits: PdfLimits = PdfLimits(),
) -> PdfValidation:
    """The facts of the signatures in `data`, the package's attachment number `attachment`.

    Facts carry `source="attachment:<attachment>"`, `index` in signing order
    within the file, and `revision` as pyHanko counts them (0 is the original
    file). Validity and revocation are judged at each signature's `/M` time,
    or at `received_at` when it has no usable one.
    """
    return judge_reading(
        read_pdf(data, limits), trust, received_at=received_at, attachment=attachment
    )


def read_pdf(data: bytes, limits: PdfLimits = PdfLimits()) -> PdfReading:
    """pyHanko's part of `validate_pdf`, under `limits`: never raises.

    The untrusted parsing, and all of the CPU cost; a caller may run it in a
    worker process and pass the reading to `judge_reading`.
    """
    if len(data) > limits.max_input_bytes:
        return PdfReading.failed(
            Violation.VALIDATION_LIMIT_EXCEEDED, f"larger than {limits.max_input_bytes} bytes"
        )
    try:
        with deadline(limits.max_seconds):
            raws, revisions, errors = _read(data, limits)
    except LimitExceeded as exc:
        return PdfReading.failed(Violation.VALIDATION_LIMIT_EXCEEDED, str(exc))
    except PdfDecodeLimitError as exc:
        return PdfReading.failed(Violation.VALIDATION_LIMIT_EXCEEDED, f"decoding: {exc}")
    except MemoryError:
        return PdfReading.failed(Violation.VALIDATION_LIMIT_EXCEEDED, "out of memory")
    except _Unreadable as exc:
        return PdfReading.failed(Violation.UNREADABLE_DOCUMENT, str(exc))
    violation = Violation.VALIDATION_LIMIT_EXCEEDED if errors else None
    return PdfReading(raws, revisions, errors, violation)


def judge_reading(
    reading: PdfReading, trust: TrustStore, *, received_at: dt.datetime, attachment: int = 0
) -> PdfValidation:
    """The facts of a `read_pdf` reading: each signer's chain judged by `trust`."""
    source = f"attachment:{attachment}"
    facts = _link([_facts(raw, trust, received_at, source) for raw in reading.signatures])
    return PdfValidation(
        facts=facts,
        violations=[reading.violation] if reading.violation is not None else [],
        errors=list(reading.errors),
        revisions=reading.revisions,
    )


class _Unreadable(Exception):
    pass


def _read(data: bytes, limits: PdfLimits) -> tuple[list[RawSignature], int, list[str]]:
    """pyHanko's part; runs under the time bound."""
    if not data.lstrip()[:5].startswith(b"%PDF-"):
        raise _Unreadable("not a PDF (no %PDF- header)")
    try:
        reader = PdfFileReader(
            BytesIO(data), strict=False, decode_limits=decode_limits(limits.max_decoded_bytes)
        )
        if reader.encrypted and not _opens_without_password(reader):
            raise _Unreadable("encrypted with a password")
        reader.root["/Pages"].get_object()
        revisions = reader.xrefs.total_revisions
        found = list(enumerate_sig_fields(reader, filled_status=True))
    except (_Unreadable, PdfDecodeLimitError, MemoryError):
        raise
    except Exception as exc:  # pyHanko raises many kinds (and RecursionError) for a broken file
        raise _Unreadable(f"cannot read the PDF: {type(exc).__name__}: {exc}"[:300]) from exc
    errors = []
    if len(found) > limits.max_signatures:
        errors.append(f"{len(found)} signature fields; only the first {limits.max_signatures} read")
        found = found[: limits.max_signatures]
    raws = [read_signature(reader, name, field_ref) for name, _, field_ref in found]
    ordered = sorted(
        (r for r in raws if not r.timestamp), key=lambda r: (r.revision is None, r.revision or 0)
    )
    return ordered, revisions, errors


def _opens_without_password(reader: PdfFileReader) -> bool:
    try:
        result = reader.decrypt(b"")
    except Exception:
        return False
    return bool(result.status.value)


def _facts(
    raw: RawSignature, trust: TrustStore, received_at: dt.datetime, source: str
) -> SignatureFacts:
    values: dict[str, Any] = {
        "index": 0,
        "format": "pades",
        "source": source,
        "revision": raw.revision,
        "alg": raw.alg,
        "signing_time": raw.signing_time,
        "signature_valid": raw.valid,
        "modified_after_signing": raw.modified,
        "errors": list(raw.errors),
    }
    signer = raw.signer
    if signer is None:
        return SignatureFacts.model_validate(values)
    at = parse_signing_time(raw.signing_time) or received_at
    status = trust.check(signer.leaf, signer.intermediates, at)
    if status.error:
        values["errors"].append("untrusted: " + status.error[:200])
    kind = {"official": "personal", "organization": "organization"}.get(
        signer.certificate_kind or ""
    )
    if kind is None:
        values["errors"].append("unknown_kind")
    values.update(
        kind=kind,
        certificate_kind=signer.certificate_kind,
        key_type=signer.key_type,
        key_size=signer.key_size,
        chain_trusted=status.trusted,
        chain=list(signer.fingerprints),
        subject=signer.subject,
        agency_code=signer.agency_code,
        valid_at_signing_time=status.valid_at if status.trusted else None,
        revoked_at_signing_time=status.revoked if status.trusted else None,
        revocation_reason=status.revocation_reason,
        revocation_checked=status.revocation_checked,
    )
    return SignatureFacts.model_validate(values)


def _link(facts: list[SignatureFacts]) -> list[SignatureFacts]:
    """Number the facts in signing order and mark each organisation signature that covers a
    personal signature: one made in an earlier revision of the same file, at a time no later."""
    linked = []
    for index, f in enumerate(facts):
        update: dict[str, Any] = {"index": index}
        if f.kind == "organization":
            update["follows_personal"] = any(
                p.kind == "personal" and _before(p, f) for p in facts[:index]
            )
        linked.append(f.model_copy(update=update))
    return linked


def _before(personal: SignatureFacts, org: SignatureFacts) -> bool:
    if personal.revision is None or org.revision is None or personal.revision >= org.revision:
        return False
    before = parse_signing_time(personal.signing_time)
    after = parse_signing_time(org.signing_time)
    return before is None or after is None or after >= before
