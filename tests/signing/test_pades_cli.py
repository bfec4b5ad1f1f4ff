"""`lienthong sign-pdf` through the console app."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from lienthong.cli import app
from signing.pades.validate import validate_pdf
from signing.pki import CertificateAuthority
from signing.trust import TrustStore
from tests.signing.conftest import RECEIVED_AT, SENDER
from tests.signing.pades_helpers import plain_pdf

runner = CliRunner()


def _setup(tmp_path: Path) -> tuple[CertificateAuthority, list[str]]:
    ca = CertificateAuthority.init(tmp_path / "ca")
    ca.issue("official", SENDER, "Nguyễn Văn A").save(tmp_path / "official")
    ca.issue("organization", SENDER, "UBND").save(tmp_path / "org")
    (tmp_path / "in.pdf").write_bytes(plain_pdf())
    args = ["--official-key", str(tmp_path / "official.key")]
    args += ["--official-cert", str(tmp_path / "official.crt")]
    args += ["--org-key", str(tmp_path / "org.key"), "--org-cert", str(tmp_path / "org.crt")]
    return ca, args


def test_sign_pdf_adds_both_signatures(tmp_path: Path) -> None:
    ca, signers = _setup(tmp_path)
    out = tmp_path / "out.pdf"
    args = ["sign-pdf", "--in", str(tmp_path / "in.pdf"), "--out", str(out), "--visible"]
    result = runner.invoke(app, [*args, *signers])
    assert result.exit_code == 0, result.output
    assert "2 signature(s)" in result.output
    found = validate_pdf(out.read_bytes(), TrustStore([ca.certificate]), received_at=RECEIVED_AT)
    assert [f.kind for f in found.facts] == ["personal", "organization"]
    assert all(f.signature_valid and f.chain_trusted for f in found.facts)
    assert all(f.signing_time and f.signing_time.endswith("+07:00") for f in found.facts)


def test_sign_pdf_refuses_bad_input_with_exit_2(tmp_path: Path) -> None:
    _, signers = _setup(tmp_path)
    (tmp_path / "not.pdf").write_bytes(b"hello")
    out = str(tmp_path / "out.pdf")
    cases = [
        (["--in", str(tmp_path / "not.pdf"), "--out", out, *signers], "not a PDF"),
        (["--in", str(tmp_path / "missing.pdf"), "--out", out, *signers], "missing.pdf"),
        (["--in", str(tmp_path / "in.pdf"), "--out", out], "nothing to sign with"),
        (["--in", str(tmp_path / "in.pdf"), "--out", out, *signers[:2]], "go together"),
        (
            [
                "--in",
                str(tmp_path / "in.pdf"),
                "--out",
                out,
                "--org-key",
                str(tmp_path / "official.key"),
                "--org-cert",
                str(tmp_path / "org.crt"),
            ],
            "does not belong",
        ),
    ]
    for args, message in cases:
        result = runner.invoke(app, ["sign-pdf", *args])
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not Path(out).exists()
