"""Write the test vectors of docs/PACKAGE.md into this directory.

    .venv/bin/python docs/vectors/generate.py

Everything derives from fixed seeds, serial numbers and times, so a second run
writes the same bytes, except the ES256 signatures and the bearer token (ECDSA
signatures are randomised, and a token carries a random `jti`): those are
verify-only vectors. `tests/signing/test_vectors.py` checks the files against
the code; it never runs this script.

The keys here are published test keys: never use them for anything else.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from signing.certs import cert_to_pem, fingerprint
from signing.jose import b64url, mint_token
from signing.keys import PrivateKey, generate_key, load_private_key, private_key_pem
from signing.package import Package, manifest_bytes, manifest_digest, new_package, package_json
from signing.pki import CertificateAuthority, IssuedCertificate
from signing.sign import prev_of, sign_package, signing_input

HERE = Path(__file__).resolve().parent
SAMPLE = HERE.parent / "samples" / "qd274.pdf"
UTC = dt.UTC
VN = dt.timezone(dt.timedelta(hours=7))

SENDER = "000.00.00.H26"
RECIPIENTS = ["000.00.00.G22", "000.00.00.H49"]
PACKAGE_ID = "3f0c5b6e-2c1a-4e8b-9a57-0d2f6c1b7e42"
NOT_BEFORE = dt.datetime(2026, 1, 1, tzinfo=UTC)
SIGNING_TIME = {
    "personal": dt.datetime(2026, 3, 12, 9, 30, tzinfo=VN),
    "organization": dt.datetime(2026, 3, 12, 9, 45, tzinfo=VN),
}
RECEIVED_AT = dt.datetime(2026, 3, 12, 10, 0, tzinfo=VN)
TOKEN_IAT = int(dt.datetime(2026, 3, 12, 10, 0, tzinfo=VN).timestamp())
HUB_ID = "lienthong-hub"
HEADER: dict[str, Any] = {
    "code": {"number": "274", "notation": "QĐ-UBND"},
    "promulgation": {"place": "Hưng Yên", "date": "2026-03-12"},
    "type": "QD",
    "subject": "Về việc ban hành quy chế",
    "signer": {"name": "Nguyễn Văn A", "position": "Chủ tịch"},
}


def seed(label: str) -> bytes:
    return hashlib.sha256(f"lienthong test vector: {label}".encode()).digest()


def ed25519_key(label: str) -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.from_private_bytes(seed(label))


def p256_key(label: str) -> ec.EllipticCurvePrivateKey:
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    return ec.derive_private_key(int.from_bytes(seed(label)) % (order - 1) + 1, ec.SECP256R1())


def kept_or(name: str, make: Any) -> Any:
    """The key already in `name` (a committed vector), else a new one from `make()`.

    The root is RSA (certificate path validation takes no Ed25519 issuer), and RSA
    keys cannot be derived from a seed: it is made once and kept in `ca.key`.
    """
    path = HERE / name
    return load_private_key(path.read_bytes()) if path.exists() else make()


def serial(label: str) -> int:
    return int.from_bytes(seed(label)[:16]) >> 1  # positive, under 20 octets


def write(name: str, data: bytes) -> None:
    (HERE / name).write_bytes(data)


def save(name: str, issued: IssuedCertificate) -> None:
    write(f"{name}.key", private_key_pem(issued.key))
    write(f"{name}.crt", b"".join(cert_to_pem(c) for c in issued.full_chain))


def signatures(pkg: Package) -> list[dict[str, Any]]:
    manifest = manifest_bytes(pkg)
    out = []
    for signature in pkg.signatures:
        header = json.loads(_b64url_decode(signature.protected))
        out.append(
            {
                "kind": header["kind"],
                "protected_header": header,
                "protected": signature.protected,
                "signing_input_sha256": hashlib.sha256(
                    signing_input(signature.protected, manifest)
                ).hexdigest(),
                "signature": signature.signature,
            }
        )
    return out


def _b64url_decode(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signed(pkg: Package, official: IssuedCertificate, org: IssuedCertificate) -> Package:
    pkg = sign_package(pkg, official.key, official.full_chain, "personal", SIGNING_TIME["personal"])
    return sign_package(pkg, org.key, org.full_chain, "organization", SIGNING_TIME["organization"])


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ca = CertificateAuthority.init(
            Path(tmp) / "ca",
            "National Root CA (lienthong test vectors)",
            days=30 * 365,
            not_before=NOT_BEFORE,
            key=kept_or("ca.key", lambda: generate_key("rsa2048")),
            serial_number=serial("ca"),
        )
        crl = ca.crl(next_update_days=20 * 365, now=NOT_BEFORE)
    write("ca.key", private_key_pem(ca.key))
    write("ca.crt", cert_to_pem(ca.certificate))
    write("crl.pem", crl.public_bytes(serialization.Encoding.PEM))

    signers: dict[str, IssuedCertificate] = {}
    for flavour, make in (("eddsa", ed25519_key), ("es256", p256_key)):
        keys: dict[str, PrivateKey] = {
            "org": make(f"{flavour} org"),
            "official": make(f"{flavour} official"),
        }
        signers[f"org-{flavour}"] = ca.issue(
            "organization",
            SENDER,
            "UBND tỉnh Hưng Yên",
            days=20 * 365,
            not_before=NOT_BEFORE,
            key=keys["org"],
            serial_number=serial(f"{flavour} org"),
        )
        signers[f"official-{flavour}"] = ca.issue(
            "official",
            SENDER,
            "Nguyễn Văn A",
            title="Chủ tịch",
            days=20 * 365,
            not_before=NOT_BEFORE,
            organization_name="UBND tỉnh Hưng Yên",
            key=keys["official"],
            serial_number=serial(f"{flavour} official"),
        )
    for name, issued in signers.items():
        save(name, issued)

    unsigned = new_package(
        SENDER,
        RECIPIENTS,
        HEADER,
        [("qd274.pdf", "application/pdf", SAMPLE.read_bytes())],
        id=PACKAGE_ID,
    )
    write("package-unsigned.json", package_json(unsigned))
    write("manifest.json", manifest_bytes(unsigned))
    index: dict[str, Any] = {
        "regenerate": ".venv/bin/python docs/vectors/generate.py",
        "note": "published test keys: never use them for anything else",
        "times": {
            "signing_time": {k: v.isoformat() for k, v in SIGNING_TIME.items()},
            "received_at": RECEIVED_AT.isoformat(),
            "token_iat": TOKEN_IAT,
        },
        "certificates": {
            "ca": {"file": "ca.crt", "kid": fingerprint(ca.certificate)},
            **{
                name: {"file": f"{name}.crt", "kid": fingerprint(issued.cert)}
                for name, issued in signers.items()
            },
        },
        "manifest": {
            "file": "manifest.json",
            "bytes": len(manifest_bytes(unsigned)),
            "sha256": manifest_digest(unsigned),
            "b64url_sha256": b64url(hashlib.sha256(manifest_bytes(unsigned)).digest()),
        },
    }
    for flavour in ("eddsa", "es256"):
        pkg = signed(unsigned, signers[f"official-{flavour}"], signers[f"org-{flavour}"])
        write(f"package-signed-{flavour}.json", package_json(pkg))
        personal = pkg.signatures[0]
        index[flavour] = {
            "file": f"package-signed-{flavour}.json",
            "deterministic": flavour == "eddsa",
            "signatures": signatures(pkg),
            "prev": {
                "input": f"{personal.protected}.{personal.signature}",
                "value": prev_of(personal),
            },
            "jws_general_json": {
                "payload": "b64url(manifest.json)",
                "signatures": "the package's signatures, as they are",
            },
        }
    org = signers["org-es256"]
    token = mint_token(org.key, org.cert, SENDER, HUB_ID, 300, now=TOKEN_IAT)
    write("token-es256.jwt", token.encode() + b"\n")
    head, claims, _ = token.split(".")
    index["token"] = {
        "file": "token-es256.jwt",
        "deterministic": False,
        "header": json.loads(_b64url_decode(head)),
        "claims": json.loads(_b64url_decode(claims)),
        "verify_with": "org-es256.crt",
    }
    write("vectors.json", json.dumps(index, ensure_ascii=False, indent=2).encode() + b"\n")
    shutil.rmtree(HERE / "__pycache__", ignore_errors=True)


if __name__ == "__main__":
    main()
