"""A member's certificates: added after checks, rotated with history, never deleted.

Rotation retires the old certificate instead of removing it: its key stops
authenticating at once, and its signatures stay valid if made before
`retired_at`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.changes import record_change
from registry.db import utcnow
from registry.errors import conflict, invalid
from registry.members import certificate_view, get_member, member_view
from registry.models import Member, MemberCertificate
from registry.sorting import sort_order
from signing.certs import agency_code_of, cert_kind, cert_to_pem, fingerprint, load_certificates

MEMBER_CERT_KINDS = ("organization",)


def parse_certificate(pem: str | bytes) -> x509.Certificate:
    try:
        certs = load_certificates(pem)
    except ValueError as exc:
        raise invalid(
            "invalid_certificate", f"not a PEM certificate: {exc}", "certificate"
        ) from exc
    if not certs:
        raise invalid("invalid_certificate", "no certificate in the PEM text", "certificate")
    return certs[0]


def _issued_by_national_ca(cert: x509.Certificate, roots: Sequence[x509.Certificate]) -> bool:
    for root in roots:
        try:
            cert.verify_directly_issued_by(root)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return True
    return False


def check_certificate(
    cert: x509.Certificate, member: Member, roots: Sequence[x509.Certificate]
) -> None:
    """Refuse a certificate the national CA did not issue to this member's organisation."""
    if not _issued_by_national_ca(cert, roots):
        raise invalid(
            "untrusted_certificate",
            "the certificate was not issued by the national CA",
            "certificate",
        )
    holder = agency_code_of(cert)
    if holder != member.code:
        raise invalid(
            "certificate_agency_mismatch",
            f"the certificate belongs to {holder or 'no agency'}, not {member.code}",
            "certificate",
        )
    kind = cert_kind(cert)
    if kind not in MEMBER_CERT_KINDS:
        raise invalid(
            "certificate_wrong_kind",
            f"a member needs an organisation certificate, not {kind or 'an unknown kind'}",
            "certificate",
        )
    if cert.not_valid_after_utc <= utcnow():
        raise invalid("certificate_expired", "the certificate has expired", "certificate")


async def add_certificate(
    session: AsyncSession,
    code: str,
    pem: str | bytes,
    *,
    roots: Sequence[x509.Certificate],
    actor: str,
    signing: bool = True,
    auth: bool = True,
    rotate: bool = False,
) -> MemberCertificate:
    """Attach a certificate; with `rotate`, retire the current ones it replaces."""
    if not (signing or auth):
        raise invalid("invalid_usage", "a certificate must be for signing, auth or both", "usage")
    member = await get_member(session, code)
    if member.status == "revoked":
        raise conflict("member_revoked", f"{member.code} is revoked")
    cert = parse_certificate(pem)
    check_certificate(cert, member, roots)
    fp = fingerprint(cert)
    existing = await session.scalar(
        select(MemberCertificate).where(MemberCertificate.fingerprint == fp)
    )
    if existing is not None:
        raise conflict("duplicate_certificate", f"certificate {fp} is already registered")
    before = member_view(member)
    now = utcnow()
    if rotate:
        for old in member.certificates:
            if old.retired_at is None and ((signing and old.signing) or (auth and old.auth)):
                old.retired_at = now
    row = MemberCertificate(
        member_code=member.code,
        fingerprint=fp,
        pem=cert_to_pem(cert).decode(),
        serial=f"{cert.serial_number:x}",
        signing=signing,
        auth=auth,
        not_before=cert.not_valid_before_utc.astimezone(UTC),
        not_after=cert.not_valid_after_utc.astimezone(UTC),
        added_at=now,
        retired_at=None,
    )
    member.certificates.append(row)
    member.updated_at = now
    record_change(
        session,
        actor=actor,
        action="rotate_certificate" if rotate else "add_certificate",
        member_code=member.code,
        before=before,
        after=member_view(member),
    )
    await session.flush()
    return row


CERTIFICATE_SORT_COLUMNS = ("fingerprint", "serial", "use", "validity", "added_at", "retired_at")
"""The columns a member's certificates may be sorted by (`-column`: descending)."""


async def member_certificates(
    session: AsyncSession, code: str, *, sort: str = "added_at"
) -> list[dict[str, Any]]:
    """A member's certificates as `member_view` shows them, in `sort` order (then by id)."""
    keys: dict[str, list[Any]] = {
        "fingerprint": [MemberCertificate.fingerprint],
        "serial": [MemberCertificate.serial],
        "use": [MemberCertificate.signing, MemberCertificate.auth],
        "validity": [MemberCertificate.not_before, MemberCertificate.not_after],
        "added_at": [MemberCertificate.added_at],
        "retired_at": [MemberCertificate.retired_at],
    }
    rows = await session.scalars(
        select(MemberCertificate)
        .where(MemberCertificate.member_code == code)
        .order_by(*sort_order(keys, sort, [MemberCertificate.id]))
    )
    return [certificate_view(c) for c in rows]
