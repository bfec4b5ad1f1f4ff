"""PDFs (PAdES) and edXML envelopes (XML-DSig) signed with keys that stay on a PKCS#11 token:
the hub judges them, and poppler's `pdfsig` and `xmlsec1` verify them independently."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from lienthong.cli import app as cli_app
from member_node.client import HubClient
from member_node.identity import NodeIdentity
from signing.certs import cert_to_pem
from signing.package import new_package, package_json
from signing.pades.sign import PdfSigner, PdfSigningError, sign_pdf
from signing.pkcs11 import Pkcs11Key
from tests.conftest import HUB_ID, PKIFixture
from tests.member_node.conftest import HEADER, RECIPIENT, SENDER, MakeAgency, tokens
from tests.member_node.test_pkcs11 import SAMPLE_PDF
from tests.softhsm import SoftHsm

pytestmark = pytest.mark.usefixtures("softhsm")


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"`{name}` is not installed (.ci/run installs it)")
    return path


def _pdfsig_lines(pdf: Path, ca_pem: Path, tmp_path: Path) -> list[str]:
    """pdfsig's verdict lines, trusting our root through a fresh NSS database."""
    certutil, pdfsig = _tool("certutil"), _tool("pdfsig")
    db = tmp_path / "nss"
    db.mkdir()
    subprocess.run([certutil, "-N", "--empty-password", "-d", str(db)], check=True)
    subprocess.run(
        [certutil, "-A", "-n", "root", "-t", "CT,C,C", "-i", str(ca_pem), "-d", str(db)],
        check=True,
    )
    done = subprocess.run(
        [pdfsig, "-nssdir", str(db), str(pdf)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return [line.strip() for line in done.stdout.splitlines()]


def _xmlsec1_verify(
    path: Path, pki: PKIFixture, tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    root = tmp_path / "root.pem"
    root.write_bytes(cert_to_pem(pki.ca.certificate))
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    command = [_tool("xmlsec1"), "--verify", "--trusted-pem", str(root)]
    return subprocess.run(
        [*command, "--verification-time", now, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_a_pdf_signed_on_the_token_is_compliant_at_the_hub_and_valid_for_pdfsig(
    token_agency: Callable[..., Awaitable[Path]],
    make_agency: MakeAgency,
    hub_transport: httpx.ASGITransport,
    softhsm: SoftHsm,
    pki: PKIFixture,
    tmp_path: Path,
) -> None:
    await make_agency(RECIPIENT)
    keys = await token_agency(SENDER, org="org-rsa", official="official")
    identity = NodeIdentity.load(keys, SENDER, tokens=tokens(softhsm, org="org-rsa"))
    assert isinstance(identity.organization.key, Pkcs11Key)
    async with HubClient("http://hub", identity, hub_id=HUB_ID, transport=hub_transport) as hub:
        signed = hub.sign_pdf(SAMPLE_PDF, visible=True)
        result = await hub.send(
            [RECIPIENT], HEADER, [("qd.pdf", "application/pdf", signed)], personal=False
        )
    in_pdf = [f for f in result.verdict.signatures if f.source == "attachment:0"]
    assert [(f.kind, f.alg) for f in in_pdf] == [("personal", "ES256"), ("organization", "RS256")]
    assert all(f.signature_valid and f.chain_trusted for f in in_pdf), in_pdf
    assert in_pdf[1].follows_personal is True
    assert result.verdict.compliant, result.verdict.violations
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed)
    lines = _pdfsig_lines(path, pki.directory / "ca.crt", tmp_path)
    assert lines.count("- Signature Validation: Signature is Valid.") == 2, lines
    assert lines.count("- Certificate Validation: Certificate is Trusted.") == 2, lines


def test_a_token_key_that_signs_pss_cannot_sign_a_pdf(pki: PKIFixture, softhsm: SoftHsm) -> None:
    issued = pki.ca.issue("organization", SENDER, "UBND", key=softhsm.keys["org-rsa"])
    key = Pkcs11Key(
        softhsm.module,
        softhsm.token,
        "org-rsa",
        public_key=issued.cert.public_key(),
        pin=softhsm.pin,
        algorithm="PS256",
    )
    with pytest.raises(PdfSigningError, match=r"PKCS#1 v1\.5"):
        sign_pdf(SAMPLE_PDF, PdfSigner(key, [issued.cert, pki.ca.certificate]), "organization")


@pytest.mark.parametrize("label", ["org", "org-rsa"])
async def test_an_edxml_envelope_sealed_on_the_token_is_compliant_and_xmlsec1_verifies_it(
    token_agency: Callable[..., Awaitable[Path]],
    make_agency: MakeAgency,
    hub_transport: httpx.ASGITransport,
    softhsm: SoftHsm,
    pki: PKIFixture,
    tmp_path: Path,
    label: str,
) -> None:
    await make_agency(RECIPIENT)
    keys = await token_agency(SENDER, org=label)
    identity = NodeIdentity.load(keys, SENDER, tokens=tokens(softhsm, org=label))
    async with HubClient("http://hub", identity, hub_id=HUB_ID, transport=hub_transport) as hub:
        signed_pdf = hub.sign_pdf(SAMPLE_PDF, organization=False)
        envelope = hub.build_edxml([RECIPIENT], HEADER, [("qd.pdf", "application/pdf", signed_pdf)])
        result = await hub.send_edxml(envelope)
    seal = [f for f in result.verdict.signatures if f.format == "xmldsig"]
    assert len(seal) == 1 and seal[0].signature_valid and seal[0].chain_trusted, seal
    assert seal[0].alg == ("ES256" if label == "org" else "RS256")
    assert result.verdict.compliant, result.verdict.violations
    path = tmp_path / "envelope.xml"
    path.write_bytes(envelope)
    done = _xmlsec1_verify(path, pki, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "OK" in done.stderr + done.stdout


def test_lienthong_sign_pdf_on_the_token(
    pki: PKIFixture, softhsm: SoftHsm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    official = pki.ca.issue("official", SENDER, "Nguyễn Văn A", key=softhsm.keys["official"])
    org = pki.ca.issue("organization", SENDER, "UBND", key=softhsm.keys["org"])
    official.save(tmp_path / "official")
    org.save(tmp_path / "org")
    (tmp_path / "in.pdf").write_bytes(SAMPLE_PDF)
    monkeypatch.setenv("LIENTHONG_PKCS11_PIN", softhsm.pin)
    result = CliRunner().invoke(
        cli_app,
        [
            *("sign-pdf", "--in", str(tmp_path / "in.pdf"), "--out", str(tmp_path / "out.pdf")),
            *("--pkcs11-module", softhsm.module, "--pkcs11-token", softhsm.token),
            *(
                "--official-pkcs11-key",
                "official",
                "--official-cert",
                str(tmp_path / "official.crt"),
            ),
            *("--org-pkcs11-key", "org", "--org-cert", str(tmp_path / "org.crt")),
        ],
    )
    assert result.exit_code == 0, result.output
    lines = _pdfsig_lines(tmp_path / "out.pdf", pki.directory / "ca.crt", tmp_path)
    assert lines.count("- Signature Validation: Signature is Valid.") == 2, lines
    # a label without the module and token is one clear line, exit 2
    alone = CliRunner().invoke(
        cli_app,
        [
            *("sign-pdf", "--in", str(tmp_path / "in.pdf"), "--out", str(tmp_path / "x.pdf")),
            *("--org-pkcs11-key", "org", "--org-cert", str(tmp_path / "org.crt")),
        ],
        env={"LIENTHONG_PKCS11_MODULE": "", "LIENTHONG_PKCS11_TOKEN": ""},
    )
    assert alone.exit_code == 2 and "--pkcs11-module" in alone.output, alone.output


def test_lienthong_edxml_sign_on_the_token(
    pki: PKIFixture, softhsm: SoftHsm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = pki.ca.issue("organization", SENDER, "UBND", key=softhsm.keys["org"])
    org.save(tmp_path / "org")
    unsigned = new_package(SENDER, [RECIPIENT], HEADER, [("qd.pdf", "application/pdf", SAMPLE_PDF)])
    (tmp_path / "pkg.json").write_bytes(package_json(unsigned))
    monkeypatch.setenv("LIENTHONG_PKCS11_PIN", softhsm.pin)
    args = [
        "edxml",
        "sign",
        "--in",
        str(tmp_path / "pkg.json"),
        "--cert",
        str(tmp_path / "org.crt"),
    ]
    token = ["--pkcs11-module", softhsm.module, "--pkcs11-token", softhsm.token]
    out = tmp_path / "signed.xml"
    result = CliRunner().invoke(cli_app, [*args, *token, "--pkcs11-key", "org", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert _xmlsec1_verify(out, pki, tmp_path).returncode == 0
    # both a key file and a label, or neither: one clear line, exit 2
    both = [*args, *token, "--pkcs11-key", "org", "--key", str(tmp_path / "org.key")]
    refused = CliRunner().invoke(cli_app, [*both, "--out", str(tmp_path / "x.xml")])
    assert refused.exit_code == 2 and "one of them" in refused.output, refused.output
    wrong = CliRunner().invoke(cli_app, [*args, *token, "--pkcs11-key", "nope", "--out", "x"])
    assert wrong.exit_code == 2 and "nope" in wrong.output, wrong.output
