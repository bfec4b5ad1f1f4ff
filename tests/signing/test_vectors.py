"""docs/vectors (the test vectors of docs/PACKAGE.md) agree with the code, step by step.

The files are written by `docs/vectors/generate.py`; this test never runs it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from jwcrypto import jwk, jws
from jwcrypto.common import JWSEHeaderParameter

from signing.certs import fingerprint, load_certificates
from signing.jose import b64url, verify_token
from signing.keys import load_private_key
from signing.package import manifest_bytes, manifest_digest, package_json, parse_package
from signing.sign import prev_of, sign_package, signing_input
from signing.trust import TrustStore
from signing.verify import verify_package

VECTORS = Path(__file__).resolve().parents[2] / "docs" / "vectors"
INDEX: dict[str, Any] = json.loads((VECTORS / "vectors.json").read_text(encoding="utf-8"))
FLAVOURS = ("eddsa", "es256")


def read(name: str) -> bytes:
    return (VECTORS / name).read_bytes()


def chain(name: str) -> list[x509.Certificate]:
    return load_certificates(read(f"{name}.crt"))


def public_pem(cert: x509.Certificate) -> bytes:
    return cert.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_every_key_matches_its_certificate_and_kid() -> None:
    for name, entry in INDEX["certificates"].items():
        cert = chain(name)[0]
        assert fingerprint(cert) == entry["kid"]
        key = load_private_key(read(f"{name}.key"))
        assert public_pem(cert) == key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def test_the_manifest_bytes() -> None:
    unsigned = parse_package(read("package-unsigned.json"))
    manifest = read("manifest.json")
    assert manifest_bytes(unsigned) == manifest
    assert manifest_digest(unsigned) == INDEX["manifest"]["sha256"]
    assert hashlib.sha256(manifest).hexdigest() == INDEX["manifest"]["sha256"]
    assert len(manifest) == INDEX["manifest"]["bytes"]
    assert package_json(unsigned) == read("package-unsigned.json")
    attachment = unsigned.attachments[0]
    assert attachment.data == read("../samples/qd274.pdf")
    # A signed package has the same manifest: signatures and contents are left out.
    for flavour in FLAVOURS:
        assert manifest_bytes(parse_package(read(f"package-signed-{flavour}.json"))) == manifest


def test_eddsa_signatures_are_reproduced_byte_for_byte() -> None:
    unsigned = parse_package(read("package-unsigned.json"))
    times = INDEX["times"]["signing_time"]
    pkg = sign_package(
        unsigned,
        load_private_key(read("official-eddsa.key")),
        chain("official-eddsa"),
        "personal",
        dt.datetime.fromisoformat(times["personal"]),
    )
    pkg = sign_package(
        pkg,
        load_private_key(read("org-eddsa.key")),
        chain("org-eddsa"),
        "organization",
        dt.datetime.fromisoformat(times["organization"]),
    )
    assert package_json(pkg) == read("package-signed-eddsa.json")
    expected = INDEX["eddsa"]["signatures"]
    assert [s.protected for s in pkg.signatures] == [e["protected"] for e in expected]
    assert [s.signature for s in pkg.signatures] == [e["signature"] for e in expected]


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_headers_prev_and_signing_inputs(flavour: str) -> None:
    pkg = parse_package(read(f"package-signed-{flavour}.json"))
    entry = INDEX[flavour]
    manifest = read("manifest.json")
    personal, organization = pkg.signatures
    assert prev_of(personal) == entry["prev"]["value"]
    assert entry["prev"]["input"] == f"{personal.protected}.{personal.signature}"
    digest = hashlib.sha256(entry["prev"]["input"].encode()).digest()
    assert b64url(digest) == entry["prev"]["value"]
    for signature, expected in zip(pkg.signatures, entry["signatures"], strict=True):
        header = json.loads(base64.urlsafe_b64decode(signature.protected + "=="))
        assert header == expected["protected_header"]
        assert signature.protected == expected["protected"]
        assert signature.signature == expected["signature"]
        digest_hex = hashlib.sha256(signing_input(signature.protected, manifest)).hexdigest()
        assert digest_hex == expected["signing_input_sha256"]
    assert expected["protected_header"]["crit"] == ["prev"]
    assert expected["protected_header"]["prev"] == entry["prev"]["value"]
    assert organization.protected == expected["protected"]


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_the_signed_packages_are_compliant(flavour: str) -> None:
    trust = TrustStore(chain("ca"), [x509.load_pem_x509_crl(read("crl.pem"))])
    pkg = parse_package(read(f"package-signed-{flavour}.json"))
    received = dt.datetime.fromisoformat(INDEX["times"]["received_at"])
    verdict = verify_package(pkg, trust, received_at=received)
    assert verdict.violations == []
    assert verdict.compliant
    assert all(f.signature_valid for f in verdict.signatures)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_general_jose_library_verifies_the_rebuilt_jws(flavour: str) -> None:
    """`{"payload": b64url(manifest), "signatures": …}`, with `prev` registered as critical."""
    pkg = json.loads(read(f"package-signed-{flavour}.json"))
    document = json.dumps(
        {"payload": b64url(read("manifest.json")), "signatures": pkg["signatures"]}
    )
    registry = {"prev": JWSEHeaderParameter("binds to the personal signature", True, True, None)}
    for signer in (f"official-{flavour}", f"org-{flavour}"):
        token = jws.JWS(header_registry=registry)
        token.deserialize(document)
        token.verify(jwk.JWK.from_pem(public_pem(chain(signer)[0])), alg=None)
        assert token.payload == read("manifest.json")


def test_the_member_token() -> None:
    token = read("token-es256.jwt").decode().strip()
    entry = INDEX["token"]
    head, claims, _ = token.split(".")
    assert json.loads(base64.urlsafe_b64decode(head + "==")) == entry["header"]
    assert json.loads(base64.urlsafe_b64decode(claims + "==")) == entry["claims"]
    cert = chain("org-es256")[0]
    assert entry["header"]["kid"] == fingerprint(cert)
    checked = verify_token(
        token, cert, audience=entry["claims"]["aud"], now=INDEX["times"]["token_iat"]
    )
    assert checked["iss"] == "000.00.00.H26"
    assert checked["exp"] - checked["iat"] == 300
