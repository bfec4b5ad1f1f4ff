"""Keys on hardware tokens and HSMs, through PKCS#11 (python-pkcs11, `lienthong[pkcs11]`).

An official's USB token, an organisation's seal token or the hub's HSM: the
private key never leaves it. `Pkcs11Key` is a `signing.keys.SigningKey`, so
it signs packages, tokens and receipts wherever a key file does::

    key = Pkcs11Key("/usr/lib/softhsm/libsofthsm2.so", "HUNG YEN", "org",
                    public_key=certificate.public_key())   # PIN from LIENTHONG_PKCS11_PIN

ECDSA signs the SHA-2 digest with the plain `CKM_ECDSA` mechanism (every
token has it) and the token answers r||s, which is JWS's form as it is. RSA
signs RS256 (`CKM_SHA256_RSA_PKCS`, what most USB tokens offer) unless PS256
is asked for. The key is found by its label on the token named by its label;
the certificate says which public key it must match, and a probe signature
checks that when the key is opened.

One module is loaded once per process, and one logged-in session is kept per
token and shared by every key on it (a token allows one login per process);
signing on a session is serialised by a lock.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from signing.keys import PublicKey, verify_bytes

PIN_ENV = "LIENTHONG_PKCS11_PIN"
"""Where the token's PIN comes from unless given: never a command-line argument."""

_HASHES = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}
_EC_ALGS = {256: "ES256", 384: "ES384", 521: "ES512"}
_PROBE = b"lienthong pkcs11 key probe"


class Pkcs11Error(ValueError):
    """The module, the token, the PIN or the key cannot be used; `detail` says which."""


@dataclass
class _Token:
    session: Any
    lock: threading.Lock = field(default_factory=threading.Lock)


_LIBS: dict[str, Any] = {}
_TOKENS: dict[tuple[str, str], _Token] = {}
_GLOBAL = threading.Lock()


def _pkcs11() -> Any:
    try:
        import pkcs11
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise Pkcs11Error(
            "signing on a PKCS#11 token needs python-pkcs11: pip install 'lienthong[pkcs11]'"
        ) from exc
    return pkcs11


def _token(module: str, token_label: str, pin: str | None) -> _Token:
    """The shared logged-in session on `token_label`, opened on first use."""
    pkcs11 = _pkcs11()
    with _GLOBAL:
        found = _TOKENS.get((module, token_label))
        if found is not None:
            return found
        try:
            lib = _LIBS.get(module)
            if lib is None:
                lib = _LIBS[module] = pkcs11.lib(module)
            token = lib.get_token(token_label=token_label)
            session = token.open(user_pin=pin)
        except pkcs11.exceptions.NoSuchToken as exc:
            raise Pkcs11Error(f"no token labelled {token_label!r} in {module}") from exc
        except pkcs11.exceptions.PinIncorrect as exc:
            raise Pkcs11Error(f"the PIN of token {token_label!r} is wrong") from exc
        except pkcs11.PKCS11Error as exc:
            raise Pkcs11Error(
                f"cannot open token {token_label!r} with {module}: {type(exc).__name__} {exc}"
            ) from exc
        found = _TOKENS[(module, token_label)] = _Token(session)
        return found


class Pkcs11Key:
    """A private key on a PKCS#11 token, usable wherever a `SigningKey` is."""

    def __init__(
        self,
        module: str,
        token_label: str,
        key_label: str,
        *,
        public_key: PublicKey,
        pin: str | None = None,
        pin_env: str = PIN_ENV,
        algorithm: str | None = None,
    ) -> None:
        """Open `key_label` on `token_label`; `public_key` is its certificate's.

        The PIN is `pin`, else the environment variable `pin_env`; a token
        with a protected authentication path (a PIN pad) takes none.
        """
        self.module = module
        self.token_label = token_label
        self.key_label = key_label
        self._public = public_key
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            default = _EC_ALGS.get(public_key.curve.key_size)
            if default is None:
                raise Pkcs11Error(f"unsupported curve {public_key.curve.name}")
            allowed: tuple[str, ...] = (default,)
        elif isinstance(public_key, rsa.RSAPublicKey):
            default, allowed = "RS256", ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
        else:
            raise Pkcs11Error(f"unsupported key type {type(public_key).__name__} on a token")
        self._algorithm = algorithm or default
        if self._algorithm not in allowed:
            raise Pkcs11Error(f"this key cannot sign {self._algorithm} ({', '.join(allowed)})")
        self._token = _token(
            module, token_label, pin if pin is not None else os.environ.get(pin_env)
        )
        pkcs11 = _pkcs11()
        try:
            with self._token.lock:
                self._key = self._token.session.get_key(
                    object_class=pkcs11.ObjectClass.PRIVATE_KEY, label=key_label
                )
        except pkcs11.exceptions.NoSuchKey as exc:
            raise Pkcs11Error(f"no private key labelled {key_label!r} on {token_label!r}") from exc
        except pkcs11.exceptions.MultipleObjectsReturned as exc:
            raise Pkcs11Error(f"several private keys labelled {key_label!r}") from exc
        if not verify_bytes(public_key, self._algorithm, _PROBE, self.sign(_PROBE)):
            raise Pkcs11Error(
                f"the key {key_label!r} on {token_label!r} does not match its certificate"
            )

    @property
    def algorithm(self) -> str:
        return self._algorithm

    def public_key(self) -> PublicKey:
        return self._public

    def sign(self, data: bytes) -> bytes:
        """The raw JWS signature of `data` (ECDSA r||s, RSA as is), made on the token."""
        pkcs11 = _pkcs11()
        mechanism = pkcs11.Mechanism
        bits = self._algorithm[2:]
        try:
            with self._token.lock:
                if self._algorithm.startswith("ES"):
                    digest = _HASHES[bits](data).digest()
                    raw: bytes = self._key.sign(digest, mechanism=mechanism.ECDSA)
                    return _fixed_width(raw, self._public)
                if self._algorithm.startswith("RS"):
                    return bytes(
                        self._key.sign(data, mechanism=getattr(mechanism, f"SHA{bits}_RSA_PKCS"))
                    )
                mgf = getattr(pkcs11.MGF, f"SHA{bits}")
                param = (getattr(mechanism, f"SHA{bits}"), mgf, int(bits) // 8)
                return bytes(
                    self._key.sign(
                        data,
                        mechanism=getattr(mechanism, f"SHA{bits}_RSA_PKCS_PSS"),
                        mechanism_param=param,
                    )
                )
        except pkcs11.PKCS11Error as exc:
            raise Pkcs11Error(
                f"the token {self.token_label!r} did not sign: {type(exc).__name__} {exc}"
            ) from exc

    def __repr__(self) -> str:
        return f"Pkcs11Key({self.token_label!r}/{self.key_label!r}, {self._algorithm})"


def _fixed_width(raw: bytes, public: PublicKey) -> bytes:
    """r||s as JWS wants it: each half the curve's byte length (a token may answer DER)."""
    assert isinstance(public, ec.EllipticCurvePublicKey)
    n = (public.curve.key_size + 7) // 8
    if len(raw) == 2 * n:
        return raw
    try:  # a few tokens answer an ASN.1 DER SEQUENCE of two INTEGERs instead
        r, s = decode_dss_signature(raw)
    except ValueError as exc:
        raise Pkcs11Error(f"the token answered an ECDSA signature of {len(raw)} bytes") from exc
    return r.to_bytes(n, "big") + s.to_bytes(n, "big")


__all__ = ["PIN_ENV", "Pkcs11Error", "Pkcs11Key"]
