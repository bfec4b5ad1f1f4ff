"""A `SigningKey` dressed as the `cryptography` private key signxml calls.

signxml signs by calling `key.sign(data, …)` the way `cryptography`'s keys
answer; a key on a PKCS#11 token has no such method, only `SigningKey.sign`
(JWS form). `TokenKeyFace` answers signxml's two calls — ECDSA (a DER
signature) and RSA PKCS#1 v1.5 — by signing on the key, after checking that
the hash signxml asks for is the one the key's algorithm uses.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from signing.keys import PublicKey, SigningKey


class TokenKeyFace:
    """What signxml needs of a private key (`sign`, `public_key`, `key_size`), over a
    `SigningKey`."""

    def __init__(self, key: SigningKey) -> None:
        public = key.public_key()
        if not isinstance(public, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
            raise ValueError("XML-DSig signing needs an ECDSA or RSA key")
        if key.algorithm[:2] not in ("ES", "RS"):
            raise ValueError(f"XML-DSig signing cannot use {key.algorithm} (ECDSA or RSA PKCS#1)")
        self._key = key
        self._public: ec.EllipticCurvePublicKey | rsa.RSAPublicKey = public

    @property
    def key_size(self) -> int:
        return self._public.key_size

    @property
    def curve(self) -> ec.EllipticCurve:
        if not isinstance(self._public, ec.EllipticCurvePublicKey):
            raise AttributeError("curve")
        return self._public.curve

    def public_key(self) -> PublicKey:
        return self._public

    def sign(self, data: bytes, *args: Any, **kwargs: Any) -> bytes:
        """`data` signed as `cryptography` would answer: DER for ECDSA, raw for RSA."""
        algorithm = kwargs.get("signature_algorithm") or kwargs.get("algorithm")
        pad = kwargs.get("padding")
        for arg in args:
            if isinstance(arg, ec.ECDSA | hashes.HashAlgorithm):
                algorithm = arg
            elif isinstance(arg, padding.AsymmetricPadding):
                pad = arg
        if isinstance(algorithm, ec.ECDSA):
            algorithm = algorithm.algorithm
        if not isinstance(algorithm, hashes.HashAlgorithm):
            raise ValueError("no hash algorithm to sign with")
        if str(algorithm.digest_size * 8) != self._key.algorithm[2:]:
            raise ValueError(f"the key signs {self._key.algorithm}, not with {algorithm.name}")
        if isinstance(self._public, rsa.RSAPublicKey) and not isinstance(pad, padding.PKCS1v15):
            raise ValueError("an RSA key on a token signs XML-DSig with PKCS#1 v1.5 only")
        raw = self._key.sign(data)
        if isinstance(self._public, ec.EllipticCurvePublicKey):
            half = len(raw) // 2
            return encode_dss_signature(
                int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
            )
        return raw


__all__ = ["TokenKeyFace"]
