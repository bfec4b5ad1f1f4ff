"""XML-DSig on edXML: our signatures verified by xmlsec1, xmlsec1's verified by us,
and the facts the rules judge."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from lxml import etree

from signing.edxml import (
    EdxmlError,
    hub_export,
    package_to_edxml,
    read_edxml,
    read_hub_export,
    sign_envelope,
    verify_edxml,
)
from signing.package import Package, manifest_digest
from signing.pki import CertificateAuthority, IssuedCertificate
from signing.trust import TrustStore
from tests.signing.conftest import RECEIVED_AT, SENDER, SIGNED_AT
from tests.signing.edxml.conftest import (
    DS,
    RSA_SHA256,
    needs_xmlsec1,
    xmlsec1_sign,
    xmlsec1_verify,
)

AT = "2025-03-12 10:00:00"  # xmlsec1's certificate check time


def _signed(pkg: Package, signer: IssuedCertificate, layout: str = "wrapped") -> bytes:
    unsigned = package_to_edxml(pkg, layout=layout, timestamp=SIGNED_AT)  # type: ignore[arg-type]
    return sign_envelope(unsigned, signer.key, signer.full_chain)


@pytest.mark.parametrize("layout", ["wrapped", "envelope"])
def test_signed_envelope_verifies_and_yields_organisation_facts(
    unsigned: Package, org: IssuedCertificate, trust: TrustStore, layout: str
) -> None:
    doc = read_edxml(_signed(unsigned, org, layout), trust, received_at=RECEIVED_AT)
    (facts,) = doc.facts
    assert facts.format == "xmldsig"
    assert facts.kind == "organization"
    assert facts.signature_valid and facts.chain_trusted and facts.valid_at_signing_time
    assert facts.alg == "ES256"
    assert facts.agency_code == SENDER
    assert facts.signing_time == "2025-03-12T09:00:00+07:00"
    verdict = verify_edxml(doc, trust, received_at=RECEIVED_AT)
    assert verdict.violations == ["NO_PERSONAL_SIGNATURE"]


@pytest.mark.parametrize(("key_type", "alg"), [("ec384", "ES384"), ("rsa2048", "RS256")])
def test_p384_and_rsa(
    ca: CertificateAuthority, unsigned: Package, trust: TrustStore, key_type: str, alg: str
) -> None:
    signer = ca.issue("organization", SENDER, "UBND", key_type=key_type)  # type: ignore[arg-type]
    (facts,) = read_edxml(_signed(unsigned, signer), trust, received_at=RECEIVED_AT).facts
    assert facts.signature_valid and facts.alg == alg


def test_tampered_envelope_is_recorded_as_bad(
    unsigned: Package, org: IssuedCertificate, trust: TrustStore
) -> None:
    signed = _signed(unsigned, org).replace("Về việc".encode(), "Bãi bỏ".encode(), 1)
    doc = read_edxml(signed, trust, received_at=RECEIVED_AT)
    assert doc.package.header.subject.startswith("Bãi bỏ")
    assert not doc.facts[0].signature_valid
    assert "BAD_SIGNATURE" in verify_edxml(doc, trust, received_at=RECEIVED_AT).violations


def test_signature_of_another_organisation_is_recorded_not_refused(
    ca: CertificateAuthority, unsigned: Package, trust: TrustStore
) -> None:
    other = ca.issue("organization", "000.00.00.H49", "UBND tỉnh Quảng Ninh")
    doc = read_edxml(_signed(unsigned, other), trust, received_at=RECEIVED_AT)
    assert doc.facts[0].signature_valid
    violations = verify_edxml(doc, trust, received_at=RECEIVED_AT).violations
    assert "ORGANIZATION_MISMATCH" in violations


def test_untrusted_signer(tmp_path: Path, unsigned: Package, trust: TrustStore) -> None:
    rogue = CertificateAuthority.init(tmp_path / "rogue").issue("organization", SENDER, "UBND")
    doc = read_edxml(_signed(unsigned, rogue), trust, received_at=RECEIVED_AT)
    assert doc.facts[0].signature_valid and not doc.facts[0].chain_trusted
    assert "UNTRUSTED_CERTIFICATE" in verify_edxml(doc, trust, received_at=RECEIVED_AT).violations


def test_unsigned_envelope_has_no_facts(unsigned: Package, trust: TrustStore) -> None:
    doc = read_edxml(package_to_edxml(unsigned), trust, received_at=RECEIVED_AT)
    assert doc.facts == ()
    assert verify_edxml(doc, trust, received_at=RECEIVED_AT).violations == ["UNSIGNED"]


@needs_xmlsec1
@pytest.mark.parametrize("key_type", ["ec", "ec384", "rsa2048"])
def test_xmlsec1_verifies_our_signature(
    tmp_path: Path, ca: CertificateAuthority, unsigned: Package, root_pem: Path, key_type: str
) -> None:
    signer = ca.issue(
        "organization", SENDER, "UBND", key_type=key_type,  # type: ignore[arg-type]
        not_before=SIGNED_AT - dt.timedelta(days=1),
    )  # fmt: skip
    path = tmp_path / "signed.xml"
    path.write_bytes(_signed(unsigned, signer))
    result = xmlsec1_verify(path, root_pem, AT)
    assert result.returncode == 0, result.stderr


@needs_xmlsec1
@pytest.mark.parametrize("method", ["ecdsa", "rsa"])
def test_we_verify_xmlsec1s_signature(
    tmp_path: Path, ca: CertificateAuthority, unsigned: Package, trust: TrustStore, method: str
) -> None:
    key_type = "ec" if method == "ecdsa" else "rsa2048"
    signer = ca.issue("organization", SENDER, "UBND", key_type=key_type)  # type: ignore[arg-type]
    unsigned_xml = package_to_edxml(unsigned, timestamp=SIGNED_AT)
    signed = (
        xmlsec1_sign(unsigned_xml, signer, tmp_path)
        if method == "ecdsa"
        else xmlsec1_sign(unsigned_xml, signer, tmp_path, RSA_SHA256)
    )
    assert b"<ds:DigestValue/>" not in signed
    (facts,) = read_edxml(signed, trust, received_at=RECEIVED_AT).facts
    assert facts.signature_valid, facts.errors
    assert facts.kind == "organization" and facts.agency_code == SENDER
    assert facts.alg == ("ES256" if method == "ecdsa" else "RS256")


@needs_xmlsec1
def test_hub_export_verifies_with_xmlsec1_as_is(
    tmp_path: Path, ca: CertificateAuthority, unsigned: Package, org: IssuedCertificate,
    root_pem: Path,
) -> None:  # fmt: skip
    hub = ca.issue("hub", "000.00.00.A00", "Trục liên thông", not_before=SIGNED_AT)
    exported = hub_export(
        _signed(unsigned, org), hub.key, hub.full_chain, hub_id="000.00.00.A00", at=RECEIVED_AT
    )
    path = tmp_path / "export.xml"
    path.write_bytes(exported)
    result = xmlsec1_verify(path, root_pem, AT)
    assert result.returncode == 0, result.stderr
    root = etree.fromstring(exported)
    signatures = list(root.iter(f"{{{DS}}}Signature"))
    assert len(signatures) == 2
    header = signatures[0].getparent()
    assert header is not None and header.index(signatures[0]) == 0
    carried = signatures[1].getparent()
    assert carried is not None and etree.QName(carried).localname == "OriginalSignatures"
    stamps = [
        e.text for e in root.iter("{http://www.mic.gov.vn/TBT/QCVN_102_2016}OrganId")
        if e.getparent() is not None and etree.QName(e.getparent()).localname == "TraceHeader"
    ]  # fmt: skip
    assert stamps == [SENDER, "000.00.00.A00"]
    # Tampering with the carried signature breaks the hub's.
    second = exported.index(b"<ds:SignatureValue>", exported.index(b"<ds:SignatureValue>") + 1)
    cut = second + len(b"<ds:SignatureValue>")
    path.write_bytes(exported[:cut] + b"AAAA" + exported[cut:])
    assert xmlsec1_verify(path, root_pem, AT).returncode != 0


@pytest.mark.parametrize("signed", [True, False], ids=["edxml-born", "unsigned"])
def test_a_recipient_reads_the_hub_export(
    ca: CertificateAuthority, unsigned: Package, org: IssuedCertificate, signed: bool
) -> None:
    hub = ca.issue("hub", "000.00.00.A00", "Trục liên thông", not_before=SIGNED_AT)
    data = _signed(unsigned, org) if signed else package_to_edxml(unsigned, timestamp=SIGNED_AT)
    exported = hub_export(data, hub.key, hub.full_chain, hub_id="000.00.00.A00", at=RECEIVED_AT)
    read = read_hub_export(exported, hub.cert)
    assert read.hub_signature_valid, read.errors
    assert manifest_digest(read.package) == manifest_digest(unsigned)
    # another certificate, or one altered byte of content, and it no longer verifies
    assert not read_hub_export(exported, org.cert).hub_signature_valid
    altered = exported.replace(b"<edXML:Subject>", b"<edXML:Subject>X", 1)
    assert not read_hub_export(altered, hub.cert).hub_signature_valid
    # the sender's envelope is not an export
    if signed:
        with pytest.raises(EdxmlError) as caught:
            read_hub_export(data, hub.cert)
        assert caught.value.code == "edxml_signature_wrapping"


def test_a_malformed_signature_value_is_recorded_as_bad(
    unsigned: Package, org: IssuedCertificate, trust: TrustStore
) -> None:
    signed = _signed(unsigned, org)
    start = signed.index(b"<ds:SignatureValue>") + len(b"<ds:SignatureValue>")
    mangled = signed[:start] + b'"' + signed[start + 1 :]
    (facts,) = read_edxml(mangled, trust, received_at=RECEIVED_AT).facts
    assert not facts.signature_valid and facts.errors
