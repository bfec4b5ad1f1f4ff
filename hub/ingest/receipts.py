"""The hub's signed submission receipt: a compact JWS over what it accepted.

A member verifies it with the hub certificate published in the directory
(`signing.jose.verify_compact`), or with any JOSE library.
"""

from __future__ import annotations

from cryptography import x509

from hub.protocol import ReceiptClaims
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
