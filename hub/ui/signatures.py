"""The trace page's signature panel: each signature of a document as a PDF reader lists it.

Who signed, as what (the official, or the organisation's seal), when, where
(the envelope, or which revision of which PDF), and the result with its
reasons, from the verdict's facts; and what kept the PDF from being read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from signing.compliance import ENVELOPE, SignatureFacts
from signing.verify import Verdict

KINDS = {"personal": "Cá nhân (official)", "organization": "Tổ chức (organisation seal)"}
FORMATS = {"jws": "JWS", "pades": "PAdES", "xmldsig": "XML-DSig"}
DOCUMENT_PROBLEMS = {
    "UNREADABLE_DOCUMENT": "Không đọc được PDF (the principal PDF cannot be read)",
    "VALIDATION_LIMIT_EXCEEDED": "Vượt giới hạn kiểm tra (validation exceeded the hub's bound)",
}


@dataclass(frozen=True)
class PanelEntry:
    number: int
    who: str
    agency: str
    kind: str
    when: str
    where: str
    valid: bool
    reasons: list[str] = field(default_factory=list)


def common_name(subject: str | None) -> str:
    """The CN of an RFC 4514 subject, or the subject itself."""
    if not subject:
        return "?"
    for part in subject.split(","):
        name, _, value = part.partition("=")
        if name.strip().upper() == "CN":
            return value.strip()
    return subject


def where(facts: SignatureFacts) -> str:
    form = FORMATS.get(facts.format, facts.format)
    if facts.source == ENVELOPE:
        return f"gói tin (envelope, {form})"
    number = facts.source.removeprefix("attachment:")
    revision = "" if facts.revision is None else f", bản sửa đổi (revision) {facts.revision}"
    return f"PDF, tệp đính kèm #{number}{revision} ({form})"


def reasons(facts: SignatureFacts) -> list[str]:
    found = []
    if not facts.signature_valid:
        found.append("chữ ký không khớp (does not verify)")
    if facts.modified_after_signing:
        found.append("sửa sau khi ký (modified after signing)")
    if not facts.chain_trusted:
        found.append("chứng thư không tin cậy (untrusted chain)")
    if facts.valid_at_signing_time is False:
        found.append("chứng thư hết hạn khi ký (expired at signing time)")
    if facts.revoked_at_signing_time:
        found.append("chứng thư đã bị thu hồi (revoked)")
    if facts.kind == "organization" and facts.follows_personal is False:
        found.append("không phủ chữ ký cá nhân (does not cover the official's)")
    return found


def panel(verdict: Verdict) -> list[PanelEntry]:
    entries = []
    for number, facts in enumerate(verdict.signatures, start=1):
        problems = reasons(facts)
        entries.append(
            PanelEntry(
                number=number,
                who=common_name(facts.subject),
                agency=facts.agency_code or "",
                kind=KINDS.get(facts.kind or "", "không rõ (unknown)"),
                when=facts.signing_time or "không có (none)",
                where=where(facts),
                valid=not problems,
                reasons=problems,
            )
        )
    return entries


def document_problems(verdict: Verdict) -> list[str]:
    return [text for code, text in DOCUMENT_PROBLEMS.items() if code in verdict.violations]
