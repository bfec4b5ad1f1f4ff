"""Signing a PDF the way agencies do: the official (PAdES B-B), then the organisation's seal
as a later incremental revision that covers the official's signature.

pyHanko does the PDF and CMS work. Each signature is `/SubFilter
/ETSI.CAdES.detached`, SHA-256, with the signer's certificate and its chain
embedded; RSA keys sign PKCS#1 v1.5 (RS256), EC keys ECDSA. The `/M` signing
time is always passed in explicitly (pyHanko would otherwise take the machine's
local zone), in Vietnam time (+07:00) unless the caller gives another zone.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import Literal

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign import fields, signers
from pyhanko.sign.signers.pdf_signer import PdfSigningSession
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signing.certs import cert_der, common_name_of, organization_name_of
from signing.keys import KeyLike, PrivateKey, private_key_of, signing_key
from signing.pades.document import font_path
from signing.pades.key_signer import KeySigner, KeySigningError, digest_for

VIETNAM = dt.timezone(dt.timedelta(hours=7), "+07:00")
PdfSignatureKind = Literal["personal", "organization"]
FIELD_NAMES: dict[str, str] = {"personal": "ChuKyCaNhan", "organization": "ChuKyToChuc"}
# Where the visible signatures sit on the last page (x1, y1, x2, y2 in points from the
# bottom left of an A4 page): the official's on the right, the seal box left of it.
BOXES: dict[str, tuple[int, int, int, int]] = {
    "personal": (330, 60, 560, 130),
    "organization": (60, 50, 300, 140),
}


class PdfSigningError(ValueError):
    """The input cannot be signed: not a PDF, encrypted, or a key that does not fit the cert."""


@dataclass(frozen=True)
class PdfSigner:
    """A key and its certificate chain (the certificate first, then up to the root).

    The key is a private key in memory, or any `SigningKey` (a key on a PKCS#11
    token signs through it: ECDSA, or RSA PKCS#1 v1.5).
    """

    key: KeyLike
    chain: Sequence[x509.Certificate]


def sign_pdf(
    data: bytes,
    signer: PdfSigner,
    kind: PdfSignatureKind,
    *,
    signing_time: dt.datetime | None = None,
    visible: bool = False,
    field_name: str | None = None,
) -> bytes:
    """`data` with one more PAdES B-B signature, appended as an incremental revision.

    `signing_time` (default now) must be timezone-aware; it becomes the `/M` entry.
    Safe to call from inside a running event loop (pyHanko's signing is
    asynchronous; it then runs on a worker thread).
    """
    when = _signing_time(signing_time)
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    job = _sign(data, signer, kind, when, visible, field_name)
    if running is None:
        return asyncio.run(job)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, job).result()


def sign_pdf_twice(
    data: bytes,
    official: PdfSigner | None,
    organization: PdfSigner | None,
    *,
    signing_time: dt.datetime | None = None,
    visible: bool = False,
) -> bytes:
    """The official's signature, then the organisation's over it (either may be left out)."""
    when = _signing_time(signing_time)
    if official is not None:
        data = sign_pdf(data, official, "personal", signing_time=when, visible=visible)
    if organization is not None:
        data = sign_pdf(data, organization, "organization", signing_time=when, visible=visible)
    return data


def _signing_time(value: dt.datetime | None) -> dt.datetime:
    if value is None:
        return dt.datetime.now(VIETNAM).replace(microsecond=0)
    if value.tzinfo is None:
        raise ValueError("signing_time must be timezone-aware")
    return value


class _TimedPdfSigner(signers.PdfSigner):
    """pyHanko's signer with the signing time given rather than read from the local clock."""

    def __init__(self, *args: object, signing_time: dt.datetime, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._signing_time = signing_time

    def init_signing_session(
        self, pdf_out: object, existing_fields_only: bool = False
    ) -> PdfSigningSession:
        session = super().init_signing_session(pdf_out, existing_fields_only)  # type: ignore[arg-type]
        session.system_time = self._signing_time
        return session


async def _sign(
    data: bytes,
    signer: PdfSigner,
    kind: PdfSignatureKind,
    when: dt.datetime,
    visible: bool,
    field_name: str | None,
) -> bytes:
    if not signer.chain:
        raise PdfSigningError("the signer's certificate chain is empty")
    writer = _writer(data)
    name = field_name or _free_field_name(writer, FIELD_NAMES[kind])
    leaf = signer.chain[0]
    cms_signer, digest = _cms_signer(signer)
    meta = signers.PdfSignatureMetadata(
        field_name=name,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm=digest,
        reason="Ký số cá nhân" if kind == "personal" else "Ký số của cơ quan, tổ chức",
        name=common_name_of(leaf),
    )
    spec = None
    style = None
    if visible:
        spec = fields.SigFieldSpec(sig_field_name=name, on_page=-1, box=BOXES[kind])
        style = _stamp_style(kind)
    pdf_signer = _TimedPdfSigner(
        meta, cms_signer, stamp_style=style, new_field_spec=spec, signing_time=when
    )
    params = {"signer": common_name_of(leaf) or "?", "org": organization_name_of(leaf) or "?"}
    out = await pdf_signer.async_sign_pdf(
        writer, appearance_text_params=params if visible else None
    )
    result: bytes = out.getvalue()
    return result


def _cms_signer(signer: PdfSigner) -> tuple[signers.Signer, str]:
    """pyHanko's signer for a key in memory; ours for a key it cannot read (a token)."""
    private = private_key_of(signer.key)
    if private is None:
        try:
            external = signing_key(signer.key)
            return KeySigner(external, signer.chain), digest_for(external)
        except KeySigningError as exc:
            raise PdfSigningError(str(exc)) from exc
    return _simple_signer(private, signer.chain), "sha256"


def _simple_signer(key: PrivateKey, chain: Sequence[x509.Certificate]) -> signers.Signer:
    return signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(cert_der(chain[0])),
        signing_key=asn1_keys.PrivateKeyInfo.load(
            key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        ),
        cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
            [asn1_x509.Certificate.load(cert_der(c)) for c in chain[1:]]
        ),
    )


