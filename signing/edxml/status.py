"""edXML status messages (the `Status` header) to and from `EdxmlStatus`.

A status tells the sender what became of its document: 01 arrived,
02 rejected, 03 accepted, 04 assigned, 05 processing, 06 completed,
13 recalled by the sender, 15 the recipient agrees to a recall or update,
16 it refuses. The document is named as the SDKs name it: `ResponseFor`
with the sender's OrganId, the document's Code (`Number/Notation`), its
PromulgationDate and its DocumentId.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from lxml import etree
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from signing.edxml.errors import EdxmlError
from signing.edxml.ids import edxml_date, edxml_timestamp, iso_date, package_id_for
from signing.edxml.parse import MAX_INPUT_BYTES, child_text, q, read_document
from signing.edxml.write import NSMAP

StatusCode = Literal["01", "02", "03", "04", "05", "06", "13", "15", "16"]
STATUS_CODES: tuple[str, ...] = ("01", "02", "03", "04", "05", "06", "13", "15", "16")
STATUS_MEANINGS: dict[str, str] = {
    "01": "arrived",
    "02": "rejected",
    "03": "accepted",
    "04": "assigned",
    "05": "processing",
    "06": "completed",
    "13": "recalled by the sender",
    "15": "the recipient agrees to the recall or update",
    "16": "the recipient refuses the recall or update",
}


class DocumentRef(BaseModel):
    """The document a status is about (`ResponseFor`)."""

    model_config = ConfigDict(frozen=True)
    organ_id: str = Field(max_length=64)
    document_id: str = Field(max_length=256)
    code: str | None = Field(default=None, max_length=256)
    promulgation_date: str | None = None

    @property
    def package_id(self) -> str:
        """The hub's id for the document (see `package_id_for`)."""
        return package_id_for(self.organ_id, self.document_id)


class StaffInfo(BaseModel):
    model_config = ConfigDict(frozen=True)
    department: str | None = None
    staff: str | None = None
    email: str | None = None
    mobile: str | None = None


class EdxmlStatus(BaseModel):
    """One status notification about one document."""

    model_config = ConfigDict(frozen=True)
    document: DocumentRef
    organ_id: str = Field(max_length=64, description="who reports: From/OrganId")
    code: StatusCode
    description: str | None = Field(default=None, max_length=4096)
    timestamp: str
    staff: StaffInfo | None = None
    organ_name: str | None = None


def parse_status(data: bytes, *, max_bytes: int = MAX_INPUT_BYTES) -> EdxmlStatus:
    """An `EdxmlStatus` from edXML bytes; raises `EdxmlError` (`edxml_not_status` for a
    well-formed document that carries a MessageHeader instead)."""
    found = read_document(data, max_bytes=max_bytes)
    status = found.header.find(q("Status"))
    if status is None:
        raise EdxmlError("edxml_not_status", "the document is not a status message")
    ref = status.find(q("ResponseFor"))
    values = {
        "organ": child_text(ref, "OrganId"),
        "document": child_text(ref, "DocumentId"),
        "from": child_text(status, "From", "OrganId"),
        "code": child_text(status, "StatusCode"),
        "timestamp": child_text(status, "Timestamp"),
    }
    missing = [name for name, value in values.items() if value is None]
    if missing:
        raise EdxmlError("edxml_schema_invalid", f"the status has no {', '.join(missing)}")
    staff = status.find(q("StaffInfo"))
    try:
        return _status(status, ref, values, staff)
    except ValidationError as exc:  # a value over its bound: the sender's fault too
        problem = exc.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        raise EdxmlError("edxml_invalid_value", f"{where}: {problem['msg']}") from exc


def _status(
    status: etree._Element,
    ref: etree._Element | None,
    values: dict[str, str | None],
    staff: etree._Element | None,
) -> EdxmlStatus:
    return EdxmlStatus(
        document=DocumentRef(
            organ_id=str(values["organ"]),
            document_id=str(values["document"]),
            code=child_text(ref, "Code"),
            promulgation_date=iso_date(child_text(ref, "PromulgationDate"), "PromulgationDate"),
        ),
        organ_id=str(values["from"]),
        organ_name=child_text(status, "From", "OrganName"),
        code=values["code"],  # type: ignore[arg-type]
        description=child_text(status, "Description"),
        timestamp=str(values["timestamp"]),
        staff=None
        if staff is None
        else StaffInfo(
            department=child_text(staff, "Department"),
            staff=child_text(staff, "Staff"),
            email=child_text(staff, "Email"),
            mobile=child_text(staff, "Mobile"),
        ),
    )


def _add(parent: etree._Element, name: str, value: str | None = None) -> etree._Element:
    node = etree.SubElement(parent, q(name))
    if value is not None:
        node.text = value
    return node


def status_to_edxml(status: EdxmlStatus) -> bytes:
    """A status as the SDKs write it: `<edXML>` › `edXMLEnvelope` › `edXMLHeader` › `Status`."""
    root = etree.Element(q("edXML"), nsmap=NSMAP)
    header = _add(_add(root, "edXMLEnvelope"), "edXMLHeader")
    node = _add(header, "Status")
    ref = _add(node, "ResponseFor")
    _add(ref, "OrganId", status.document.organ_id)
    if status.document.code is not None:
        _add(ref, "Code", status.document.code)
    if status.document.promulgation_date is not None:
        _add(ref, "PromulgationDate", edxml_date(status.document.promulgation_date))
    _add(ref, "DocumentId", status.document.document_id)
    sender = _add(node, "From")
    _add(sender, "OrganId", status.organ_id)
    if status.organ_name is not None:
        _add(sender, "OrganName", status.organ_name)
    _add(node, "StatusCode", status.code)
    if status.description is not None:
        _add(node, "Description", status.description)
    _add(node, "Timestamp", status.timestamp)
    if status.staff is not None:
        staff = _add(node, "StaffInfo")
        for name, value in (
            ("Department", status.staff.department),
            ("Staff", status.staff.staff),
            ("Email", status.staff.email),
            ("Mobile", status.staff.mobile),
        ):
            if value is not None:
                _add(staff, name, value)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def status_timestamp(when: dt.datetime) -> str:
    """The Timestamp a status is written with: ISO 8601 in Vietnam time."""
    return edxml_timestamp(when)
