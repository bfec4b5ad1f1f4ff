"""Reading edXML bytes into a tree, safely, and checking it against our schema.

The parser never expands entities, never loads a DTD and never touches the
network; a document that declares a DTD or an entity is refused outright.
Comments and processing instructions are dropped while parsing, so a comment
cannot split a text node into what the signature covers and what is read.
Input size and the size of any single text node are bounded.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources

from lxml import etree

from signing.edxml.errors import EdxmlError

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
DS = "http://www.w3.org/2000/09/xmldsig#"
XLINK = "http://www.w3.org/1999/xlink"
MAX_INPUT_BYTES = 64 * 1024 * 1024
"""The largest document read (the hub's own body limit is lower)."""
MAX_TEXT_BYTES = 24 * 1024 * 1024
"""The largest single text node: an attachment of about 18 MB in base64."""


def q(name: str) -> str:
    """The qualified tag of an edXML element."""
    return f"{{{NS}}}{name}"


def parser() -> etree.XMLParser:
    """A parser with entities, DTDs and the network off.

    `huge_tree` lifts libxml2's own 10 MB text limit; `MAX_TEXT_BYTES` is
    enforced instead, after parsing (the input size bounds the work).
    """
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=True,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )


@dataclass(frozen=True)
class Layout:
    """Where the parts of a parsed document are: the root, the envelope, its header."""

    root: etree._Element
    envelope: etree._Element
    header: etree._Element

    @property
    def wrapped(self) -> bool:
        """Whether the document is the SDKs' `<edXML>` wrapper (else a bare envelope)."""
        return self.root is not self.envelope


def parse_xml(data: bytes, *, max_bytes: int = MAX_INPUT_BYTES) -> etree._Element:
    """Bytes to a tree, refusing anything that is not plain, bounded XML."""
    if len(data) > max_bytes:
        raise EdxmlError("edxml_too_large", f"the document is larger than {max_bytes} bytes")
    try:
        root = etree.fromstring(data, parser())
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(data, exc) from exc
    _refuse_dtd(root)
    _check_text_sizes(root)
    return root


def _syntax_error(data: bytes, exc: etree.XMLSyntaxError) -> EdxmlError:
    """The error for a document libxml2 refused: an entity bomb it caught is
    still an entity error, a broken DTD still a DTD error."""
    doctype = data.find(b"<!DOCTYPE")
    if doctype >= 0:
        if data.find(b"<!ENTITY", doctype) >= 0:
            return EdxmlError("edxml_entity_forbidden", f"the document declares entities ({exc})")
        return EdxmlError("edxml_dtd_forbidden", f"the document has a DTD ({exc})")
    return EdxmlError("edxml_not_well_formed", f"not well-formed XML: {exc}")


def _refuse_dtd(root: etree._Element) -> None:
    info = root.getroottree().docinfo
    dtd = info.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):  # type: ignore[attr-defined]
        raise EdxmlError("edxml_entity_forbidden", "the document declares entities")
    if any(isinstance(node, etree._Entity) for node in root.iter()):
        raise EdxmlError("edxml_entity_forbidden", "the document uses entity references")
    if dtd is not None or info.doctype or info.externalDTD is not None:
        raise EdxmlError("edxml_dtd_forbidden", "the document has a document type declaration")


def _check_text_sizes(root: etree._Element) -> None:
    for node in root.iter():
        for text in (node.text, node.tail):
            if text is not None and len(text) > MAX_TEXT_BYTES:
                raise EdxmlError(
                    "edxml_too_large",
                    f"a text node in <{etree.QName(node).localname}> is longer than"
                    f" {MAX_TEXT_BYTES} characters",
                )


@functools.cache
def schema() -> etree.XMLSchema:
    """Our own XSD for edXML, shipped in the package."""
    text = resources.files("signing.edxml").joinpath("edxml.xsd").read_bytes()
    return etree.XMLSchema(etree.fromstring(text, parser()))


def validate(root: etree._Element) -> None:
    """Raises `edxml_schema_invalid` with the first error if `root` fails the XSD."""
    xsd = schema()
    if not xsd.validate(root):
        error = xsd.error_log.last_error  # type: ignore[attr-defined]
        where = f"line {error.line}: " if error is not None else ""
        message = error.message if error is not None else "invalid"
        raise EdxmlError("edxml_schema_invalid", f"{where}{message}")


def layout(root: etree._Element) -> Layout:
    """The envelope and header of a validated document, each exactly once."""
    if root.tag == q("edXML"):
        envelope = root.find(q("edXMLEnvelope"))
    elif root.tag == q("edXMLEnvelope"):
        envelope = root
    else:
        raise EdxmlError("edxml_schema_invalid", f"unexpected root element {root.tag}")
    if envelope is None:
        raise EdxmlError("edxml_schema_invalid", "no edXMLEnvelope")
    header = envelope.find(q("edXMLHeader"))
    if header is None:
        raise EdxmlError("edxml_schema_invalid", "no edXMLHeader")
    for name in ("MessageHeader", "Status", "TraceHeaderList", "edXMLHeader", "edXMLEnvelope"):
        # Anywhere in the document: a copy hidden elsewhere is as suspect as a sibling.
        if sum(1 for _ in root.iter(q(name))) > 1:
            raise EdxmlError("edxml_duplicate_header", f"more than one {name} in the document")
    found = [n for n in ("MessageHeader", "Status") if header.find(q(n)) is not None]
    if len(found) != 1:
        raise EdxmlError(
            "edxml_schema_invalid", "edXMLHeader must hold one MessageHeader or one Status"
        )
    return Layout(root, envelope, header)


def read_document(data: bytes, *, max_bytes: int = MAX_INPUT_BYTES) -> Layout:
    """Parse, check for duplicated headers, validate: the common first step of every reader."""
    root = parse_xml(data, max_bytes=max_bytes)
    # Duplicates first: a second MessageHeader is also a schema error, but
    # it is the signature-wrapping shape and gets its own code.
    try:
        found = layout(root)
    except EdxmlError as exc:
        if exc.code == "edxml_duplicate_header":
            raise
        validate(root)
        raise
    validate(root)
    return found


def text(element: etree._Element | None) -> str | None:
    """The stripped text of an element (None if absent, empty or whitespace)."""
    if element is None:
        return None
    value = "".join(str(t) for t in element.itertext()).strip()
    return value or None


def child_text(parent: etree._Element | None, *path: str) -> str | None:
    """The text at `parent/path…` (edXML names), or None."""
    node = parent
    for name in path:
        if node is None:
            return None
        node = node.find(q(name))
    return text(node)
