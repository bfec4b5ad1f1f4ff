"""The compliance rules: they turn signature facts into violation codes (DESIGN section 3).

The rules know nothing about JWS, PDF or X.509 parsing; any extractor (JWS,
PAdES, XML-DSig) that yields `SignatureFacts` is judged the same way, and
the facts of every source of one document (the envelope, the principal PDF)
are judged together.

`UNSIGNED` stands alone among the signature codes: a package with no
signature at all gets `UNSIGNED`, not also `NO_PERSONAL_SIGNATURE` and
`NO_ORGANIZATION_SIGNATURE`, so "signed share" is simply the share of
packages without `UNSIGNED`. Codes about the document itself
(`UNREADABLE_DOCUMENT`, `VALIDATION_LIMIT_EXCEEDED`) may come with it.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Collection, Sequence
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from signing.workdays import Holidays, dispatch_deadline


class Violation(StrEnum):
    UNSIGNED = "UNSIGNED"
    NO_PERSONAL_SIGNATURE = "NO_PERSONAL_SIGNATURE"
    NO_ORGANIZATION_SIGNATURE = "NO_ORGANIZATION_SIGNATURE"
    BAD_SIGNATURE = "BAD_SIGNATURE"
    UNTRUSTED_CERTIFICATE = "UNTRUSTED_CERTIFICATE"
    CERTIFICATE_EXPIRED = "CERTIFICATE_EXPIRED"
    CERTIFICATE_REVOKED = "CERTIFICATE_REVOKED"
    ORGANIZATION_MISMATCH = "ORGANIZATION_MISMATCH"
    SIGNER_NOT_OF_SENDER = "SIGNER_NOT_OF_SENDER"
    WRONG_ORDER = "WRONG_ORDER"
    WEAK_ALGORITHM = "WEAK_ALGORITHM"
    BAD_SIGNING_TIME = "BAD_SIGNING_TIME"
    LATE_DISPATCH = "LATE_DISPATCH"
    MODIFIED_AFTER_SIGNING = "MODIFIED_AFTER_SIGNING"
    UNREADABLE_DOCUMENT = "UNREADABLE_DOCUMENT"
    VALIDATION_LIMIT_EXCEEDED = "VALIDATION_LIMIT_EXCEEDED"


_TABLE_ORDER: tuple[Violation, ...] = tuple(Violation)  # iterating the enum itself is slow

STRONG_ALGORITHMS = frozenset(
    {"ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "RS256", "RS384", "RS512", "EdDSA"}
)
MIN_RSA_BITS = 2048
MIN_CURVE_BITS = 256
VIETNAM_OFFSET = "+07:00"
ENVELOPE = "envelope"
DEFAULT_CLOCK_SKEW = dt.timedelta(minutes=5)
_RFC3339 = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)


class SignatureFacts(BaseModel):
    """Everything verification learned about one signature, before any judgement."""

    model_config = ConfigDict(frozen=True)

    index: int
    format: str = "jws"
    source: str = ENVELOPE
    """`envelope`, or `attachment:<n>` for a signature inside the package's attachment n."""
    revision: int | None = None
    """For a PDF signature, the revision it signs (pyHanko's count, 0 the original file)."""
    kind: str | None = None
    certificate_kind: str | None = None
    alg: str | None = None
    key_type: str | None = None
    key_size: int | None = None
    signing_time: str | None = None
    signature_valid: bool = False
    chain_trusted: bool = False
    chain: list[str] = []
    subject: str | None = None
    agency_code: str | None = None
    valid_at_signing_time: bool | None = None
    revoked_at_signing_time: bool | None = None
    revocation_reason: str | None = None
    revocation_checked: bool = False
    follows_personal: bool | None = None
    """Organisation signatures: whether it comes after and covers a personal signature of
    its own source (JWS: `prev`; PDF: a later revision over the personal one's)."""
    modified_after_signing: bool = False
    """PDF signatures: the file changed after it in a way it does not allow."""
    errors: list[str] = []


def parse_signing_time(value: str | None) -> dt.datetime | None:
    """An aware datetime for an RFC 3339 string, or None if missing or unparseable."""
    if not isinstance(value, str):
        return None
    return _parse_rfc3339(value)


@functools.lru_cache(maxsize=4096)
def _parse_rfc3339(value: str) -> dt.datetime | None:
    # Cached: verification and the rules each read every signing time more than once.
    if not _RFC3339.match(value):
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
    except ValueError:
        return None


