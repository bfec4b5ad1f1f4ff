"""A pyHanko CMS signer over any `SigningKey`: a key on a PKCS#11 token signs PDFs too.

pyHanko's own `SimpleSigner` wants the private key's bytes, which a token never
gives out. This signer hands pyHanko's signed attributes to `SigningKey.sign`
(the token hashes and signs them) and answers in CMS's form: RSA PKCS#1 v1.5
as it is, ECDSA as a DER SEQUENCE of r and s rather than JWS's r||s.
"""

from __future__ import annotations

from collections.abc import Sequence

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pyhanko.sign import signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signing.certs import cert_der
from signing.keys import SigningKey

DIGESTS = {"256": "sha256", "384": "sha384", "512": "sha512"}
"""The CMS digest that goes with a JWS algorithm's hash size."""


class KeySigningError(ValueError):
    """The key's algorithm cannot make a PAdES signature (PSS, EdDSA)."""


def digest_for(key: SigningKey) -> str:
    """The message digest a PAdES signature by `key` must use: the one its algorithm hashes."""
    alg = key.algorithm
    if alg[:2] not in ("ES", "RS") or alg[2:] not in DIGESTS:
        raise KeySigningError(f"a PDF signature needs an ECDSA or RSA PKCS#1 v1.5 key, not {alg}")
    return DIGESTS[alg[2:]]


class KeySigner(signers.Signer):
    """Signs CMS signed attributes with a `SigningKey` (a token key, or a file key)."""

    def __init__(self, key: SigningKey, chain: Sequence[x509.Certificate]) -> None:
        self._key = key
        self._digest = digest_for(key)
        super().__init__(
            signing_cert=asn1_x509.Certificate.load(cert_der(chain[0])),
            cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
                [asn1_x509.Certificate.load(cert_der(c)) for c in chain[1:]]
            ),
        )

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        if digest_algorithm != self._digest:
            raise KeySigningError(
                f"the key signs {self._key.algorithm}; pyHanko asked for {digest_algorithm}"
            )
        public = self._key.public_key()
        if dry_run:  # only the size matters: the longest signature this key can make
            return bytes(_longest_signature(public))
        raw = self._key.sign(data)
        if isinstance(public, ec.EllipticCurvePublicKey):
            half = len(raw) // 2
            return encode_dss_signature(
                int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
            )
        return raw


def _longest_signature(public: object) -> int:
    if isinstance(public, rsa.RSAPublicKey):
        return (public.key_size + 7) // 8
    assert isinstance(public, ec.EllipticCurvePublicKey)
    # SEQUENCE { INTEGER r, INTEGER s }, each with a possible leading zero byte
    integer = (public.curve.key_size + 7) // 8 + 1 + 2
    return 2 * integer + 3


__all__ = ["KeySigner", "KeySigningError", "digest_for"]
