"""Hostile PDFs: each gives facts or violations, never an exception, and in bounded time."""

from __future__ import annotations

import datetime as dt
import time
from io import BytesIO

import pytest
from asn1crypto import cms
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import copy_into_new_writer

from signing.pades.document import make_pdf
from signing.pades.validate import PdfLimits, PdfValidation, validate_pdf
from signing.pki import CertificateAuthority, IssuedCertificate
from signing.trust import TrustStore
from signing.verify import verify_package
from tests.signing.conftest import RECEIVED_AT, SENDER, SIGNED_AT
from tests.signing.pades_helpers import package_with, plain_pdf, signed_pdf

BOUND_SECONDS = 60.0  # far above what any of these take; only a hang would reach it


def _validate(data: bytes, trust: TrustStore, **limits: object) -> PdfValidation:
    started = time.monotonic()
    result = validate_pdf(
        data,
        trust,
        received_at=RECEIVED_AT,
        limits=PdfLimits(**limits),  # type: ignore[arg-type]
    )
    assert time.monotonic() - started < BOUND_SECONDS
    return result


def _rewrite(data: bytes, change: object) -> bytes:
    writer = IncrementalPdfFileWriter(BytesIO(data), strict=False)
    change(writer)  # type: ignore[operator]
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize("data", [b"", b"hello", b"%PDF-1.7\n", b"%PDF-1.7\n" + b"\0" * 5000])
def test_not_a_pdf_is_unreadable(data: bytes, trust: TrustStore) -> None:
    assert _validate(data, trust).violations == ["UNREADABLE_DOCUMENT"]


