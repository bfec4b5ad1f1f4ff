"""XML-DSig on an edXML document: the one signature form accepted, signing and its facts.

The form: one `ds:Signature` in the `edXMLHeader`, enveloped, with exactly
one `Reference URI=""` (the whole document but the signature itself), whose
transforms are the enveloped-signature transform and at most one
canonicalisation; the certificate (and its chain) in `X509Data`. Anything
else (a reference by id to a part, more references, other transforms, more
signatures, a signature elsewhere, `ds:Object`) is refused as signature
wrapping before any cryptography runs. Signatures are made by signxml with
Canonical XML 1.0 (what .NET, Java and xmlsec1 all read) and SHA-256/384.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.exceptions import SignXMLException
from signxml.signer import XMLSigner
from signxml.verifier import SignatureConfiguration, XMLVerifier

from signing.certs import agency_code_of, cert_kind, fingerprint
from signing.compliance import SignatureFacts, parse_signing_time
from signing.edxml.errors import EdxmlError
from signing.edxml.key_face import TokenKeyFace
from signing.edxml.parse import DS, parser, q
from signing.keys import KeyLike, PublicKey, private_key_of, signing_key
from signing.trust import TrustStore

ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
C14N_METHODS = frozenset(m.value for m in CanonicalizationMethod)
SIGNING_C14N = CanonicalizationMethod.CANONICAL_XML_1_0

_ALGORITHMS: dict[str, str] = {
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256": "ES256",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384": "ES384",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512": "ES512",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256": "RS256",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384": "RS384",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": "RS512",
    "http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1": "PS256",
    "http://www.w3.org/2007/05/xmldsig-more#sha384-rsa-MGF1": "PS384",
    "http://www.w3.org/2007/05/xmldsig-more#sha512-rsa-MGF1": "PS512",
    "http://www.w3.org/2000/09/xmldsig#rsa-sha1": "RS1",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1": "ES1",
    "http://www.w3.org/2000/09/xmldsig#dsa-sha1": "DS1",
}
"""Signature methods by their JOSE name; the SHA-1 ones get names outside the
strong set on purpose, so the rules call them WEAK_ALGORITHM."""

_ACCEPT_ALL = SignatureConfiguration(
    require_x509=True,
    location=".//",
    expect_references=1,
    signature_methods=frozenset(SignatureMethod),
    digest_algorithms=frozenset(DigestAlgorithm),
    ignore_ambiguous_key_info=True,
)


def jose_name(method: str | None) -> str | None:
    """The JOSE `alg` of an XML-DSig signature method URI (None if unknown)."""
    return _ALGORITHMS.get(method or "")


def _signer_for(key: PublicKey) -> XMLSigner:
    if isinstance(key, ec.EllipticCurvePublicKey):
        size = key.curve.key_size
        method = SignatureMethod.ECDSA_SHA384 if size >= 384 else SignatureMethod.ECDSA_SHA256
        digest = DigestAlgorithm.SHA384 if size >= 384 else DigestAlgorithm.SHA256
    elif isinstance(key, rsa.RSAPublicKey):
        method, digest = SignatureMethod.RSA_SHA256, DigestAlgorithm.SHA256
    else:
        raise ValueError("XML-DSig signing needs an ECDSA or RSA key")
    signer = XMLSigner(
        signature_algorithm=method, digest_algorithm=digest, c14n_algorithm=SIGNING_C14N
    )
    # signxml re-parses the document; ours lifts libxml2's 10 MB text limit.
    signer._parser = parser()  # type: ignore[assignment]
    return signer


def signatures_of(root: etree._Element) -> list[etree._Element]:
    return list(root.iter(f"{{{DS}}}Signature"))


def sign_tree(
    root: etree._Element,
    key: KeyLike,
    chain: Sequence[x509.Certificate],
    *,
    placeholder: bool = False,
) -> etree._Element:
    """`root` signed in its edXMLHeader; returns the new root.

    Without `placeholder`, `root` must be unsigned and the signature goes last
    in the edXMLHeader; with it, where `root`'s `ds:Signature Id="placeholder"` is.
    A key on a PKCS#11 token signs through `TokenKeyFace`: ECDSA with the hash
    its curve's JWS algorithm uses, RSA with rsa-sha256 only.
    """
    if not placeholder:
        if signatures_of(root):
            raise EdxmlError("edxml_signature_wrapping", "the document is already signed")
        header = next(root.iter(q("edXMLHeader")), None)
        if header is None:
            raise EdxmlError("edxml_schema_invalid", "no edXMLHeader to sign")
        slot = etree.SubElement(header, f"{{{DS}}}Signature", nsmap={"ds": DS})
        slot.set("Id", "placeholder")
    private = private_key_of(key)
    signer_key: Any
    if private is None:
        signer_key = TokenKeyFace(signing_key(key))
    elif isinstance(private, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        signer_key = private
    else:
        raise ValueError("XML-DSig signing needs an ECDSA or RSA key")
    xml_signer = _signer_for(signer_key.public_key())
    signed: etree._Element = xml_signer.sign(root, key=signer_key, cert=list(chain))
    return signed


@dataclass(frozen=True)
class CheckedSignature:
    """The one signature of a document, its form checked, before any cryptography."""

    element: etree._Element
    method: str | None
    certificates: tuple[x509.Certificate, ...]


def _wrapping(detail: str) -> EdxmlError:
    return EdxmlError("edxml_signature_wrapping", detail)


def check_form(root: etree._Element) -> CheckedSignature | None:
    """The document's signature if it has the accepted form; None if unsigned.

    Raises `edxml_signature_wrapping` for any other form.
    """
    found = signatures_of(root)
    if not found:
        return None
    if len(found) > 1:
        raise _wrapping(f"{len(found)} signatures; exactly one is accepted")
    signature = found[0]
    parent = signature.getparent()
    if parent is None or parent.tag != q("edXMLHeader"):
        raise _wrapping("the signature must be a child of edXMLHeader")
    if signature.find(f"{{{DS}}}Object") is not None:
        raise _wrapping("ds:Object is not accepted in the signature")
    info = signature.find(f"{{{DS}}}SignedInfo")
    references = info.findall(f"{{{DS}}}Reference") if info is not None else []
    if len(references) != 1:
        raise _wrapping(f'{len(references)} references; exactly one with URI="" is accepted')
    if references[0].get("URI") != "":
        raise _wrapping(f'reference URI {references[0].get("URI")!r}; only URI="" is accepted')
    _check_transforms(references[0])
    method = info.find(f"{{{DS}}}SignatureMethod") if info is not None else None
    return CheckedSignature(
        signature, method.get("Algorithm") if method is not None else None, _certificates(signature)
    )


def _check_transforms(reference: etree._Element) -> None:
    transforms = reference.findall(f"{{{DS}}}Transforms/{{{DS}}}Transform")
    algorithms = [t.get("Algorithm") for t in transforms]
    c14n = [a for a in algorithms if a in C14N_METHODS]
    if ENVELOPED not in algorithms or algorithms.count(ENVELOPED) > 1 or len(c14n) > 1:
        raise _wrapping("the transforms must be the enveloped-signature one and one c14n at most")
    if len(algorithms) != 1 + len(c14n) or any(len(t) for t in transforms):
        raise _wrapping("only the enveloped-signature and canonicalisation transforms are accepted")


def _certificates(signature: etree._Element) -> tuple[x509.Certificate, ...]:
    certs = []
    for node in signature.iterfind(f"{{{DS}}}KeyInfo/{{{DS}}}X509Data/{{{DS}}}X509Certificate"):
        cert = _certificate("".join((node.text or "").split()))
        if cert is None:
            return ()
        certs.append(cert)
    leaves = [c for c in certs if cert_kind(c) != "ca"]
    ordered = leaves[:1] + [c for c in certs if c not in leaves[:1]]
    return tuple(ordered)


@functools.lru_cache(maxsize=1024)
def _certificate(encoded: str) -> x509.Certificate | None:
    """A certificate from X509Certificate's base64, fully parsed, or None if it is damaged.

    cryptography parses some parts only when asked: they are asked for here, so a
    damaged certificate is bad X509Data rather than an error while it is judged.
    Cached: the same organisations sign again and again.
    """
    try:
        cert = x509.load_der_x509_certificate(base64.b64decode(encoded))
        cert.subject.rfc4514_string()
        cert.issuer.rfc4514_string()
        cert.public_key()
        list(cert.extensions)
        cert_kind(cert)
        agency_code_of(cert)
    except (ValueError, binascii.Error, TypeError, UnsupportedAlgorithm):
        return None
    return cert


def signature_facts(
    root: etree._Element,
    checked: CheckedSignature,
    trust: TrustStore,
    *,
    signing_time: str | None,
    received_at: dt.datetime,
    index: int = 0,
) -> SignatureFacts:
    """The facts of the document's organisation signature (format `xmldsig`)."""
    alg = jose_name(checked.method) or checked.method
    if not checked.certificates:
        return SignatureFacts(
            index=index, format="xmldsig", kind="organization", alg=alg,
            signing_time=signing_time, errors=["bad_x509data"],
        )  # fmt: skip
    leaf, intermediates = checked.certificates[0], checked.certificates[1:]
    errors: list[str] = []
    valid = _verify(root, leaf, errors)
    status = trust.check(leaf, intermediates, parse_signing_time(signing_time) or received_at)
    if status.error:
        errors.append("untrusted: " + status.error[:200])
    key = leaf.public_key()
    key_type = (
        "RSA"
        if isinstance(key, rsa.RSAPublicKey)
        else "EC"
        if isinstance(key, ec.EllipticCurvePublicKey)
        else None
    )
    size = (
        key.key_size
        if isinstance(key, rsa.RSAPublicKey)
        else key.curve.key_size
        if isinstance(key, ec.EllipticCurvePublicKey)
        else None
    )
    return SignatureFacts(
        index=index,
        format="xmldsig",
        kind="organization",
        certificate_kind=cert_kind(leaf),
        alg=alg,
        key_type=key_type,
        key_size=size,
        signing_time=signing_time,
        signature_valid=valid,
        chain_trusted=status.trusted,
        chain=[fingerprint(c) for c in (status.chain or checked.certificates)],
        subject=leaf.subject.rfc4514_string(),
        agency_code=agency_code_of(leaf),
        valid_at_signing_time=status.valid_at if status.trusted else None,
        revoked_at_signing_time=status.revoked if status.trusted else None,
        revocation_reason=status.revocation_reason,
        revocation_checked=status.revocation_checked,
        # The reference covers the whole document, attachments included, so
        # it covers any signature inside them (a PDF's personal signature).
        follows_personal=valid,
        errors=errors,
    )


def _verify(root: etree._Element, leaf: x509.Certificate, errors: list[str]) -> bool:
    """Whether the signature's bytes verify under `leaf` (validity is judged elsewhere)."""
    # signxml checks the certificate's validity at `verification_time`; trust
    # and validity at signing time are the TrustStore's job, so ask at an
    # instant the certificate is valid.
    config = dataclasses.replace(_ACCEPT_ALL, verification_time=leaf.not_valid_before_utc)
    try:
        XMLVerifier().verify(root, x509_cert=leaf, parser=parser(), expect_config=config)
    except (SignXMLException, ValueError, etree.LxmlError) as exc:
        # signxml checks the signature against the XML-DSig schema first (lxml's
        # DocumentInvalid, not a ValueError): a malformed one does not verify either
        errors.append("xmldsig: " + str(exc)[:200])
        return False
    return True
