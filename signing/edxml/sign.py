"""Signing edXML bytes, and the hub's re-signed export of a document."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from cryptography import x509
from lxml import etree

from signing.edxml.dsig import sign_tree, signatures_of
from signing.edxml.errors import EdxmlError
from signing.edxml.ids import edxml_timestamp
from signing.edxml.parse import DS, MAX_INPUT_BYTES, q, read_document
from signing.keys import KeyLike

CARRIED = "OriginalSignatures"
"""The edXMLHeader element in which a hub export carries the sender's signatures."""


def _serialise(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def sign_envelope(
    data: bytes,
    key: KeyLike,
    chain: x509.Certificate | Sequence[x509.Certificate],
    *,
    max_bytes: int = MAX_INPUT_BYTES,
) -> bytes:
    """An unsigned edXML document signed by an organisation (enveloped, `URI=""`).

    `chain` is the certificate, then its chain, all written into X509Data.
    ECDSA keys sign with ecdsa-sha256 (P-256) or ecdsa-sha384 (P-384), RSA
    keys with rsa-sha256; canonicalisation is Canonical XML 1.0.
    """
    found = read_document(data, max_bytes=max_bytes)
    certs = [chain] if isinstance(chain, x509.Certificate) else list(chain)
    return _serialise(sign_tree(found.root, key, certs))


def hub_export(
    data: bytes,
    key: KeyLike,
    chain: x509.Certificate | Sequence[x509.Certificate],
    *,
    hub_id: str,
    at: dt.datetime,
    max_bytes: int = MAX_INPUT_BYTES,
) -> bytes:
    """A document as the hub hands it on: re-signed by the hub.

    The sender's signatures move into `edXMLHeader/OriginalSignatures` (data
    the hub's signature covers), a TraceHeader for the hub's hop (`hub_id`,
    `at`) is appended, and the hub's signature is the first child of
    edXMLHeader, over `URI=""`, with the hub certificate in X509Data: the
    first signature in document order, which is the one `xmlsec1 --verify`
    checks.
    """
    found = read_document(data, max_bytes=max_bytes)
    header = found.header
    originals = signatures_of(found.root)
    if any(s.getparent() is not header for s in originals):
        raise EdxmlError("edxml_signature_wrapping", "a signature outside edXMLHeader")
    if originals:
        carried = etree.SubElement(header, q(CARRIED))
        for signature in originals:
            carried.append(signature)  # moves it
    trace = header.find(q("TraceHeaderList"))
    if trace is None:
        trace = etree.SubElement(header, q("TraceHeaderList"))
    hop = etree.Element(q("TraceHeader"))
    etree.SubElement(hop, q("OrganId")).text = hub_id
    etree.SubElement(hop, q("Timestamp")).text = edxml_timestamp(at)
    traces = trace.findall(q("TraceHeader"))
    if traces:
        traces[-1].addnext(hop)
    else:
        trace.insert(0, hop)
    placeholder = etree.Element(f"{{{DS}}}Signature", nsmap={"ds": DS})
    placeholder.set("Id", "placeholder")
    header.insert(0, placeholder)
    certs = [chain] if isinstance(chain, x509.Certificate) else list(chain)
    return _serialise(sign_tree(found.root, key, certs, placeholder=True))
