"""The hub's signed submission receipt: a compact JWS over what it accepted.

A member verifies it with the hub certificate published in the directory
(`signing.jose.verify_compact`), or with any JOSE library.
"""

from __future__ import annotations

from cryptography import x509
from lxml import etree

from hub.protocol import ReceiptClaims, SubmitResult
from signing.jose import CompactSigner, unverified_claims, verify_compact
from signing.keys import KeyLike

RECEIPT_TYPE = "lienthong-receipt+jwt"


def receipt_signer(key: KeyLike, chain: list[x509.Certificate]) -> CompactSigner:
    """What signs the hub's receipts: make it once, sign many."""
    return CompactSigner(key, chain, typ=RECEIPT_TYPE)


def sign_receipt(claims: ReceiptClaims, signer: CompactSigner) -> str:
    """The receipt token: the claims as JSON (pydantic's own writer), signed by the hub."""
    return signer.sign(claims.model_dump_json().encode())


def read_receipt(token: str) -> ReceiptClaims:
    """The claims of a receipt the hub itself stored (not verified: it is our own)."""
    return ReceiptClaims.model_validate(unverified_claims(token))


def verify_receipt(token: str, hub_certificate: x509.Certificate) -> ReceiptClaims:
    """The claims of a receipt after checking the hub's signature (raises `JoseError`)."""
    return ReceiptClaims.model_validate(verify_compact(token, hub_certificate))


RECEIPT_XML_NAMESPACE = "urn:lienthong:receipt"


def receipt_xml(result: SubmitResult) -> bytes:
    """The submit answer as XML, for a DMS that asked `Accept: application/xml`.

    `<Receipt xmlns="urn:lienthong:receipt">` with the document id, manifest
    digest, received-at, the verdict's outcome and violations, one `Recipient`
    per recipient, and `Token`: the hub's signed receipt (JWS compact), the
    one authoritative part.
    """
    ns = f"{{{RECEIPT_XML_NAMESPACE}}}"
    root = etree.Element(ns + "Receipt", nsmap={None: RECEIPT_XML_NAMESPACE})  # type: ignore[dict-item]

    def add(parent: etree._Element, name: str, value: str | None = None) -> etree._Element:
        node = etree.SubElement(parent, ns + name)
        if value is not None:
            node.text = value
        return node

    add(root, "DocumentId", result.document_id)
    add(root, "ManifestDigest", result.manifest_digest)
    add(root, "ReceivedAt", result.received_at.isoformat())
    verdict = add(root, "Verdict")
    add(verdict, "Compliant", "true" if result.verdict.compliant else "false")
    for code in result.verdict.violations:
        add(verdict, "Violation", str(code))
    recipients = add(root, "Recipients")
    for line in result.recipients:
        node = add(recipients, "Recipient")
        add(node, "OrganId", line.recipient)
        add(node, "Outcome", line.outcome.value)
        if line.delivery_id is not None:
            add(node, "DeliveryId", line.delivery_id)
        for reason in line.reasons:
            add(node, "Reason", reason)
    add(root, "Token", result.receipt)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
