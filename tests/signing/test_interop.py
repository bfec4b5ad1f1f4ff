"""An independent JOSE implementation (jwcrypto) verifies our signatures, and we verify its."""

from __future__ import annotations

import base64
import json

from jwcrypto import jwk, jws
from jwcrypto.common import JWSEHeaderParameter, json_encode

from signing.jose import b64url, x5c_of
from signing.package import Package, Signature, manifest_bytes
from signing.pki import IssuedCertificate
from signing.sign import format_signing_time, prev_of
from signing.trust import TrustStore
from signing.verify import verify_package
from tests.signing.conftest import RECEIVED_AT, SIGNED_AT, SignBoth

# jwcrypto refuses `crit` members it does not know, as RFC 7515 requires; teach it `prev`.
HEADERS = {"prev": JWSEHeaderParameter("binds to the personal signature", True, True, None)}


def _jwk(issued: IssuedCertificate, private: bool) -> jwk.JWK:
    from cryptography.hazmat.primitives import serialization

    if private:
        pem = issued.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return jwk.JWK.from_pem(pem)
    return jwk.JWK.from_pem(
        issued.cert.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def test_jwcrypto_verifies_our_signatures(
    sign_both: SignBoth, official: IssuedCertificate, org: IssuedCertificate
) -> None:
    pkg = sign_both()
    document = json.dumps(
        {
            "payload": b64url(manifest_bytes(pkg)),
            "signatures": [s.model_dump() for s in pkg.signatures],
        }
    )
    for signer in (official, org):
        token = jws.JWS(header_registry=HEADERS)
        token.deserialize(document)
        token.verify(_jwk(signer, private=False))  # raises if no signature verifies with it
        assert token.payload == manifest_bytes(pkg)
    # …and a forged manifest does not verify.
    forged = json.loads(document)
    forged["payload"] = b64url(manifest_bytes(pkg).replace(b"274", b"275"))
    token = jws.JWS(header_registry=HEADERS)
    token.deserialize(json.dumps(forged))
    try:
        token.verify(_jwk(org, private=False))
    except jws.InvalidJWSSignature:
        pass
    else:
        raise AssertionError("jwcrypto verified a forged manifest")


def test_we_verify_jwcrypto_signatures(
    unsigned: Package, official: IssuedCertificate, org: IssuedCertificate, trust: TrustStore
) -> None:
    manifest = manifest_bytes(unsigned)
    token = jws.JWS(manifest, header_registry=HEADERS)
    sig_t = format_signing_time(SIGNED_AT)
    token.add_signature(
        _jwk(official, private=True),
        None,
        json_encode(
            {"alg": "ES256", "kind": "personal", "sigT": sig_t, "x5c": x5c_of(official.full_chain)}
        ),
    )
    first = json.loads(token.serialize())  # one signature: flattened serialization
    prev = prev_of(Signature(protected=first["protected"], signature=first["signature"]))
    token.add_signature(
        _jwk(org, private=True),
        None,
        json_encode(
            {
                "alg": "ES256",
                "kind": "organization",
                "sigT": sig_t,
                "x5c": x5c_of(org.full_chain),
                "prev": prev,
                "crit": ["prev"],
            }
        ),
    )
    general = json.loads(token.serialize())
    assert base64.urlsafe_b64decode(general["payload"] + "==") == manifest
    signed = unsigned.model_copy(
        update={"signatures": [Signature(**s) for s in general["signatures"]]}
    )
    verdict = verify_package(signed, trust, received_at=RECEIVED_AT)
    assert verdict.violations == []
    assert verdict.compliant


def test_jwcrypto_and_joserfc_verify_our_compact_tokens(org: IssuedCertificate) -> None:
    """Receipts and log heads are serialised by our own code: two libraries check them."""
    from signing.jose import sign_compact, verify_compact

    claims = {"document_id": "d-1", "tên": "Văn phòng Chính phủ"}
    token = sign_compact(claims, org.key, org.full_chain, typ="lienthong-receipt+jwt")
    checked = jws.JWS()
    checked.deserialize(token, _jwk(org, private=False))
    assert json.loads(checked.payload) == claims
    assert checked.jose_header["typ"] == "lienthong-receipt+jwt"
    assert verify_compact(token, org.cert) == claims  # joserfc underneath
    tampered = token[:-4] + ("AAAA" if token[-4:] != "AAAA" else "BBBB")
    try:
        jws.JWS().deserialize(tampered, _jwk(org, private=False))
    except jws.InvalidJWSSignature:
        pass
    else:
        raise AssertionError("a changed signature verified")
