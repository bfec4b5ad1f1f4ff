"""A member's signed delivery receipt, checked before the hub keeps it as proof.

A push member answers with a compact JWS signed by its organisation key; a
pull member sends one with its acknowledgement. The hub keeps it only if a
certificate registered for that member (current or retired: the receipt was
made at delivery) signed it, and it names this document and this delivery
(and this member, if it names one). Delivery itself does not depend on it: a
2xx or an ack is delivery; an unusable receipt is dropped and the reason
goes into the attempt log.
"""

from __future__ import annotations

from cryptography import x509
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.models import MemberCertificate
from signing.certs import load_certificate
from signing.jose import JoseError, unverified_header, verify_compact


async def checked_receipt(
    session: AsyncSession, member: str, document_id: str, delivery_id: str, receipt: str | None
) -> tuple[str | None, str | None]:
    """`(receipt to keep, why it was refused)`; `(None, None)` when there was none."""
    if not receipt:
        return None, None
    try:
        kid = unverified_header(receipt).get("kid")
    except JoseError as exc:
        return None, f"delivery receipt refused: {exc.code}"
    if not isinstance(kid, str):
        return None, "delivery receipt refused: no kid names its certificate"
    certificate = _known.get((member, kid))
    if certificate is None:
        pem = await session.scalar(
            select(MemberCertificate.pem).where(
                MemberCertificate.member_code == member, MemberCertificate.fingerprint == kid
            )
        )
        if pem is None:
            return None, "delivery receipt refused: not signed with a certificate of the member"
        certificate = _known[(member, kid)] = load_certificate(pem.encode())
    try:
        claims = verify_compact(receipt, certificate)
    except JoseError as exc:
        return None, f"delivery receipt refused: {exc.code}"
    if (
        claims.get("document_id") != document_id
        or claims.get("delivery_id") != delivery_id
        or claims.get("iss", member) != member
    ):
        return None, "delivery receipt refused: it names another document, delivery or member"
    return receipt, None


_known: dict[tuple[str, str], x509.Certificate] = {}
"""(member, fingerprint) -> certificate, for pairs found in the registry: a member's
certificate rows are never deleted (rotation retires them), so a pair once found stays
true, and the worker reads the registry once per member key, not once per push."""
