"""PAdES: the official signs the PDF, the organisation seals it; one rule over PDF and envelope."""

from __future__ import annotations

from io import BytesIO

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from signing.compliance import SignatureFacts, judge
from signing.package import new_package
from signing.pades.signature import pdf_date_to_rfc3339
from signing.pades.validate import validate_pdf
from signing.pki import CertificateAuthority, IssuedCertificate
from signing.trust import TrustStore
from signing.verify import principal_pdf, verify_package
from tests.signing.conftest import HEADER, RECEIVED_AT, RECIPIENT, SENDER, SIGNED_AT
from tests.signing.pades_helpers import package_with, pdf_then, plain_pdf, signed_pdf


def test_both_signatures_in_the_pdf_are_compliant(
    official: IssuedCertificate, org: IssuedCertificate, trust: TrustStore
) -> None:
    verdict = verify_package(
        package_with(signed_pdf(official, org)), trust, received_at=RECEIVED_AT
    )
    assert verdict.violations == []
    assert verdict.compliant
    personal, seal = verdict.signatures
    assert (personal.format, personal.source, personal.kind) == (
        "pades",
        "attachment:0",
        "personal",
    )
    assert (seal.kind, seal.follows_personal) == ("organization", True)
    assert personal.revision is not None and seal.revision is not None
    assert seal.revision > personal.revision
    assert personal.signing_time == "2025-03-12T09:00:00+07:00"
    assert personal.alg == "ES256" and personal.chain_trusted and personal.signature_valid


@pytest.mark.parametrize("key_type", ["rsa2048", "rsa3072", "ec384"])
def test_rsa_and_other_curves_sign_and_verify(
    ca: CertificateAuthority, org: IssuedCertificate, trust: TrustStore, key_type: str
) -> None:
    person = ca.issue(
        "official",
        SENDER,
        "Trần Thị B",
        key_type=key_type,  # type: ignore[arg-type]
        not_before=SIGNED_AT.replace(year=2024),
    )
    verdict = verify_package(package_with(signed_pdf(person, org)), trust, received_at=RECEIVED_AT)
    assert verdict.compliant, verdict.violations
    assert verdict.signatures[0].alg == {"rsa2048": "RS256", "rsa3072": "RS256"}.get(
        key_type, "ES256"
    )


def test_visible_signatures_verify(
    official: IssuedCertificate, org: IssuedCertificate, trust: TrustStore
) -> None:
    pdf = signed_pdf(official, org, visible=True)
    assert pdf.count(b"/Subtype /Widget") >= 2
    assert verify_package(package_with(pdf), trust, received_at=RECEIVED_AT).compliant


def test_official_in_the_pdf_and_organisation_on_the_envelope(
    official: IssuedCertificate, org: IssuedCertificate, trust: TrustStore
) -> None:
    pkg = package_with(signed_pdf(official, None), org=org)
    verdict = verify_package(pkg, trust, received_at=RECEIVED_AT)
    assert verdict.violations == []
    assert [(f.format, f.source, f.kind) for f in verdict.signatures] == [
        ("jws", "envelope", "organization"),
        ("pades", "attachment:0", "personal"),
    ]


def test_envelope_signatures_over_an_unsigned_pdf_are_compliant(
    official: IssuedCertificate, org: IssuedCertificate, trust: TrustStore
) -> None:
    pkg = package_with(plain_pdf(), official=official, org=org)
    assert verify_package(pkg, trust, received_at=RECEIVED_AT).violations == []


def test_seal_before_the_official_in_the_pdf_is_wrong_order(
    official: IssuedCertificate, org: IssuedCertificate, trust: TrustStore
) -> None:
    pdf = pdf_then(pdf_then(plain_pdf(), org, "organization"), official, "personal")
    verdict = verify_package(package_with(pdf), trust, received_at=RECEIVED_AT)
    assert verdict.violations == ["WRONG_ORDER"]


def test_seal_in_the_pdf_with_the_official_only_on_the_envelope_is_wrong_order(
    official: IssuedCertificate, org: IssuedCertificate, trust: TrustStore
) -> None:
    pkg = package_with(signed_pdf(None, org), official=official)
    assert verify_package(pkg, trust, received_at=RECEIVED_AT).violations == ["WRONG_ORDER"]


def test_only_the_official_in_the_pdf_lacks_the_organisation(
    official: IssuedCertificate, trust: TrustStore
) -> None:
    verdict = verify_package(
        package_with(signed_pdf(official, None)), trust, received_at=RECEIVED_AT
    )
    assert verdict.violations == ["NO_ORGANIZATION_SIGNATURE"]


def test_page_changed_after_signing_is_modified_after_signing(
    official: IssuedCertificate, org: IssuedCertificate, trust: TrustStore
) -> None:
    writer = IncrementalPdfFileWriter(BytesIO(signed_pdf(official, org)))
    stream = generic.StreamObject(stream_data=b"BT /F1 24 Tf 100 700 Td (Da sua) Tj ET")
    writer.add_stream_to_page(0, writer.add_object(stream))
    out = BytesIO()
    writer.write(out)
    verdict = verify_package(package_with(out.getvalue()), trust, received_at=RECEIVED_AT)
    assert verdict.violations == ["MODIFIED_AFTER_SIGNING"]
    assert all(f.modified_after_signing and f.signature_valid for f in verdict.signatures)


