"""edXML (QCVN 102:2016), the national wire format of the signed document package.

A pure format library: safe parsing and our own XSD (`parse`), the mapping to
and from the JSON package (`mapping`, `write`), the one XML-DSig form the hub
accepts and the facts it yields (`dsig`), status messages (`status`), and the
hub's entry points (`read_edxml`, `verify_edxml`, `package_to_edxml`,
`sign_envelope`, `hub_export`). Every failure is an `EdxmlError` with a
stable `code`. The element-by-element mapping is in docs/EDXML.md.
"""

from signing.edxml.errors import CODES, EdxmlError
from signing.edxml.ids import EDXML_NAMESPACE_UUID, package_id_for, signing_time_of
from signing.edxml.mapping import BusinessInfo, Trace
from signing.edxml.parse import MAX_INPUT_BYTES, MAX_TEXT_BYTES, NS
from signing.edxml.reader import (
    EdxmlDocument,
    HubExport,
    edxml_to_package,
    read_edxml,
    read_hub_export,
    verify_edxml,
)
from signing.edxml.sign import hub_export, sign_envelope
from signing.edxml.status import (
    STATUS_CODES,
    STATUS_MEANINGS,
    DocumentRef,
    EdxmlStatus,
    StaffInfo,
    parse_status,
    status_to_edxml,
)
from signing.edxml.write import LAYOUTS, document_id_of, package_to_edxml

__all__ = [
    "CODES",
    "EDXML_NAMESPACE_UUID",
    "LAYOUTS",
    "MAX_INPUT_BYTES",
    "MAX_TEXT_BYTES",
    "NS",
    "STATUS_CODES",
    "STATUS_MEANINGS",
    "BusinessInfo",
    "DocumentRef",
    "EdxmlDocument",
    "EdxmlError",
    "EdxmlStatus",
    "HubExport",
    "StaffInfo",
    "Trace",
    "document_id_of",
    "edxml_to_package",
    "hub_export",
    "package_id_for",
    "package_to_edxml",
    "parse_status",
    "read_edxml",
    "read_hub_export",
    "sign_envelope",
    "signing_time_of",
    "status_to_edxml",
    "verify_edxml",
]
