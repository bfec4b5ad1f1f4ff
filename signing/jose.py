"""Compact JWS and bearer JWTs signed with certificate-bound keys (joserfc underneath).

Used by the hub for receipts, the signed directory and signed log heads, and
by members to mint their bearer tokens (DESIGN section 4). Every token's
header names its signer: `kid` is the hex SHA-256 of the certificate's DER
and `x5c` carries the certificate (and chain) when signing with a chain.
"""

from __future__ import annotations

import base64
import functools
import json
import secrets
import time
from collections.abc import Sequence
from typing import Any

import pybase64
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from joserfc import jws
from joserfc.errors import JoseError as _JoserfcError
from joserfc.jwk import ECKey, OKPKey, RSAKey
from joserfc.jws import JWSRegistry

from signing.certs import cert_der, fingerprint
from signing.keys import KeyLike, signing_key

ALGORITHMS: tuple[str, ...] = (
    "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "RS256", "RS384", "RS512", "EdDSA",
)  # fmt: skip
TOKEN_ALGORITHMS: tuple[str, ...] = ("ES256", "PS256", "RS256")
MAX_HEADER_BYTES = 16 * 1024
MAX_TOKEN_BYTES = 32 * 1024 * 1024


class _Registry(JWSRegistry):
    """joserfc's registry with room for an `x5c` chain and a whole signed directory."""

    max_header_length = MAX_HEADER_BYTES
    max_payload_length = MAX_TOKEN_BYTES


class JoseError(ValueError):
    """A token that cannot be trusted; `code` is stable, `detail` is for humans."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


def _jwk(key: object) -> ECKey | RSAKey | OKPKey:
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return ECKey.import_key(key)
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return RSAKey.import_key(key)
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return OKPKey.import_key(key)
    raise JoseError("unsupported_key", f"unsupported key type {type(key).__name__}")


def x5c_of(chain: Sequence[x509.Certificate]) -> list[str]:
    """The `x5c` header value: standard base64 (not url-safe) DER, leaf first."""
    return [base64.b64encode(cert_der(c)).decode() for c in chain]


def chain_from_x5c(value: object) -> list[x509.Certificate]:
    """Parse an `x5c` header; raises `JoseError("bad_x5c")` on anything but certificates."""
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise JoseError("bad_x5c", "x5c must be a non-empty list of base64 certificates")
    try:
        return [x509.load_der_x509_certificate(base64.b64decode(v, validate=True)) for v in value]
    except ValueError as exc:
        raise JoseError("bad_x5c", f"x5c holds something that is not a certificate: {exc}") from exc


def _b64url_json(part: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise JoseError("malformed_token", "a token part is not base64url JSON") from exc
    if not isinstance(value, dict):
        raise JoseError("malformed_token", "a token part is not a JSON object")
    return value


def _parts(token: str) -> list[str]:
    if not isinstance(token, str) or len(token) > MAX_TOKEN_BYTES:
        raise JoseError("malformed_token", "the token is not a string or is too large")
    parts = token.split(".")
    if len(parts) != 3:
        raise JoseError("malformed_token", "a compact JWS has three dot-separated parts")
    return parts


def unverified_header(token: str) -> dict[str, Any]:
    """The protected header, NOT verified: only to find which key to verify with."""
    return _b64url_json(_parts(token)[0])


def unverified_claims(token: str) -> dict[str, Any]:
    """The payload, NOT verified: only to find the issuer before verifying."""
    return _b64url_json(_parts(token)[1])


def sign_compact(
    claims: dict[str, Any],
    key: KeyLike,
    chain_or_cert: x509.Certificate | Sequence[x509.Certificate],
    *,
    typ: str | None = None,
    alg: str | None = None,
) -> str:
    """A compact JWS over `claims` (JSON), with `kid` and `x5c` naming the signer."""
    payload = json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode()
    return CompactSigner(key, chain_or_cert, typ=typ, alg=alg).sign(payload)


class CompactSigner:
    """Compact JWS tokens from one key and certificate chain.

    Serialised here rather than by joserfc: the hub signs one receipt per
    submission, and building the header (certificate DER, fingerprint,
    base64) and joserfc's checks cost four times the signature itself. The
    header is made once per signer; the result is plain RFC 7515 (the tests
    verify it with joserfc and jwcrypto).
    """

    def __init__(
        self,
        key: KeyLike,
        chain_or_cert: x509.Certificate | Sequence[x509.Certificate],
        *,
        typ: str | None = None,
        alg: str | None = None,
    ) -> None:
        chain = (
            (chain_or_cert,)
            if isinstance(chain_or_cert, x509.Certificate)
            else tuple(chain_or_cert)
        )
        self.key = signing_key(key, alg)
        self.algorithm = self.key.algorithm
        self.header = _compact_header(chain, self.algorithm, typ)

    def sign(self, payload: bytes) -> str:
        """The token over `payload` (already JSON) as given."""
        signing_input = f"{self.header}.{b64url(payload)}"
        signature = self.key.sign(signing_input.encode())
        return f"{signing_input}.{b64url(signature)}"


@functools.lru_cache(maxsize=256)
def _compact_header(chain: tuple[x509.Certificate, ...], algorithm: str, typ: str | None) -> str:
    header: dict[str, Any] = {"alg": algorithm, "kid": fingerprint(chain[0]), "x5c": x5c_of(chain)}
    if typ:
        header["typ"] = typ
    return b64url(json.dumps(header, separators=(",", ":")).encode())


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 7515), by pybase64's SIMD encoder."""
    return pybase64.b64encode(data, altchars=b"-_").rstrip(b"=").decode()


