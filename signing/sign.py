"""Signing a package: the official first (`personal`), then the clerk (`organization`).

Each signature is one member of a JWS general JSON serialization whose
detached payload is the manifest. The organisation signature's protected
header carries `prev` (listed in `crit`): the base64url SHA-256 of the
personal signature's `protected` + "." + `signature`, so it covers it.
"""

from __future__ import annotations

import binascii
import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import pybase64
from cryptography import x509

from signing.jose import b64url, x5c_of
from signing.keys import KeyLike, jws_alg_for, signing_key
from signing.package import Package, Signature, manifest_bytes
from signing.workdays import VIETNAM_TZ

SignatureKind = Literal["personal", "organization"]


def b64url_decode(text: str) -> bytes:
    """Strict base64url without padding; raises `ValueError` on anything else.

    Well-formed text (the whole of a valid package) is decoded by pybase64's
    SIMD decoder, which refuses any character outside the alphabet; only
    text it refuses goes the slow way, through the decoder
    `base64.urlsafe_b64decode` uses, so the answer is always the one that
    function gives (tests compare both).
    """
    if "=" in text:
        raise ValueError("base64url must not be padded")
    padded = text + "=" * (-len(text) % 4)
    if "+" not in text and "/" not in text:  # pybase64 would warn (DeprecationWarning)
        try:
            return pybase64.b64decode(padded, altchars=b"-_", validate=True)
        except ValueError:
            pass
    return binascii.a2b_base64(padded.replace("-", "+").replace("_", "/"))


def signing_input(protected: str, manifest: bytes) -> bytes:
    return f"{protected}.{b64url(manifest)}".encode()


def prev_of(signature: Signature) -> str:
    """The `prev` value binding a later signature to `signature`."""
    return b64url(hashlib.sha256(f"{signature.protected}.{signature.signature}".encode()).digest())


def format_signing_time(when: dt.datetime) -> str:
    """RFC 3339 in Vietnam time (+07:00), seconds precision, as Decree 30 asks."""
    return when.astimezone(VIETNAM_TZ).replace(microsecond=0).isoformat()


def sign_package(
    pkg: Package,
    key: KeyLike,
    chain: x509.Certificate | Sequence[x509.Certificate],
    kind: SignatureKind,
    signing_time: dt.datetime | str | None = None,
    *,
    link_personal: bool = True,
    header_overrides: Mapping[str, Any] | None = None,
) -> Package:
    """A copy of `pkg` with one more signature.

    `key` is a private key or any `SigningKey` (a PKCS#11 token's key, say).
    `chain` is the signer's certificate followed by its chain (into `x5c`).
    An `organization` signature gets `prev` over the last personal signature
    unless `link_personal` is false. `header_overrides` (a value of `None`
    removes the member) exists to make deliberately faulty packages in tests.
    """
    certs = [chain] if isinstance(chain, x509.Certificate) else list(chain)
    when = signing_time or dt.datetime.now(VIETNAM_TZ)
    header: dict[str, Any] = {
        "alg": jws_alg_for(key),
        "kind": kind,
        "sigT": when if isinstance(when, str) else format_signing_time(when),
        "x5c": x5c_of(certs),
    }
    personal = [s for s in pkg.signatures if _kind_of(s) == "personal"]
    if kind == "organization" and link_personal and personal:
        header["prev"] = prev_of(personal[-1])
        header["crit"] = ["prev"]
    for name, value in (header_overrides or {}).items():
        if value is None:
            header.pop(name, None)
        else:
            header[name] = value
    protected = b64url(json.dumps(header, separators=(",", ":")).encode())
    signer = signing_key(key, str(header.get("alg", jws_alg_for(key))))
    raw = signer.sign(signing_input(protected, manifest_bytes(pkg)))
    added = Signature(protected=protected, signature=b64url(raw))
    return pkg.model_copy(update={"signatures": [*pkg.signatures, added]})


def _kind_of(signature: Signature) -> object:
    try:
        header = json.loads(b64url_decode(signature.protected))
    except ValueError:
        return None
    return header.get("kind") if isinstance(header, dict) else None
