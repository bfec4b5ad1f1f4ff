"""JSON ⇄ edXML: every mapped field survives, SDK-style documents read, statuses."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signing.edxml import (
    EDXML_NAMESPACE_UUID,
    DocumentRef,
    EdxmlError,
    EdxmlStatus,
    StaffInfo,
    package_id_for,
    package_to_edxml,
    parse_status,
    read_edxml,
    status_to_edxml,
)
from signing.package import Package, new_package
from signing.trust import TrustStore
from tests.signing.conftest import RECEIVED_AT, SIGNED_AT

VIETNAMESE = "ăâđêôơưàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵĐƯƠ"
_TEXT = st.text(
    alphabet=st.sampled_from(VIETNAMESE + "abcXYZ019 -/.,;:()\"'&<>"), min_size=1, max_size=40
).filter(lambda s: s.strip() == s)
_CODE = st.from_regex(r"\A[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2}\Z")
_DATE = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2100, 1, 1)).map(str)


@st.composite
def packages(draw: st.DrawFn) -> Package:
    business_type = draw(st.integers(0, 3))
    header = {
        "code": {"number": draw(_TEXT), "notation": draw(_TEXT)},
        "promulgation": {"place": draw(_TEXT), "date": draw(_DATE)},
        "type": draw(_TEXT.filter(lambda s: len(s) <= 16)),
        "subject": draw(_TEXT),
        "signer": {
            "name": draw(_TEXT),
            "position": draw(st.none() | _TEXT),
            "competence": draw(st.none() | _TEXT),
        },
        "priority": draw(st.integers(0, 4)),
        "due_date": draw(st.none() | _DATE),
        "steering_type": draw(st.none() | st.integers(0, 9)),
        "business": {
            "type": business_type,
            "document_id": None
            if business_type == 0
            else str(uuid.UUID(int=draw(st.integers(0, 2**128 - 1)))),
        },
    }
    files = draw(
        st.lists(
            st.tuples(
                _TEXT, st.sampled_from(["application/pdf", "text/plain"]), st.binary(max_size=64)
            ),
            max_size=3,
        )
    )
    return new_package(draw(_CODE), draw(st.lists(_CODE, min_size=1, max_size=4)), header, files)


def _mapped(pkg: Package) -> dict[str, Any]:
    data = pkg.model_dump(mode="json")
    data.pop("signatures")
    if pkg.header.business.type in (1, 2):
        data.pop("id")  # see package_id_for: a revocation or update has its own id
    return data


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(pkg=packages(), layout=st.sampled_from(["wrapped", "envelope"]))
def test_json_edxml_json_keeps_every_mapped_field(
    pkg: Package, layout: str, trust: TrustStore
) -> None:
    data = package_to_edxml(pkg, layout=layout, timestamp=SIGNED_AT)  # type: ignore[arg-type]
    doc = read_edxml(data, trust, received_at=RECEIVED_AT)
    assert _mapped(doc.package) == _mapped(pkg)
    assert doc.wrapped == (layout == "wrapped")


def test_package_id_is_uuid5_of_sender_and_document_id() -> None:
    expected = uuid.uuid5(
        EDXML_NAMESPACE_UUID, "000.00.00.G22,000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
    )
    assert package_id_for("000.00.00.G22", "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT") == str(
        expected
    )
    assert (
        uuid.uuid5(uuid.NAMESPACE_URL, "http://www.mic.gov.vn/TBT/QCVN_102_2016")
        == EDXML_NAMESPACE_UUID
    )
    same = "3F0C6A2E-1B2C-4D5E-8F90-A1B2C3D4E5F6"
    assert package_id_for("000.00.00.G22", same) == same.lower()


PDF = "%PDF-1.4 tài liệu".encode()
SDK_STYLE = f"""<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">
  <edXML:edXMLEnvelope xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">
    <edXML:edXMLHeader>
      <edXML:MessageHeader>
        <edXML:From><edXML:OrganId>000.00.00.G22</edXML:OrganId>
          <edXML:OrganizationInCharge>Văn phòng Chính phủ</edXML:OrganizationInCharge>
          <edXML:OrganName>Văn phòng Chính phủ</edXML:OrganName></edXML:From>
        <edXML:To><edXML:OrganId>000.00.00.H41</edXML:OrganId></edXML:To>
        <edXML:To><edXML:OrganId>000.00.00.H49</edXML:OrganId></edXML:To>
        <edXML:DocumentId>000.00.00.G22,2015/09/30,7816/VPCP-TTĐT</edXML:DocumentId>
        <edXML:Code><edXML:CodeNumber>7816</edXML:CodeNumber>
          <edXML:CodeNotation>VPCP-TTĐT</edXML:CodeNotation></edXML:Code>
        <edXML:PromulgationInfo><edXML:Place>Hà Nội</edXML:Place>
          <edXML:PromulgationDate>2015/09/30</edXML:PromulgationDate></edXML:PromulgationInfo>
        <edXML:DocumentType><edXML:Type>1</edXML:Type><edXML:TypeDetail>0</edXML:TypeDetail>
          <edXML:TypeName>Công văn</edXML:TypeName></edXML:DocumentType>
        <edXML:Subject>V/v triển khai</edXML:Subject>
        <edXML:Content>Nội dung</edXML:Content>
        <edXML:SignerInfo><edXML:FullName>Nguyễn Văn B</edXML:FullName></edXML:SignerInfo>
        <edXML:OtherInfo><edXML:Priority>1</edXML:Priority>
          <edXML:SphereOfPromulgation>Lưu hành nội bộ</edXML:SphereOfPromulgation>
          <edXML:PageAmount>1</edXML:PageAmount><edXML:Direction>false</edXML:Direction>
        </edXML:OtherInfo>
        <edXML:SteeringType>0</edXML:SteeringType>
      </edXML:MessageHeader>
      <edXML:TraceHeaderList>
        <edXML:Bussiness><edXML:BussinessDocType>0</edXML:BussinessDocType>
          <edXML:Paper>0</edXML:Paper></edXML:Bussiness>
        <edXML:TraceHeader><edXML:OrganId>000.00.00.G22</edXML:OrganId>
          <edXML:Timestamp>2015/09/30 09:15:00</edXML:Timestamp></edXML:TraceHeader>
      </edXML:TraceHeaderList>
    </edXML:edXMLHeader>
    <edXML:edXMLBody><edXML:edXMLManifest version="1.0"><edXML:Reference>
      <edXML:ContentId>cid:abc</edXML:ContentId><edXML:ContentType>application/pdf</edXML:ContentType>
      <edXML:AttachmentName>cv7816.pdf</edXML:AttachmentName></edXML:Reference>
    </edXML:edXMLManifest></edXML:edXMLBody>
  </edXML:edXMLEnvelope>
  <AttachmentEncoded><Attachment><ContentId>cid:abc</ContentId>
    <AttachmentName>cv7816.pdf</AttachmentName><ContentType>application/pdf</ContentType>
    <edXML:ContentTransferEncoded xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">
{base64.encodebytes(PDF).decode()}</edXML:ContentTransferEncoded>
  </Attachment></AttachmentEncoded>
