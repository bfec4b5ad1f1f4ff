"""One embedded PDF signature, read by pyHanko into plain values (no trust decisions here).

`read_signature` never raises (other than the time bound's `LimitExceeded`,
a `BaseException`): whatever pyHanko cannot do for a signature is recorded in
`errors`, with `valid=False` when it concerns the bytes and `modified=True`
when it concerns what happened to the file after the signature.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY, DiffResult, ModificationLevel
from pyhanko.sign.validation.generic_cms import validate_sig_integrity
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import SignatureCoverageLevel

from signing.certs import agency_code_of, cert_kind, fingerprint

SUBFILTERS = frozenset({"/ETSI.CAdES.detached", "/adbe.pkcs7.detached"})
_HASH_BITS = {"sha256": "256", "sha384": "384", "sha512": "512"}
_PDF_DATE = re.compile(
    r"^D:(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})"
    r"(?:(Z)(?:00'?00'?)?|([+-])(\d{2})'?(\d{2})'?)$"
)


@dataclass(frozen=True)
class Signer:
    """What a signer certificate (and the certificates beside it) says about the signer."""

    leaf: x509.Certificate
    intermediates: tuple[x509.Certificate, ...]
    key_type: str | None
    key_size: int | None
    certificate_kind: str | None
    subject: str
    agency_code: str | None
    fingerprints: tuple[str, ...]

    def __reduce__(self) -> tuple[Any, ...]:
        # certificates do not pickle; their DER does (a reading may come from another process)
        ders = tuple(c.public_bytes(Encoding.DER) for c in (self.leaf, *self.intermediates))
        rest = (self.key_type, self.key_size, self.certificate_kind, self.subject)
        return (_signer_from_der, (ders, *rest, self.agency_code, self.fingerprints))


def _signer_from_der(
    ders: tuple[bytes, ...],
    key_type: str | None,
    key_size: int | None,
    certificate_kind: str | None,
    subject: str,
    agency_code: str | None,
    fingerprints: tuple[str, ...],
) -> Signer:
    leaf, *intermediates = (x509.load_der_x509_certificate(der) for der in ders)
    return Signer(
        leaf, tuple(intermediates), key_type, key_size, certificate_kind, subject, agency_code,
        fingerprints,
    )  # fmt: skip


@dataclass
class RawSignature:
    field_name: str
    revision: int | None = None
    timestamp: bool = False
    signer: Signer | None = None
    alg: str | None = None
    signing_time: str | None = None
    valid: bool = False
    modified: bool = False
    errors: list[str] = field(default_factory=list)


def read_signature(reader: PdfFileReader, name: str, field_ref: Any) -> RawSignature:
    raw = RawSignature(field_name=str(name))
    try:
        sig_object = field_ref.get_object()["/V"].get_object()
        if sig_object.get("/Type", "/Sig") == "/DocTimeStamp":
            raw.timestamp = True
            return raw
        raw.signing_time = pdf_date_to_rfc3339(sig_object.get("/M"))
        subfilter = str(sig_object.get("/SubFilter", ""))
        if subfilter not in SUBFILTERS:
            raw.errors.append(f"unsupported /SubFilter {subfilter or '(none)'}"[:200])
            return raw
        embedded = EmbeddedPdfSignature(reader, field_ref, name)
        raw.revision = embedded.signed_revision
    except Exception as exc:  # a signature dictionary or CMS blob pyHanko cannot read
        raw.errors.append(_describe("unreadable signature", exc))
        return raw
    _read_signer(embedded, raw)
    _verify_bytes(embedded, raw)
    _analyse_changes(embedded, raw)
    return raw


def _read_signer(embedded: EmbeddedPdfSignature, raw: RawSignature) -> None:
    try:
        leaf_der = embedded.signer_cert.dump()
        others = tuple(c.dump() for c in embedded.other_embedded_certs)
        raw.signer = _signer(leaf_der, others)
        raw.alg = jose_alg(embedded.signer_info)
    except Exception as exc:
        raw.errors.append(_describe("signer certificate", exc))


def _verify_bytes(embedded: EmbeddedPdfSignature, raw: RawSignature) -> None:
    try:
        intact, valid = validate_sig_integrity(
            embedded.signer_info, embedded.signer_cert, "data", embedded.compute_digest()
        )
    except Exception as exc:  # includes pyHanko's AssertionError on a key/algorithm mismatch
        raw.errors.append(_describe("signature", exc))
        return
    if not intact:
        raw.errors.append("the signed digest does not match the /ByteRange")
    if not valid:
        raw.errors.append("the signature value does not verify")
    raw.valid = intact and valid


def _analyse_changes(embedded: EmbeddedPdfSignature, raw: RawSignature) -> None:
    """Whether the file changed after the signature in a way the signature does not allow."""
    try:
        embedded.compute_integrity_info(diff_policy=DEFAULT_DIFF_POLICY)  # type: ignore[no-untyped-call]
        summary = embedded.summarise_integrity_info()
    except Exception as exc:
        raw.modified = True
        raw.errors.append(_describe("difference analysis", exc))
        return
    coverage = summary["coverage"]
    if coverage not in (SignatureCoverageLevel.ENTIRE_FILE, SignatureCoverageLevel.ENTIRE_REVISION):
        raw.modified = True
        raw.errors.append(f"the /ByteRange does not cover its revision ({coverage.name})")
        return
    if not summary["docmdp_ok"]:
        raw.modified = True
        diff = summary["diff_result"]
        level = diff.modification_level if isinstance(diff, DiffResult) else ModificationLevel.OTHER
        raw.errors.append(f"modified after signing ({level.name}): {diff}"[:300])


def _describe(what: str, exc: BaseException) -> str:
    return f"{what}: {type(exc).__name__}: {exc}"[:300]


@functools.lru_cache(maxsize=1024)
def _signer(leaf_der: bytes, others_der: tuple[bytes, ...]) -> Signer:
    """Cached by DER: the same sender signs every document with the same certificates."""
    leaf = x509.load_der_x509_certificate(leaf_der)
    intermediates = tuple(x509.load_der_x509_certificate(d) for d in others_der)
    key = leaf.public_key()
    key_type: str | None
    size: int | None
    if isinstance(key, rsa.RSAPublicKey):
        key_type, size = "RSA", key.key_size
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key_type, size = "EC", key.curve.key_size
    elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        key_type, size = "OKP", 256 if isinstance(key, ed25519.Ed25519PublicKey) else 456
    else:
        key_type, size = None, None
    return Signer(
        leaf=leaf,
        intermediates=intermediates,
        key_type=key_type,
        key_size=size,
        certificate_kind=cert_kind(leaf),
        subject=leaf.subject.rfc4514_string(),
        agency_code=agency_code_of(leaf),
        fingerprints=(fingerprint(leaf), *(fingerprint(c) for c in intermediates)),
    )


def jose_alg(signer_info: cms.SignerInfo) -> str:
    """The JOSE name of a CMS signature's algorithm: RS256, PS384, ES256, EdDSA...

    The hash is the signature's own (or, for a bare `rsassa_pkcs1v15`/`ecdsa`
    OID, the SignerInfo's digest algorithm); a SHA-1 or MD5 anywhere gives a
    name outside DESIGN's list (`RS-sha1`), which the rules call weak.
    """
    mechanism = signer_info["signature_algorithm"]
    digest = str(signer_info["digest_algorithm"]["algorithm"].native)
    family_name = mechanism.signature_algo
    if family_name in ("ed25519", "ed448"):
        return "EdDSA"
    family = {"rsassa_pkcs1v15": "RS", "rsassa_pss": "PS", "ecdsa": "ES"}.get(family_name)
    if family is None:
        return str(mechanism["algorithm"].native)
    if family_name == "rsassa_pss":
        sig_hash = str(mechanism["parameters"]["hash_algorithm"]["algorithm"].native)
    else:
        try:
            sig_hash = str(mechanism.hash_algo)
        except ValueError:
            sig_hash = digest
    for name in (sig_hash, digest):
        if name not in _HASH_BITS:
            return f"{family}-{name}"
    return family + _HASH_BITS[sig_hash]


def pdf_date_to_rfc3339(value: object) -> str | None:
    """A PDF date (`D:20250312090000+07'00'`, also `+07'00` and `+0700`) as RFC 3339.

    A date without seconds or an offset is returned as given, so the rules
    find it unparseable (BAD_SIGNING_TIME) and the trace shows what was there.
    """
    if value is None:
        return None
    text = str(value).strip()
    match = _PDF_DATE.match(text)
    if match is None:
        return text[:64]
    year, month, day, hour, minute, second, zulu, sign, off_h, off_m = match.groups()
    offset = "Z" if zulu else f"{sign}{off_h}:{off_m}"
    return f"{year}-{month}-{day}T{hour}:{minute}:{second}{offset}"
