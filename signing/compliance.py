"""The compliance rules: they turn signature facts into violation codes (DESIGN section 3).

The rules know nothing about JWS or X.509 parsing; any extractor (JWS today,
XML-DSig or PAdES later) that yields `SignatureFacts` is judged the same way.

`UNSIGNED` stands alone: a package with no signature at all gets only
`UNSIGNED`, not also `NO_PERSONAL_SIGNATURE` and `NO_ORGANIZATION_SIGNATURE`,
so "signed share" is simply the share of packages without `UNSIGNED`.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Collection, Sequence
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from signing.workdays import dispatch_deadline


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


_TABLE_ORDER: tuple[Violation, ...] = tuple(Violation)  # iterating the enum itself is slow

STRONG_ALGORITHMS = frozenset(
    {"ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "RS256", "RS384", "RS512", "EdDSA"}
)
MIN_RSA_BITS = 2048
MIN_CURVE_BITS = 256
VIETNAM_OFFSET = "+07:00"
DEFAULT_CLOCK_SKEW = dt.timedelta(minutes=5)
_RFC3339 = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)


class SignatureFacts(BaseModel):
    """Everything verification learned about one signature, before any judgement."""

    model_config = ConfigDict(frozen=True)

    index: int
    format: str = "jws"
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
    holidays: Collection[dt.date] | None = None,
) -> list[Violation]:
    """The violations of a package, in the order of DESIGN's table, each once."""
    if not facts:
        return [Violation.UNSIGNED]
    found: set[Violation] = set()
    kinds = [f.kind for f in facts]
    has_personal = "personal" in kinds
    if not has_personal:
        found.add(Violation.NO_PERSONAL_SIGNATURE)
    if "organization" not in kinds:
        found.add(Violation.NO_ORGANIZATION_SIGNATURE)
    if not attachments_intact:
        found.add(Violation.BAD_SIGNATURE)
    latest: dt.datetime | None = None
    for f in facts:
        _add_per_signature(found, f, sender, received_at, clock_skew)
        if f.kind == "organization" and has_personal and not f.follows_personal:
            found.add(Violation.WRONG_ORDER)
        signed_at = parse_signing_time(f.signing_time)
        if signed_at is not None and (latest is None or signed_at > latest):
            latest = signed_at
    if latest is not None and _late(latest, received_at, holidays):
        found.add(Violation.LATE_DISPATCH)
    return [v for v in _TABLE_ORDER if v in found] if found else []


def _late(
    signed_at: dt.datetime, received_at: dt.datetime, holidays: Collection[dt.date] | None
) -> bool:
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
