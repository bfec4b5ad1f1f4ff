"""Key pairs: generation, 0600 PEM storage, and the JWS algorithm a key signs with.

ECDSA P-256 is the default. RSA 2048/3072 are supported; `rsa1024` and
`ec192` (P-192) exist only so tests can make signatures that the compliance
rules must call weak.

Whatever signs takes a `SigningKey`: something with a JWS `algorithm`, a
`public_key()` and `sign(data) -> bytes` giving the raw JWS signature (ECDSA as
r||s). A key file is one (`FileKey`); a key on a hardware token is another
(`signing.pkcs11.Pkcs11Key`). Functions that sign accept either a
`SigningKey` or a `cryptography` private key (`KeyLike`), wrapped on the way in.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Literal, Protocol, get_args, runtime_checkable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

KeyType = Literal["ec", "ec384", "rsa2048", "rsa3072", "rsa1024", "ec192", "ed25519"]
KEY_TYPES: tuple[str, ...] = get_args(KeyType)

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey


@runtime_checkable
class SigningKey(Protocol):
    """A private key that signs, wherever it lives: a PEM file, a PKCS#11 token."""

    @property
    def algorithm(self) -> str:
        """The JWS `alg` this key signs with (ES256, PS256, RS256, EdDSA ...)."""
        ...

    def public_key(self) -> PublicKey:
        """The public half (a certificate for it goes into `x5c`)."""
        ...

    def sign(self, data: bytes) -> bytes:
        """The raw JWS signature of `data` with `algorithm` (ECDSA as r||s)."""
        ...


KeyLike = PrivateKey | SigningKey
"""What signing functions accept: a `cryptography` private key or any `SigningKey`."""

_CURVES: dict[str, type[ec.EllipticCurve]] = {
    "ec": ec.SECP256R1,
    "ec384": ec.SECP384R1,
    "ec192": ec.SECP192R1,
}
_RSA_BITS = {"rsa2048": 2048, "rsa3072": 3072, "rsa1024": 1024}


def generate_key(key_type: KeyType = "ec") -> PrivateKey:
    """A fresh private key of the given type."""
    if key_type in _CURVES:
        return ec.generate_private_key(_CURVES[key_type]())
    if key_type in _RSA_BITS:
        return rsa.generate_private_key(public_exponent=65537, key_size=_RSA_BITS[key_type])
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(f"unknown key type {key_type!r}; expected one of {', '.join(KEY_TYPES)}")


def private_key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def save_private_key(path: str | os.PathLike[str], key: PrivateKey) -> Path:
    """Write `key` as PKCS#8 PEM, readable by the owner only (created 0600, never wider)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, private_key_pem(key))
    finally:
        os.close(fd)
    return target


def load_private_key(source: str | os.PathLike[str] | bytes) -> PrivateKey:
    """Read a PEM private key from a path or from bytes."""
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(
        key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
    ):
        raise ValueError(f"unsupported private key type {type(key).__name__}")
    return key


def key_size(key: PrivateKey | PublicKey) -> int:
    """Bits of security-relevant size: RSA modulus or curve size (256 for Ed25519)."""
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return key.key_size
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return key.curve.key_size
    return 256


def jws_alg_for(key: PrivateKey | PublicKey | SigningKey) -> str:
    """The JWS `alg` a key signs with: ES256/384/512 by curve, PS256 for RSA, EdDSA.

    A `SigningKey` says its own (a token key may sign RSA as RS256).
    """
    if isinstance(key, FileKey):
        return key.algorithm
    if not isinstance(key, _KEY_CLASSES):
        return key.algorithm
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return "PS256"
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return "EdDSA"
    size = key.curve.key_size
    # P-192 and other small curves still get a hash matching the curve family;
    # the compliance rules, not the signer, decide they are weak.
    return {384: "ES384", 521: "ES512"}.get(size, "ES256")


_HASHES: dict[str, hashes.HashAlgorithm] = {
    "256": hashes.SHA256(),
    "384": hashes.SHA384(),
    "512": hashes.SHA512(),
}
_ECDSA = {alg: ec.ECDSA(_HASHES[alg[-3:]]) for alg in ("ES256", "ES384", "ES512")}


def _hash_for(alg: str) -> hashes.HashAlgorithm:
    return _HASHES[alg[-3:]]


def sign_bytes(key: PrivateKey, alg: str, data: bytes) -> bytes:
    """A raw JWS signature (ECDSA as r||s) over `data` with `alg`."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    if isinstance(key, rsa.RSAPrivateKey):
        h = _hash_for(alg)
        if alg.startswith("PS"):
            pad: padding.AsymmetricPadding = padding.PSS(
                mgf=padding.MGF1(h), salt_length=h.digest_size
            )
        else:
            pad = padding.PKCS1v15()
        return key.sign(data, pad, h)
    der = key.sign(data, ec.ECDSA(_hash_for(alg)))
    r, s = decode_dss_signature(der)
    n = (key.curve.key_size + 7) // 8
    return r.to_bytes(n, "big") + s.to_bytes(n, "big")