def test_signing_time_in_utc_is_bad_signing_time(
    official: IssuedCertificate, org: IssuedCertificate, trust: TrustStore
) -> None:
    pdf = signed_pdf(official, org, signing_time=SIGNED_AT.astimezone(__import__("datetime").UTC))
    verdict = verify_package(package_with(pdf), trust, received_at=RECEIVED_AT)
    assert verdict.violations == ["BAD_SIGNING_TIME"]
    assert verdict.signatures[0].signing_time == "2025-03-12T02:00:00Z"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("D:20250312090000+07'00'", "2025-03-12T09:00:00+07:00"),
        ("D:20250312090000+07'00", "2025-03-12T09:00:00+07:00"),
        ("D:20250312090000+0700", "2025-03-12T09:00:00+07:00"),
        ("D:20250312020000Z", "2025-03-12T02:00:00Z"),
        ("D:20250312020000Z00'00'", "2025-03-12T02:00:00Z"),
        ("D:202503120900", "D:202503120900"),
        (None, None),
    ],
)
def test_pdf_dates(raw: str | None, expected: str | None) -> None:
    assert pdf_date_to_rfc3339(raw) == expected


def test_an_unreadable_principal_pdf(
    official: IssuedCertificate, org: IssuedCertificate, trust: TrustStore
) -> None:
    pkg = package_with(b"%PDF-1.7 quyet dinh", official=official, org=org)
    verdict = verify_package(pkg, trust, received_at=RECEIVED_AT)
    assert verdict.violations == ["UNREADABLE_DOCUMENT"]
    unsigned = package_with(b"not a pdf")
    assert verify_package(unsigned, trust, received_at=RECEIVED_AT).violations == [
        "UNSIGNED",
        "UNREADABLE_DOCUMENT",
    ]


def test_only_the_first_pdf_is_the_principal_one(
    official: IssuedCertificate, org: IssuedCertificate, trust: TrustStore
) -> None:
    pkg = new_package(
        SENDER,
        [RECIPIENT],
        HEADER,
        [
            ("note.txt", "text/plain", b"ghi chu"),
            ("qd.pdf", "application/pdf", signed_pdf(official, org)),
            ("phu-luc.pdf", "Application/PDF", b"not opened: an appendix"),
        ],
    )
    assert principal_pdf(pkg) is not None and principal_pdf(pkg)[0] == 1  # type: ignore[index]
    verdict = verify_package(pkg, trust, received_at=RECEIVED_AT)
    assert verdict.compliant
    assert {f.source for f in verdict.signatures} == {"attachment:1"}


def test_a_signature_by_an_untrusted_ca_is_untrusted(
    tmp_path: object, official: IssuedCertificate, org: IssuedCertificate, trust: TrustStore
) -> None:
    import pathlib

    other = CertificateAuthority.init(pathlib.Path(str(tmp_path)) / "other")
    stranger = other.issue("official", SENDER, "Giả mạo")
    pdf = pdf_then(pdf_then(plain_pdf(), stranger, "personal"), org, "organization")
    verdict = verify_package(package_with(pdf), trust, received_at=RECEIVED_AT)
    assert verdict.violations == ["UNTRUSTED_CERTIFICATE"]


def test_validation_reports_the_revisions(
    official: IssuedCertificate, org: IssuedCertificate, trust: TrustStore
) -> None:
    result = validate_pdf(signed_pdf(official, org), trust, received_at=RECEIVED_AT, attachment=3)
    assert result.revisions == 3 and result.violations == []
    assert [f.source for f in result.facts] == ["attachment:3", "attachment:3"]
    assert [f.index for f in result.facts] == [0, 1]


def _fact(**values: object) -> SignatureFacts:
    base: dict[str, object] = {
        "index": 0,
        "signature_valid": True,
        "chain_trusted": True,
        "valid_at_signing_time": True,
        "revoked_at_signing_time": False,
        "alg": "ES256",
        "key_type": "EC",
        "key_size": 256,
        "signing_time": SIGNED_AT.isoformat(),
        "agency_code": SENDER,
    }
    return SignatureFacts.model_validate(base | values)


def test_an_envelope_xmldsig_seal_over_a_pdf_signature_needs_no_change_to_the_rule() -> None:
    personal = _fact(
        format="pades", source="attachment:0", kind="personal", certificate_kind="official"
    )
    seal = _fact(
        format="xmldsig", source="envelope", kind="organization", certificate_kind="organization"
    )
    assert judge([personal, seal], sender=SENDER, received_at=RECEIVED_AT) == []
    envelope_personal = personal.model_copy(update={"source": "envelope", "format": "jws"})
    assert [
        v.value for v in judge([envelope_personal, seal], sender=SENDER, received_at=RECEIVED_AT)
    ] == ["WRONG_ORDER"]
