"""Helpers for edXML tests: envelopes from packages, xmlsec1 on disk."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from signing.certs import cert_to_pem
from signing.keys import private_key_pem
from signing.pki import CertificateAuthority, IssuedCertificate

XMLSEC1 = shutil.which("xmlsec1")
needs_xmlsec1 = pytest.mark.skipif(XMLSEC1 is None, reason="xmlsec1 is not installed")
DS = "http://www.w3.org/2000/09/xmldsig#"

TEMPLATE = """<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>
<ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>
<ds:SignatureMethod Algorithm="{method}"/><ds:Reference URI=""><ds:Transforms>
<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>
</ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>
<ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/>
<ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature>"""
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"


def xmlsec1_verify(path: Path, root_pem: Path, at: str) -> subprocess.CompletedProcess[str]:
    """`xmlsec1 --verify` with the certificates judged at `at` (`YYYY-MM-DD HH:MM:SS`)."""
    assert XMLSEC1 is not None
    return subprocess.run(
        [XMLSEC1, "--verify", "--trusted-pem", str(root_pem), "--verification-time", at, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def xmlsec1_sign(
    unsigned: bytes, signer: IssuedCertificate, tmp: Path, method: str = ECDSA_SHA256
) -> bytes:
    """`unsigned` signed by xmlsec1 from a template in its edXMLHeader."""
    assert XMLSEC1 is not None
    root = etree.fromstring(unsigned)
    header = next(root.iter("{http://www.mic.gov.vn/TBT/QCVN_102_2016}edXMLHeader"))
    header.append(etree.fromstring(TEMPLATE.format(method=method)))
    template = tmp / "template.xml"
    template.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    key = tmp / "signer.pem"
    key.write_bytes(private_key_pem(signer.key))
    cert = tmp / "signer.crt"
    cert.write_bytes(cert_to_pem(signer.cert))
    out = tmp / "signed-by-xmlsec1.xml"
    subprocess.run(
        [XMLSEC1, "--sign", "--privkey-pem", f"{key},{cert}", "--output", str(out), str(template)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return out.read_bytes()


@pytest.fixture
def root_pem(tmp_path: Path, ca: CertificateAuthority) -> Path:
    path = tmp_path / "root.pem"
    path.write_bytes(cert_to_pem(ca.certificate))
    return path