</edXML>
""".encode()


def test_reads_an_sdk_style_document(trust: TrustStore) -> None:
    doc = read_edxml(SDK_STYLE, trust, received_at=RECEIVED_AT)
    pkg = doc.package
    assert pkg.id == package_id_for("000.00.00.G22", doc.document_id)
    assert pkg.sender == "000.00.00.G22"
    assert pkg.recipients == ["000.00.00.H41", "000.00.00.H49"]
    assert pkg.header.promulgation.date == "2015-09-30"
    assert pkg.header.priority == 1 and pkg.header.steering_type == 0
    (attachment,) = pkg.attachments
    assert attachment.name == "cv7816.pdf" and attachment.data == PDF
    assert attachment.sha256 == hashlib.sha256(PDF).hexdigest()
    assert doc.signing_time == "2015-09-30T09:15:00+07:00"
    assert doc.original == SDK_STYLE


def test_replacement_links_the_earlier_document(trust: TrustStore) -> None:
    data = SDK_STYLE.replace(
        b"<edXML:BussinessDocType>0</edXML:BussinessDocType>",
        b"<edXML:BussinessDocType>3</edXML:BussinessDocType><edXML:ReplacementInfoList>"
        b"<edXML:ReplacementInfo><edXML:DocumentId>000.00.00.G22,2015/09/01,1/VPCP</edXML:DocumentId>"
        b"</edXML:ReplacementInfo></edXML:ReplacementInfoList>",
    )
    business = read_edxml(data, trust, received_at=RECEIVED_AT).package.header.business
    assert business.type == 3
    assert business.document_id == package_id_for(
        "000.00.00.G22", "000.00.00.G22,2015/09/01,1/VPCP"
    )


def test_missing_attachment_content(trust: TrustStore) -> None:
    data = SDK_STYLE.replace(b"<ContentId>cid:abc</ContentId>", b"<ContentId>cid:other</ContentId>")
    with pytest.raises(EdxmlError) as caught:
        read_edxml(data, trust, received_at=RECEIVED_AT)
    assert caught.value.code == "edxml_unmappable"


def test_control_characters_cannot_be_written(unsigned: Package) -> None:
    bad = unsigned.model_copy(
        update={"header": unsigned.header.model_copy(update={"subject": "a\x01b"})}
    )
    with pytest.raises(EdxmlError) as caught:
        package_to_edxml(bad)
    assert caught.value.code == "edxml_unmappable"


def test_status_round_trip() -> None:
    status = EdxmlStatus(
        document=DocumentRef(
            organ_id="000.00.00.G22",
            document_id="000.00.00.G22,2015/09/30,7816/VPCP-TTĐT",
            code="7816/VPCP-TTĐT",
            promulgation_date="2015-09-30",
        ),
        organ_id="000.00.00.H41",
        organ_name="UBND Tỉnh Nghệ An",
        code="01",
        description="Văn thư: Đã đến",
        timestamp="2015-09-30T10:00:00+07:00",
        staff=StaffInfo(department="Văn thư", staff="Nguyễn Thị Ngọc Trâm"),
    )
    assert parse_status(status_to_edxml(status)) == status
    assert status.document.package_id == package_id_for(
        status.document.organ_id, status.document.document_id
    )


def test_status_refuses_documents_and_bad_codes(unsigned: Package) -> None:
    with pytest.raises(EdxmlError) as caught:
        parse_status(package_to_edxml(unsigned))
    assert caught.value.code == "edxml_not_status"
    status = EdxmlStatus(
        document=DocumentRef(organ_id="000.00.00.G22", document_id="x"),
        organ_id="000.00.00.H41",
        code="03",
        timestamp="2015-09-30T10:00:00+07:00",
    )
    with pytest.raises(EdxmlError) as caught:
        parse_status(status_to_edxml(status).replace(b">03<", b">99<"))
    assert caught.value.code == "edxml_schema_invalid"