def _writer(data: bytes) -> IncrementalPdfFileWriter:
    if not data.lstrip()[:5].startswith(b"%PDF-"):
        raise PdfSigningError("not a PDF (no %PDF- header)")
    try:
        writer = IncrementalPdfFileWriter(BytesIO(data), strict=False)
    except Exception as exc:  # pyHanko raises many kinds for a broken file
        raise PdfSigningError(f"cannot read the PDF: {exc}") from exc
    if writer.prev.encrypted:
        raise PdfSigningError("the PDF is encrypted")
    return writer


def _free_field_name(writer: IncrementalPdfFileWriter, base: str) -> str:
    taken = {name for name, _, _ in fields.enumerate_sig_fields(writer.prev)}
    if base not in taken:
        return base
    return next(f"{base}{n}" for n in range(2, len(taken) + 3) if f"{base}{n}" not in taken)


_FONT = GlyphAccumulatorFactory(str(font_path()))


def _stamp_style(kind: PdfSignatureKind) -> TextStampStyle:
    text_box = TextBoxStyle(font=_FONT, font_size=8)
    if kind == "personal":
        return TextStampStyle(
            stamp_text="Ký bởi: %(signer)s\nCơ quan: %(org)s\nThời gian: %(ts)s",
            timestamp_format="%d/%m/%Y %H:%M:%S %z",
            text_box_style=text_box,
            border_width=1,
        )
    return TextStampStyle(
        stamp_text="ĐÃ KÝ SỐ - DẤU CƠ QUAN\n%(org)s\nThời gian: %(ts)s",
        timestamp_format="%d/%m/%Y %H:%M:%S %z",
        text_box_style=text_box,
        border_width=3,
        border_color=(0.8, 0.0, 0.0),
    )


def is_pdf(data: bytes) -> bool:
    """Whether `data` opens as a PDF (header, cross-reference table and trailer)."""
    try:
        PdfFileReader(BytesIO(data), strict=False)
    except Exception:
        return False
    return True