def verify_compact(
    token: str, cert: x509.Certificate, *, algorithms: Sequence[str] = ALGORITHMS
) -> dict[str, Any]:
    """The claims of `token` if `cert`'s key signed it; raises `JoseError` otherwise.

    A `kid` that is not `cert`'s fingerprint is refused before any crypto.
    """
    header = unverified_header(token)
    if header.get("alg") not in algorithms:
        raise JoseError("bad_algorithm", f"algorithm {header.get('alg')!r} is not accepted")
    if "kid" in header and header["kid"] != fingerprint(cert):
        raise JoseError("kid_mismatch", "the token was signed for another certificate")
    try:
        obj = jws.deserialize_compact(
            token, _jwk(cert.public_key()), registry=_Registry(algorithms=list(algorithms))
        )
    except _JoserfcError as exc:
        raise JoseError("bad_signature", f"the token does not verify: {exc}") from exc
    try:
        claims = json.loads(obj.payload)
    except ValueError as exc:
        raise JoseError("malformed_token", "the payload is not JSON") from exc
    if not isinstance(claims, dict):
        raise JoseError("malformed_token", "the payload is not a JSON object")
    return claims


def mint_token(
    key: KeyLike,
    cert: x509.Certificate,
    iss: str,
    aud: str,
    lifetime: int = 300,
    *,
    now: int | None = None,
) -> str:
    """A member's bearer JWT: `iss` agency code, `aud` hub id, `iat`/`exp`, `kid` header."""
    issued = int(time.time()) if now is None else now
    claims = {
        "iss": iss,
        "aud": aud,
        "iat": issued,
        "exp": issued + lifetime,
        "jti": secrets.token_hex(8),
    }
    signer = signing_key(key)
    alg = signer.algorithm
    if alg not in TOKEN_ALGORITHMS:
        raise JoseError(
            "bad_algorithm", f"bearer tokens use {', '.join(TOKEN_ALGORITHMS)}, not {alg}"
        )
    header = {"alg": alg, "typ": "JWT", "kid": fingerprint(cert)}
    signing_input = (
        f"{b64url(json.dumps(header, separators=(',', ':')).encode())}"
        f".{b64url(json.dumps(claims, separators=(',', ':')).encode())}"
    )
    return f"{signing_input}.{b64url(signer.sign(signing_input.encode()))}"


def verify_token(
    token: str,
    cert: x509.Certificate,
    *,
    audience: str,
    now: int | None = None,
    max_lifetime: int = 300,
    leeway: int = 30,
) -> dict[str, Any]:
    """The claims of a member bearer JWT, checked for signature, `aud`, `iat`/`exp` and lifetime."""
    claims = verify_compact(token, cert, algorithms=TOKEN_ALGORITHMS)
    current = int(time.time()) if now is None else now
    iat, exp = claims.get("iat"), claims.get("exp")
    if (
        not isinstance(iat, int)
        or not isinstance(exp, int)
        or not isinstance(claims.get("iss"), str)
    ):
        raise JoseError("bad_claims", "iss, iat and exp are required")
    if claims.get("aud") != audience:
        raise JoseError("bad_audience", "the token is for another audience")
    if exp - iat > max_lifetime or exp <= iat:
        raise JoseError("bad_lifetime", f"iat and exp must be at most {max_lifetime}s apart")
    if current >= exp + leeway:
        raise JoseError("expired", "the token has expired")
    if iat > current + leeway:
        raise JoseError("not_yet_valid", "the token is issued in the future")
    return claims
