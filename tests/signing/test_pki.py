"""The national CA: what it issues, key files, revocation and the CRL, and its CLI."""

from __future__ import annotations

import stat
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from typer.testing import CliRunner

from lienthong.cli import app
from signing.certs import (
    agency_code_of,
    cert_kind,
    fingerprint,
    load_certificate,
    load_certificates,
)
from signing.keys import load_private_key
from signing.pki import DEFAULT_CRL_URL, CertificateAuthority

runner = CliRunner()


def test_organization_certificate(ca: CertificateAuthority) -> None:
    issued = ca.issue("organization", "000.00.00.H49", "UBND tỉnh Quảng Ninh")
    cert = issued.cert
    assert agency_code_of(cert) == "000.00.00.H49"
    assert (
        cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
        == "UBND tỉnh Quảng Ninh"
    )
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    assert cert_kind(cert) == "organization"
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert points[0].full_name[0].value == DEFAULT_CRL_URL
    assert cert.issuer == ca.certificate.subject


def test_official_certificate(ca: CertificateAuthority) -> None:
    cert = ca.issue(
        "official",
        "000.00.00.H49",
        "Trần Thị B",
        title="Giám đốc",
        organization_name="Sở Nội vụ",
        key_type="rsa3072",
    ).cert
    subject = cert.subject
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Trần Thị B"
    assert subject.get_attributes_for_oid(NameOID.TITLE)[0].value == "Giám đốc"
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Sở Nội vụ"
    assert agency_code_of(cert) == "000.00.00.H49"
    assert cert_kind(cert) == "official"
    key = cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 3072


def test_hub_certificate(ca: CertificateAuthority) -> None:
    cert = ca.issue("hub", "000.00.00.G22", "Trục liên thông").cert
    assert cert_kind(cert) == "hub"
    assert cert.extensions.get_extension_for_class(x509.CRLDistributionPoints)


def test_save_writes_a_private_key_only_the_owner_can_read(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    issued = ca.issue("organization", "000.00.00.H26", "UBND")
    key_path, crt_path = issued.save(tmp_path / "org")
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE((ca.directory / "ca.key").stat().st_mode) == 0o600
    assert load_private_key(key_path).public_key() == issued.key.public_key()
    chain = load_certificates(crt_path.read_bytes())
    assert [fingerprint(c) for c in chain] == [
        fingerprint(issued.cert),
        fingerprint(ca.certificate),
    ]


def test_revocation_goes_into_a_signed_crl(tmp_path: Path) -> None:
    ca = CertificateAuthority.init(tmp_path / "ca")
    issued = ca.issue("official", "000.00.00.H26", "A")
    assert len(list(ca.crl())) == 0
    ca.revoke(issued.cert, "key_compromise")
    crl = CertificateAuthority.load(tmp_path / "ca").crl()
    entry = crl.get_revoked_certificate_by_serial_number(issued.cert.serial_number)
    assert entry is not None
    assert (
        entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
        == x509.ReasonFlags.key_compromise
    )
    assert crl.is_signature_valid(ca.certificate.public_key())  # type: ignore[arg-type]


def test_cli_init_issue_revoke_crl(tmp_path: Path) -> None:
    d = str(tmp_path / "ca")
    assert runner.invoke(app, ["pki", "init-ca", "--dir", d]).exit_code == 0
    assert runner.invoke(app, ["pki", "init-ca", "--dir", d]).exit_code == 2  # never overwrites
    result = runner.invoke(
        app,
        ["pki", "issue", "--dir", d, "--kind", "official", "--code", "000.00.00.H26",
         "--name", "Nguyễn Văn A", "--title", "Chủ tịch", "--key-type", "rsa2048",
         "--days", "30", "--out", str(tmp_path / "a")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    cert = load_certificate(tmp_path / "a.crt")
    assert agency_code_of(cert) == "000.00.00.H26"
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days == 30
    assert stat.S_IMODE((tmp_path / "a.key").stat().st_mode) == 0o600
    bad = runner.invoke(app, ["pki", "issue", "--dir", d, "--kind", "mayor", "--code", "x",
                              "--name", "n", "--out", str(tmp_path / "b")])  # fmt: skip
    assert bad.exit_code == 2
    revoked = runner.invoke(
        app,
        ["pki", "revoke", "--dir", d, "--cert", str(tmp_path / "a.crt"), "--reason", "superseded"],
    )
    assert revoked.exit_code == 0, revoked.output
    assert (
        runner.invoke(app, ["pki", "crl", "--dir", d, "--out", str(tmp_path / "crl.pem")]).exit_code
        == 0
    )
    crl = x509.load_pem_x509_crl((tmp_path / "crl.pem").read_bytes())
    assert crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None


def test_cli_issues_a_tls_server_certificate_for_the_proxy(tmp_path: Path) -> None:
    d = str(tmp_path / "ca")
    assert runner.invoke(app, ["pki", "init-ca", "--dir", d]).exit_code == 0
    out = tmp_path / "tls" / "proxy"
    out.parent.mkdir()
    result = runner.invoke(
        app,
        ["pki", "issue-tls", "--dir", d, "--name", "hub.example.gov.vn", "--name", "127.0.0.1",
         "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.with_suffix(".key").stat().st_mode) == 0o600
    cert = x509.load_pem_x509_certificates(out.with_suffix(".crt").read_bytes())[0]
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["hub.example.gov.vn"]
    assert [str(a) for a in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]
    bad = runner.invoke(app, ["pki", "issue-tls", "--dir", d, "--name", "x", "--out",
                              str(out), "--key-type", "dsa"])  # fmt: skip
    assert bad.exit_code == 2