def test_a_truncated_pdf_is_unreadable(
    official: IssuedCertificate, org: IssuedCertificate, trust: TrustStore
) -> None:
    whole = signed_pdf(official, org)
    for cut in (len(whole) // 3, len(whole) // 2, len(whole) - 40):
        result = _validate(whole[:cut], trust)
        assert result.violations or any(not f.signature_valid for f in result.facts), cut


def test_an_encrypted_pdf_is_unreadable(trust: TrustStore) -> None:
    writer = copy_into_new_writer(PdfFileReader(BytesIO(plain_pdf())))
    writer.encrypt("owner-secret", "user-secret")
    out = BytesIO()
    writer.write(out)
    assert _validate(out.getvalue(), trust).violations == ["UNREADABLE_DOCUMENT"]


def test_an_encrypted_pdf_without_a_user_password_opens(trust: TrustStore) -> None:
    writer = copy_into_new_writer(PdfFileReader(BytesIO(plain_pdf())))
    writer.encrypt("owner-secret", "")
    out = BytesIO()
    writer.write(out)
    assert _validate(out.getvalue(), trust).violations == []


def test_two_hundred_signature_fields_stop_at_the_limit(
    official: IssuedCertificate, org: IssuedCertificate, trust: TrustStore
) -> None:
    def add_fields(writer: IncrementalPdfFileWriter) -> None:
        form = writer.root["/AcroForm"]
        fields = form["/Fields"]
        value = fields[0].get_object().raw_get("/V")
        for n in range(200):
            field = generic.DictionaryObject(
                {
                    generic.pdf_name("/FT"): generic.pdf_name("/Sig"),
                    generic.pdf_name("/T"): generic.pdf_string(f"Extra{n}"),
                    generic.pdf_name("/V"): value,
                }
            )
            fields.append(writer.add_object(field))
        writer.update_container(fields)

    data = _rewrite(signed_pdf(official, org), add_fields)
    result = _validate(data, trust)
    assert result.violations == ["VALIDATION_LIMIT_EXCEEDED"]
    assert len(result.facts) <= PdfLimits().max_signatures


def test_a_byte_range_that_lies(
    official: IssuedCertificate, org: IssuedCertificate, trust: TrustStore
) -> None:
    data = signed_pdf(official, org)
    reader = PdfFileReader(BytesIO(data))
    last = reader.embedded_signatures[-1]
    start, length1, start2, length2 = last.byte_range
    old = f"/ByteRange [{start} {length1} {start2} {length2}]".encode()
    at = data.index(old)
    lie = f"/ByteRange [{start} {length1} {start2} {length2 - 500}]".encode()
    lie = lie[:-1] + b" " * (len(old) - len(lie)) + b"]"
    lying = data[:at] + lie + data[at + len(old) :]
    verdict = verify_package(package_with(lying), trust, received_at=RECEIVED_AT)
    assert not verdict.compliant
    assert {"BAD_SIGNATURE", "MODIFIED_AFTER_SIGNING"} & set(verdict.violations)


def test_a_recursive_object_graph(trust: TrustStore) -> None:
    def loop(writer: IncrementalPdfFileWriter) -> None:
        pages_ref = writer.root.raw_get("/Pages")
        pages = pages_ref.get_object()
        pages["/Kids"].append(pages_ref)  # the page tree contains itself
        pages["/Parent"] = pages_ref
        field = generic.DictionaryObject({generic.pdf_name("/FT"): generic.pdf_name("/Sig")})
        field_ref = writer.add_object(field)
        field["/Kids"] = generic.ArrayObject([field_ref])  # so does the form field
        field["/Parent"] = field_ref
        writer.root["/AcroForm"] = generic.DictionaryObject(
            {generic.pdf_name("/Fields"): generic.ArrayObject([field_ref])}
        )
        writer.update_container(pages)
        writer.update_root()

    result = _validate(_rewrite(plain_pdf(), loop), trust)
    assert result.facts == [] or all(not f.signature_valid for f in result.facts)


def test_a_40_mb_pdf(trust: TrustStore) -> None:
    big = make_pdf(pages=1, padding_bytes=40 * 1024 * 1024)
    assert _validate(big, trust).violations == []
    assert _validate(big, trust, max_input_bytes=32 * 1024 * 1024).violations == [
        "VALIDATION_LIMIT_EXCEEDED"
    ]


def test_the_time_bound_gives_validation_limit_exceeded(
    official: IssuedCertificate, org: IssuedCertificate, trust: TrustStore
) -> None:
    result = _validate(signed_pdf(official, org), trust, max_seconds=0.000001)
    assert result.violations == ["VALIDATION_LIMIT_EXCEEDED"]


def test_an_ecdsa_signature_whose_cms_names_rsa(
    ca: CertificateAuthority, trust: TrustStore
) -> None:
    """pyHanko 0.38 asserts on this instead of failing cleanly: BAD_SIGNATURE, not an exception."""
    start = SIGNED_AT - dt.timedelta(days=1)
    official = ca.issue("official", SENDER, "Nguyễn Văn A", not_before=start)
    org = ca.issue("organization", SENDER, "UBND", not_before=start)
    data = signed_pdf(official, org)
    embedded = PdfFileReader(BytesIO(data)).embedded_signatures[0]
    content = cms.ContentInfo.load(embedded.pkcs7_content)
    signer_info = content["content"]["signer_infos"][0]
    signer_info["signature_algorithm"] = {"algorithm": "sha256_rsa"}
    attrs = [
        a for a in signer_info["signed_attrs"] if a["type"].native != "cms_algorithm_protection"
    ]
    signer_info["signed_attrs"] = attrs
    new_hex = content.dump(force=True).hex().encode()
    _, length1, start2, _ = embedded.byte_range
    slot = start2 - length1 - 2
    assert len(new_hex) <= slot
    forged = data[: length1 + 1] + new_hex.ljust(slot, b"0") + data[start2 - 1 :]
    verdict = verify_package(package_with(forged), trust, received_at=RECEIVED_AT)
    assert "BAD_SIGNATURE" in verdict.violations
    assert verdict.signatures[0].alg == "RS256" and verdict.signatures[0].key_type == "EC"
    assert not verdict.signatures[0].signature_valid