def signing_time_ok(value: str | None, received_at: dt.datetime, skew: dt.timedelta) -> bool:
    parsed = parse_signing_time(value)
    if parsed is None or value is None or not value.endswith(VIETNAM_OFFSET):
        return False
    return parsed <= received_at + skew


def is_weak(facts: SignatureFacts) -> bool:
    if facts.alg not in STRONG_ALGORITHMS:
        return True
    if facts.key_type == "RSA" and (facts.key_size or 0) < MIN_RSA_BITS:
        return True
    return facts.key_type == "EC" and (facts.key_size or 0) < MIN_CURVE_BITS


def judge(
    facts: Sequence[SignatureFacts],
    *,
    sender: str,
    received_at: dt.datetime,
    attachments_intact: bool = True,
    clock_skew: dt.timedelta = DEFAULT_CLOCK_SKEW,
    holidays: Holidays | None = None,
    document_violations: Collection[Violation] = (),
) -> list[Violation]:
    """The violations of a package, in the order of DESIGN's table, each once.

    `facts` are every signature of the document, whatever their format and
    source (the envelope, the principal PDF); `document_violations` are what
    was found about the document itself (UNREADABLE_DOCUMENT,
    VALIDATION_LIMIT_EXCEEDED). An organisation signature covers a personal one
    when its own source says so (`follows_personal`), or when it is on the
    envelope and the personal signature is inside an attachment, whose bytes
    the envelope's manifest fixes by SHA-256.
    """
    found: set[Violation] = set(document_violations)
    if not facts:
        found.add(Violation.UNSIGNED)
        return [v for v in _TABLE_ORDER if v in found]
    kinds = [f.kind for f in facts]
    has_personal = "personal" in kinds
    if not has_personal:
        found.add(Violation.NO_PERSONAL_SIGNATURE)
    if "organization" not in kinds:
        found.add(Violation.NO_ORGANIZATION_SIGNATURE)
    if not attachments_intact:
        found.add(Violation.BAD_SIGNATURE)
    personal_attached = has_personal and any(
        f.kind == "personal" and f.source != ENVELOPE for f in facts
    )
    latest: dt.datetime | None = None
    for f in facts:
        _add_per_signature(found, f, sender, received_at, clock_skew)
        if (
            f.kind == "organization"
            and has_personal
            and not f.follows_personal
            and not (f.source == ENVELOPE and personal_attached)
        ):
            found.add(Violation.WRONG_ORDER)
        signed_at = parse_signing_time(f.signing_time)
        if signed_at is not None and (latest is None or signed_at > latest):
            latest = signed_at
    if latest is not None and _late(latest, received_at, holidays):
        found.add(Violation.LATE_DISPATCH)
    return [v for v in _TABLE_ORDER if v in found] if found else []


def _late(signed_at: dt.datetime, received_at: dt.datetime, holidays: Holidays | None) -> bool:
    # The next working day is at least the next calendar day, so nothing
    # received before the end of the day after signing is late: most packages
    # are settled without walking the calendar.
    if received_at - signed_at < _ONE_DAY:
        return False
    return received_at >= dispatch_deadline(signed_at, holidays)


_ONE_DAY = dt.timedelta(days=1)


def _add_per_signature(
    found: set[Violation],
    f: SignatureFacts,
    sender: str,
    received_at: dt.datetime,
    skew: dt.timedelta,
) -> None:
    if not f.signature_valid:
        found.add(Violation.BAD_SIGNATURE)
    if f.modified_after_signing:
        found.add(Violation.MODIFIED_AFTER_SIGNING)
    if not f.chain_trusted:
        found.add(Violation.UNTRUSTED_CERTIFICATE)
    else:
        if f.valid_at_signing_time is False:
            found.add(Violation.CERTIFICATE_EXPIRED)
        if f.revoked_at_signing_time:
            found.add(Violation.CERTIFICATE_REVOKED)
    if is_weak(f):
        found.add(Violation.WEAK_ALGORITHM)
    if not signing_time_ok(f.signing_time, received_at, skew):
        found.add(Violation.BAD_SIGNING_TIME)
    kind = f.kind
    if kind == "organization" and (f.agency_code != sender or f.certificate_kind != "organization"):
        found.add(Violation.ORGANIZATION_MISMATCH)
    if kind == "personal" and (f.agency_code != sender or f.certificate_kind != "official"):
        found.add(Violation.SIGNER_NOT_OF_SENDER)
