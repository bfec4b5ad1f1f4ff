"""The trace page's signature panel: each signature of a document as a PDF reader lists it.

Who signed, as what (the official, or the organisation's seal), when, where
(the envelope, or which revision of which PDF), and the result with its
reasons, from the verdict's facts; and what kept the PDF from being read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hub.ui.times import vn_time
from signing.compliance import ENVELOPE, SignatureFacts
from signing.verify import Verdict

__all__ = [
    "PanelEntry",
    "common_name",
    "document_problems",
    "panel",
    "readable_subject",
    "subject_parts",
]

KINDS = {"personal": "Cá nhân (official)", "organization": "Tổ chức (organisation seal)"}
FORMATS = {"jws": "JWS", "pades": "PAdES", "xmldsig": "XML-DSig"}
DOCUMENT_PROBLEMS = {
    "UNREADABLE_DOCUMENT": "Không đọc được PDF (the principal PDF cannot be read)",
    "VALIDATION_LIMIT_EXCEEDED": "Vượt giới hạn kiểm tra (validation exceeded the hub's bound)",
}


ATTRIBUTES = {
    "CN": "Tên (common name)",
    "2.5.4.12": "Chức danh (title)",
    "T": "Chức danh (title)",
    "TITLE": "Chức danh (title)",
    "O": "Cơ quan (organisation)",
    "OU": "Đơn vị (unit)",
    "2.5.4.97": "Mã định danh cơ quan (organisation identifier)",
    "ORGANIZATIONIDENTIFIER": "Mã định danh cơ quan (organisation identifier)",
    "2.5.4.5": "Số hiệu (serial number)",
    "SERIALNUMBER": "Số hiệu (serial number)",
    "0.9.2342.19200300.100.1.1": "Mã định danh (UID)",
    "UID": "Mã định danh (UID)",
    "1.2.840.113549.1.9.1": "Thư điện tử (email)",
    "EMAILADDRESS": "Thư điện tử (email)",
    "L": "Địa phương (locality)",
    "ST": "Tỉnh, thành phố (province)",
    "C": "Quốc gia (country)",
}
"""Readable names of the subject attributes Vietnamese certificates carry; RFC 4514
prints the ones it has no short name for (title, organisation identifier) as OIDs."""


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
    subject: list[tuple[str, str]] = field(default_factory=list)
    """The signer's certificate subject, each attribute by its readable name (CN aside)."""


def _split_unescaped(text: str, separators: str) -> list[str]:
    parts, current, escaped = [], [], False
    for char in text:
        if escaped:
            current.append("\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in separators:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _unescape(value: str) -> str:
    out, i = bytearray(), 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value):
            pair = value[i + 1 : i + 3]
            if len(pair) == 2 and all(c in "0123456789abcdefABCDEF" for c in pair):
                out += bytes.fromhex(pair)
                i += 3
                continue
            out += value[i + 1].encode()
            i += 2
            continue
        out += value[i].encode()
        i += 1
    return out.decode("utf-8", "replace")


def subject_parts(subject: str | None) -> list[tuple[str, str]]:
    """An RFC 4514 subject as (attribute, value) pairs, escapes undone, in its order."""
    pairs = []
    for part in _split_unescaped(subject or "", ",+"):
        name, sep, value = part.partition("=")
        if sep:
            pairs.append((name.strip(), _unescape(value.strip())))
    return pairs


def common_name(subject: str | None) -> str:
    """The CN of an RFC 4514 subject, or the subject itself."""
    if not subject:
        return "?"
    for name, value in subject_parts(subject):
        if name.upper() == "CN":
            return value
    return subject


def readable_subject(subject: str | None) -> list[tuple[str, str]]:
    """Every attribute but the CN, named in words; an unknown OID says it is one."""
    return [
        (ATTRIBUTES.get(name.upper(), f"thuộc tính khác (OID {name})"), value)
        for name, value in subject_parts(subject)
        if name.upper() != "CN"
    ]


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
                when=vn_time(facts.signing_time) or "không có (none)",
                where=where(facts),
                valid=not problems,
                reasons=problems,
                subject=readable_subject(facts.subject),
            )
        )
    return entries


def document_problems(verdict: Verdict) -> list[str]:
    return [text for code, text in DOCUMENT_PROBLEMS.items() if code in verdict.violations]
