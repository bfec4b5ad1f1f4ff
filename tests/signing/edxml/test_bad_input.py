"""Hostile and broken edXML: each refused with its stable code, fast, reading no file."""

from __future__ import annotations

import copy
import time
from pathlib import Path

import pytest
from lxml import etree

from signing.edxml import EdxmlError, package_to_edxml, read_edxml, sign_envelope
from signing.package import Package
from signing.pki import IssuedCertificate
from signing.trust import TrustStore
from tests.signing.conftest import RECEIVED_AT, SIGNED_AT
from tests.signing.edxml.conftest import DS

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"


def _refused(data: bytes, trust: TrustStore, code: str) -> EdxmlError:
    started = time.monotonic()
    with pytest.raises(EdxmlError) as caught:
        read_edxml(data, trust, received_at=RECEIVED_AT)
    assert caught.value.code == code, caught.value.detail
    assert time.monotonic() - started < 10  # generous: a bomb would take minutes or memory
    return caught.value


@pytest.fixture
def signed(unsigned: Package, org: IssuedCertificate) -> bytes:
    return sign_envelope(package_to_edxml(unsigned, timestamp=SIGNED_AT), org.key, org.full_chain)


def test_not_well_formed(trust: TrustStore) -> None:
    _refused(b"<edXML><unclosed></edXML>", trust, "edxml_not_well_formed")
    _refused(b"", trust, "edxml_not_well_formed")


def test_billion_laughs(trust: TrustStore) -> None:
    levels = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    bomb = f'<?xml version="1.0"?><!DOCTYPE edXML [{"".join(levels)}]><edXML>&lol9;</edXML>'
    _refused(bomb.encode(), trust, "edxml_entity_forbidden")


def test_external_entity_reads_no_file(tmp_path: Path, trust: TrustStore) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER")
    for target in ("file:///etc/passwd", secret.as_uri()):
        xxe = (
            f'<?xml version="1.0"?><!DOCTYPE edXML [<!ENTITY xxe SYSTEM "{target}">]>'
            f'<edXML xmlns="{NS}">&xxe;</edXML>'
        )
        error = _refused(xxe.encode(), trust, "edxml_entity_forbidden")
        assert "TOP-SECRET-MARKER" not in str(error) and "root:" not in str(error)


def test_dtd(trust: TrustStore) -> None:
    _refused(b'<!DOCTYPE edXML SYSTEM "http://example.invalid/x.dtd"><edXML/>', trust,
             "edxml_dtd_forbidden")  # fmt: skip
    _refused(b"<!DOCTYPE edXML [<!ELEMENT edXML ANY>]><edXML/>", trust, "edxml_dtd_forbidden")


def test_huge_text_node(trust: TrustStore) -> None:
    huge = b"<edXML>" + b"A" * (30 * 1024 * 1024) + b"</edXML>"
    _refused(huge, trust, "edxml_too_large")


def test_input_too_large(unsigned: Package, trust: TrustStore) -> None:
    with pytest.raises(EdxmlError) as caught:
        read_edxml(package_to_edxml(unsigned), trust, received_at=RECEIVED_AT, max_bytes=100)
    assert caught.value.code == "edxml_too_large"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"<edXML:Priority>0<", b"<edXML:Priority>urgent<"),
        (b"<edXML:BussinessDocType>0<", b"<edXML:BussinessDocType>7<"),
        (b"<edXML:edXMLHeader>", b"<edXML:edXMLHeader><edXML:Surprise/>"),
        (b"edXML:edXMLEnvelope", b"edXML:Envelope"),
    ],
)
def test_schema_invalid(unsigned: Package, trust: TrustStore, old: bytes, new: bytes) -> None:
    data = package_to_edxml(unsigned)
    assert old in data
    _refused(data.replace(old, new), trust, "edxml_schema_invalid")


def test_missing_required_field(unsigned: Package, trust: TrustStore) -> None:
    data = package_to_edxml(unsigned)
    start, end = data.index(b"<edXML:Subject>"), data.index(b"</edXML:Subject>") + 16
    _refused(data[:start] + data[end:], trust, "edxml_schema_invalid")


def test_not_base64(unsigned: Package, trust: TrustStore) -> None:
    data = package_to_edxml(unsigned)
    start = data.index(b"<edXML:ContentTransferEncoded>") + 30
    _refused(data[:start] + b"*not base64*" + data[start:], trust, "edxml_bad_base64")


def _tree(data: bytes) -> etree._Element:
    return etree.fromstring(data)


def _bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _reference(root: etree._Element) -> etree._Element:
    return next(root.iter(f"{{{DS}}}Reference"))


def test_wrapping_reference_by_id(signed: bytes, trust: TrustStore) -> None:
    root = _tree(signed)
    next(root.iter(f"{{{NS}}}MessageHeader")).set("Id", "mh")
    _reference(root).set("URI", "#mh")
    _refused(_bytes(root), trust, "edxml_signature_wrapping")


def test_wrapping_extra_reference(signed: bytes, trust: TrustStore) -> None:
    root = _tree(signed)
    ref = _reference(root)
    ref.addnext(copy.deepcopy(ref))
    _refused(_bytes(root), trust, "edxml_signature_wrapping")


def test_wrapping_extra_transform(signed: bytes, trust: TrustStore) -> None:
    root = _tree(signed)
    transforms = next(root.iter(f"{{{DS}}}Transforms"))
    extra = etree.SubElement(transforms, f"{{{DS}}}Transform")
    extra.set("Algorithm", "http://www.w3.org/TR/1999/REC-xpath-19991116")
    etree.SubElement(extra, f"{{{DS}}}XPath").text = "not(ancestor-or-self::*)"
    _refused(_bytes(root), trust, "edxml_signature_wrapping")


def test_wrapping_signature_elsewhere(signed: bytes, trust: TrustStore) -> None:
    root = _tree(signed)
    signature = next(root.iter(f"{{{DS}}}Signature"))
    next(root.iter(f"{{{NS}}}edXMLBody")).append(signature)
    _refused(_bytes(root), trust, "edxml_signature_wrapping")


def test_duplicate_message_header(signed: bytes, trust: TrustStore) -> None:
    root = _tree(signed)
    message = next(root.iter(f"{{{NS}}}MessageHeader"))
    forged = copy.deepcopy(message)
    next(forged.iter(f"{{{NS}}}Subject")).text = "Forged"
    message.addprevious(forged)
    _refused(_bytes(root), trust, "edxml_duplicate_header")


def test_comment_cannot_split_what_is_read(signed: bytes, trust: TrustStore) -> None:
    # A comment is not signed (c14n without comments); reading must see the
    # whole text, exactly what the signature covers.
    data = signed.replace("Về việc".encode(), "Về <!-- x -->việc".encode(), 1)
    doc = read_edxml(data, trust, received_at=RECEIVED_AT)
    assert doc.package.header.subject.startswith("Về việc")
    assert doc.facts[0].signature_valid


def test_a_status_value_over_its_bound_is_an_edxml_error() -> None:
    from signing.edxml import DocumentRef, EdxmlStatus, parse_status, status_to_edxml

    status = EdxmlStatus(
        document=DocumentRef(organ_id="000.00.00.H26", document_id="LONG"),
        organ_id="000.00.00.G22",
        code="01",
        timestamp="2024/03/12 10:00:00",
    )
    data = status_to_edxml(status).replace(b"LONG", b"x" * 300)
    with pytest.raises(EdxmlError) as caught:
        parse_status(data)
    assert caught.value.code == "edxml_invalid_value"
