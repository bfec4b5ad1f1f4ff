"""Independent checks: poppler's `pdfsig` verifies our PDF signatures (trusting the root through
an NSS database), and a PDF signed by endesive (an independent implementation) with the
official's then the organisation's certificate from our PKI is judged compliant."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

from signing.certs import cert_to_pem
from signing.pki import CertificateAuthority, IssuedCertificate
from signing.trust import TrustStore
from signing.verify import verify_package
from tests.signing.conftest import RECEIVED_AT, SENDER, SIGNED_AT
from tests.signing.pades_helpers import package_with, plain_pdf, signed_pdf


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"`{tool}` is not installed (Debian: poppler-utils, libnss3-tools)")
    return path


def _nss_db(tmp_path: Path, ca: CertificateAuthority) -> Path:
    certutil = _need("certutil")
    db = tmp_path / "nss"
    db.mkdir()
    (tmp_path / "root.crt").write_bytes(cert_to_pem(ca.certificate))
    subprocess.run([certutil, "-N", "--empty-password", "-d", str(db)], check=True)
    root = str(tmp_path / "root.crt")
    subprocess.run(
        [certutil, "-A", "-n", "root", "-t", "CT,C,C", "-i", root, "-d", str(db)], check=True
    )
    return db


def _pdfsig(path: Path, db: Path) -> list[str]:
    result = subprocess.run(
        [_need("pdfsig"), "-nssdir", str(db), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return [line.strip() for line in result.stdout.splitlines()]


@pytest.mark.parametrize("visible", [False, True])
def test_pdfsig_finds_both_signatures_valid_and_trusted(
    tmp_path: Path,
    ca: CertificateAuthority,
    official: IssuedCertificate,
    org: IssuedCertificate,
    visible: bool,
) -> None:
    _need("pdfsig")
    db = _nss_db(tmp_path, ca)
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed_pdf(official, org, visible=visible))
    lines = _pdfsig(path, db)
    # pdfsig exits 0 even on a digest mismatch: read its verdict lines.
    assert lines.count("- Signature Validation: Signature is Valid.") == 2, lines
    assert lines.count("- Signature Type: ETSI.CAdES.detached") == 2, lines
    assert "- Certificate Validation: Certificate is Trusted." in lines, lines
    assert "- Total document signed" in lines, lines


def test_pdfsig_sees_a_changed_byte(
    tmp_path: Path, ca: CertificateAuthority, official: IssuedCertificate, org: IssuedCertificate
) -> None:
    _need("pdfsig")
    db = _nss_db(tmp_path, ca)
    data = bytearray(signed_pdf(official, org))
    data[len(data) // 4] ^= 0x01  # inside the original revision, which both signatures cover
    path = tmp_path / "changed.pdf"
    path.write_bytes(bytes(data))
    lines = _pdfsig(path, db)
    assert "- Signature Validation: Signature is Valid." not in lines


def _endesive_cms() -> ModuleType:
    """endesive's PDF signer, loaded without `endesive.pdf`'s verifier, whose certvalidator
    import needs oscrypto, which cannot read this OpenSSL's version string."""
    endesive = pytest.importorskip("endesive")
    path = Path(endesive.__file__).parent / "pdf" / "cms.py"
    spec = importlib.util.spec_from_file_location("endesive_pdf_cms", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_pdf_signed_by_endesive_is_compliant(ca: CertificateAuthority, trust: TrustStore) -> None:
    cms = _endesive_cms()
    start = SIGNED_AT.replace(day=1)
    official = ca.issue("official", SENDER, "Nguyễn Văn A", key_type="rsa2048", not_before=start)
    org = ca.issue("organization", SENDER, "UBND tỉnh", key_type="rsa2048", not_before=start)
    data = plain_pdf()
    for signer, field in ((official, "CaNhan"), (org, "ToChuc")):
        settings = {
            "sigflags": 3,
            "sigpage": 0,
            "sigfield": field,
            "auto_sigfield": True,
            "contact": "vanthu@thaibinh.gov.vn",
            "location": "Thái Bình",
            "signingdate": "D:20250312090000+07'00'",
            "reason": "Ký số",
        }
        data += cms.sign(data, settings, signer.key, signer.cert, [ca.certificate], "sha256")
    verdict = verify_package(package_with(data), trust, received_at=RECEIVED_AT)
    assert verdict.violations == []
    assert [(f.kind, f.alg, f.follows_personal) for f in verdict.signatures] == [
        ("personal", "RS256", None),
        ("organization", "RS256", True),
    ]
