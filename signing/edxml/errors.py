"""The one exception every edXML failure raises, with a stable `code`."""

from __future__ import annotations

from typing import Final

CODES: Final = frozenset(
    {
        "edxml_too_large",
        "edxml_not_well_formed",
        "edxml_dtd_forbidden",
        "edxml_entity_forbidden",
        "edxml_schema_invalid",
        "edxml_bad_base64",
        "edxml_signature_wrapping",
        "edxml_duplicate_header",
        "edxml_invalid_value",
        "edxml_not_status",
        "edxml_unmappable",
    }
)


class EdxmlError(ValueError):
    """Input that is not an acceptable edXML document.

    `code` is one of `CODES` and never changes meaning; `detail` is for people.
    Every one of them is the sender's fault (a 4xx for the hub).
    """

    def __init__(self, code: str, detail: str) -> None:
        if code not in CODES:
            raise ValueError(f"unknown edXML error code {code!r}")
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
