"""`lienthong sign`, `lienthong verify` and `lienthong demo` through the console app."""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from typer.testing import CliRunner

from lienthong.cli import app
from signing.certs import cert_to_pem
from signing.package import Package, package_json
from signing.pki import CertificateAuthority

runner = CliRunner()


def _setup(tmp_path: Path, unsigned: Package) -> tuple[CertificateAuthority, list[str]]:
    ca = CertificateAuthority.init(tmp_path / "ca")
    official = ca.issue("official", unsigned.sender, "Nguyễn Văn A")
    org = ca.issue("organization", unsigned.sender, "UBND")
    official.save(tmp_path / "official")
    org.save(tmp_path / "org")
    (tmp_path / "pkg.json").write_bytes(package_json(unsigned))
    (tmp_path / "root.pem").write_bytes(cert_to_pem(ca.certificate))
    official_args = [
        "--official-key",
        str(tmp_path / "official.key"),
        "--official-cert",
        str(tmp_path / "official.crt"),
    ]
    org_args = ["--org-key", str(tmp_path / "org.key"), "--org-cert", str(tmp_path / "org.crt")]
    return ca, official_args + org_args


def _verify(tmp_path: Path, name: str, *extra: str) -> tuple[int, str]:
    result = runner.invoke(
        app,
        ["verify", "--package", str(tmp_path / name), "--ca", str(tmp_path / "root.pem"), *extra],
    )
    return result.exit_code, result.output


def test_sign_then_verify(tmp_path: Path, unsigned: Package) -> None:
    _, signers = _setup(tmp_path, unsigned)
    out = str(tmp_path / "signed.json")
    result = runner.invoke(
        app, ["sign", "--package", str(tmp_path / "pkg.json"), *signers, "--out", out]
    )
    assert result.exit_code == 0, result.output
    code, output = _verify(tmp_path, "signed.json", "--json")
    assert code == 0, output
    assert json.loads(output)["compliant"] is True


def test_incomplete_package_is_not_compliant(tmp_path: Path, unsigned: Package) -> None:
    _, signers = _setup(tmp_path, unsigned)
    out = str(tmp_path / "personal.json")
    assert (
        runner.invoke(
            app, ["sign", "--package", str(tmp_path / "pkg.json"), *signers[:4], "--out", out]
        ).exit_code
        == 0
    )
    code, output = _verify(tmp_path, "personal.json")
    assert code == 1
    assert "NO_ORGANIZATION_SIGNATURE" in output


def test_revoked_with_crl(tmp_path: Path, unsigned: Package) -> None:
    ca, signers = _setup(tmp_path, unsigned)
    from signing.certs import load_certificate

    ca.revoke(load_certificate(tmp_path / "org.crt"), "key_compromise")
    (tmp_path / "crl.pem").write_bytes(ca.crl().public_bytes(serialization.Encoding.PEM))
    out = str(tmp_path / "signed.json")
    runner.invoke(app, ["sign", "--package", str(tmp_path / "pkg.json"), *signers, "--out", out])
    code, output = _verify(tmp_path, "signed.json", "--crl", str(tmp_path / "crl.pem"))
    assert code == 1 and "CERTIFICATE_REVOKED" in output


def test_bad_input_exits_2(tmp_path: Path, unsigned: Package) -> None:
    _setup(tmp_path, unsigned)
    (tmp_path / "junk.json").write_text("{not json")
    code, output = _verify(tmp_path, "junk.json")
    assert code == 2 and "not_json" in output
    assert _verify(tmp_path, "missing.json")[0] == 2
    result = runner.invoke(
        app, ["sign", "--package", str(tmp_path / "pkg.json"), "--org-key", "k", "--out", "o"]
    )
    assert result.exit_code == 2


def test_demo_shows_both_verdicts() -> None:
    result = runner.invoke(app, ["pki", "walkthrough"])
    assert result.exit_code == 0, result.output
    assert "COMPLIANT" in result.output
    assert "NOT COMPLIANT: BAD_SIGNATURE" in result.output
