"""edXML (QCVN 102:2016), the national wire format of the signed document package.

A pure format library: safe parsing and our own XSD (`parse`), the mapping to
and from the JSON package (`mapping`, `write`), the one XML-DSig form the hub
accepts and the facts it yields (`dsig`), status messages (`status`), and the
hub's entry points (`read_edxml`, `verify_edxml`, `package_to_edxml`,
`sign_envelope`, `hub_export`). Every failure is an `EdxmlError` with a
stable `code`. The element-by-element mapping is in docs/EDXML.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# Each name is imported from its module on first use (PEP 562), so importing a
# submodule such as `signing.edxml.cli` does not load lxml and signxml.
_HOMES = {
    "CODES": "errors",
    "EdxmlError": "errors",
    "EDXML_NAMESPACE_UUID": "ids",
    "package_id_for": "ids",
    "signing_time_of": "ids",
    "BusinessInfo": "mapping",
    "Trace": "mapping",
    "MAX_INPUT_BYTES": "parse",
    "MAX_TEXT_BYTES": "parse",
    "NS": "parse",
    "EdxmlDocument": "reader",
    "HubExport": "reader",
    "read_hub_export": "reader",
    "edxml_to_package": "reader",
    "read_edxml": "reader",
    "verify_edxml": "reader",
    "hub_export": "sign",
    "sign_envelope": "sign",
    "STATUS_CODES": "status",
    "STATUS_MEANINGS": "status",
    "DocumentRef": "status",
    "EdxmlStatus": "status",
    "StaffInfo": "status",
    "parse_status": "status",
    "status_to_edxml": "status",
    "LAYOUTS": "write",
    "document_id_of": "write",
    "package_to_edxml": "write",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


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