def verify_bytes(key: PublicKey, alg: str, data: bytes, signature: bytes) -> bool:
    """Whether `signature` is a valid JWS signature of `data` with `alg` under `key`.

    Any mismatch between `alg` and the key type is a failed check, not an error.
    """
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            if alg not in ("EdDSA", "Ed25519"):
                return False
            key.verify(signature, data)
        elif isinstance(key, rsa.RSAPublicKey):
            if alg[:2] not in ("PS", "RS") or alg[2:] not in ("256", "384", "512"):
                return False
            h = _hash_for(alg)
            pad: padding.AsymmetricPadding = (
                padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size)
                if alg.startswith("PS")
                else padding.PKCS1v15()
            )
            key.verify(signature, data, pad, h)
        else:
            if alg not in ("ES256", "ES384", "ES512"):
                return False
            n = (key.curve.key_size + 7) // 8
            if len(signature) != 2 * n:
                return False
            r = int.from_bytes(signature[:n], "big")
            s = int.from_bytes(signature[n:], "big")
            key.verify(encode_dss_signature(r, s), data, _ECDSA[alg])
    except (InvalidSignature, ValueError, KeyError):
        return False
    return True


_KEY_CLASSES = (
    ec.EllipticCurvePrivateKey,
    ec.EllipticCurvePublicKey,
    rsa.RSAPrivateKey,
    rsa.RSAPublicKey,
    ed25519.Ed25519PrivateKey,
    ed25519.Ed25519PublicKey,
)


class FileKey:
    """A `SigningKey` over a private key held in memory (read from a PEM file)."""

    def __init__(self, key: PrivateKey, algorithm: str | None = None) -> None:
        self.key = key
        self._algorithm = algorithm or jws_alg_for(key)

    @property
    def algorithm(self) -> str:
        return self._algorithm

    def public_key(self) -> PublicKey:
        return self.key.public_key()

    def sign(self, data: bytes) -> bytes:
        return sign_bytes(self.key, self._algorithm, data)

    def __repr__(self) -> str:
        return f"FileKey({type(self.key).__name__}, {self._algorithm})"


def signing_key(key: KeyLike, algorithm: str | None = None) -> SigningKey:
    """`key` as a `SigningKey` that signs with `algorithm` (its own when None).

    A file key can sign with any algorithm of its family; a `SigningKey` only
    with its own: asking another is a `ValueError`.
    """
    if isinstance(key, FileKey):
        return key if algorithm in (None, key.algorithm) else FileKey(key.key, algorithm)
    if isinstance(key, _KEY_CLASSES):
        return FileKey(key, algorithm)
    if algorithm is not None and algorithm != key.algorithm:
        raise ValueError(f"this key signs with {key.algorithm}, not {algorithm}")
    return key


def private_key_of(key: KeyLike) -> PrivateKey | None:
    """The in-memory private key behind `key`, or None when it cannot leave its token."""
    if isinstance(key, FileKey):
        return key.key
    if isinstance(key, _KEY_CLASSES):
        return key
    return None


Verifier = Callable[[str, bytes, bytes], bool]


def verifier_for(key: PublicKey) -> Verifier:
    """`verify_bytes` bound to `key`, with the work that depends only on the key done once.

    For keys that check many signatures (a sender's certificate, cached by the
    verifier): `verifier(alg, data, signature)` answers as `verify_bytes` would.
    """
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return functools.partial(verify_bytes, key)
    n = (key.curve.key_size + 7) // 8
    verify = key.verify

    def verify_ec(alg: str, data: bytes, signature: bytes) -> bool:
        ecdsa = _ECDSA.get(alg)
        if ecdsa is None or len(signature) != 2 * n:
            return False
        r = int.from_bytes(signature[:n], "big")
        s = int.from_bytes(signature[n:], "big")
        try:
            verify(encode_dss_signature(r, s), data, ecdsa)
        except (InvalidSignature, ValueError):
            return False
        return True

    return verify_ec
