"""Every violation code, each from a real package made for it; and a compliant package."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from signing.package import Package, package_json, parse_package
from signing.pki import CertificateAuthority, IssuedCertificate
from signing.sign import sign_package
from signing.trust import TrustStore
from signing.verify import verify_package
from tests.signing.conftest import RECEIVED_AT, SENDER, SIGNED_AT, SignBoth


def violations(
    pkg: Package, trust: TrustStore, received_at: dt.datetime = RECEIVED_AT
) -> list[str]:
    return verify_package(pkg, trust, received_at=received_at).violations


def test_compliant_package_has_no_violation(sign_both: SignBoth, trust: TrustStore) -> None:
    verdict = verify_package(sign_both(), trust, received_at=RECEIVED_AT)
    assert verdict.compliant
    assert verdict.violations == []
    assert [f.kind for f in verdict.signatures] == ["personal", "organization"]
    assert all(f.signature_valid and f.chain_trusted for f in verdict.signatures)
    assert verdict.signatures[1].follows_personal is True
    assert verdict.signatures[0].agency_code == SENDER


def test_compliant_after_a_round_trip_through_json(sign_both: SignBoth, trust: TrustStore) -> None:
    assert violations(parse_package(package_json(sign_both())), trust) == []


def test_unsigned_stands_alone(unsigned: Package, trust: TrustStore) -> None:
    assert violations(unsigned, trust) == ["UNSIGNED"]


def test_no_personal_signature(sign_both: SignBoth, trust: TrustStore) -> None:
    assert violations(sign_both(personal=None), trust) == ["NO_PERSONAL_SIGNATURE"]


def test_no_organization_signature(sign_both: SignBoth, trust: TrustStore) -> None:
    assert violations(sign_both(organization=None), trust) == ["NO_ORGANIZATION_SIGNATURE"]


def test_changed_header_is_bad_signature(sign_both: SignBoth, trust: TrustStore) -> None:
    data = json.loads(package_json(sign_both()))
    data["header"]["subject"] = "Về việc bãi bỏ quy chế"
    assert violations(parse_package(data), trust) == ["BAD_SIGNATURE"]


def test_attachment_changed_after_signing_is_bad_signature(
    sign_both: SignBoth, trust: TrustStore
) -> None:
    data = json.loads(package_json(sign_both()))
    data["attachments"][0]["content"] = "QUJD"  # "ABC": neither the signed size nor digest
    verdict = verify_package(parse_package(data), trust, received_at=RECEIVED_AT)
    assert verdict.violations == ["BAD_SIGNATURE"]
    assert not verdict.attachments_intact
    # The signatures themselves still verify: it is the content that was altered.
    assert all(f.signature_valid for f in verdict.signatures)


def test_certificate_from_another_ca_is_untrusted(
    sign_both: SignBoth, tmp_path: Path, trust: TrustStore
) -> None:
    rogue = CertificateAuthority.init(tmp_path, not_before=SIGNED_AT - dt.timedelta(days=365))
    forged_org = rogue.issue(
        "organization", SENDER, "UBND tỉnh Thái Bình", not_before=SIGNED_AT - dt.timedelta(days=1)
    )
    assert violations(sign_both(organization=forged_org), trust) == ["UNTRUSTED_CERTIFICATE"]


@pytest.mark.parametrize(
    ("start", "days"),
    [
        (SIGNED_AT - dt.timedelta(days=400), 30),  # expired before signing
        (SIGNED_AT + dt.timedelta(days=2), 365),  # not yet valid at signing
    ],
    ids=["expired", "not-yet-valid"],
)
def test_certificate_not_valid_at_signing_time(
    ca: CertificateAuthority,
    sign_both: SignBoth,
    trust: TrustStore,
    start: dt.datetime,
    days: int,
) -> None:
    stale = ca.issue("organization", SENDER, "UBND tỉnh Thái Bình", not_before=start, days=days)
    assert violations(sign_both(organization=stale), trust) == ["CERTIFICATE_EXPIRED"]


def test_revoked_before_signing(ca: CertificateAuthority, sign_both: SignBoth) -> None:
    official = ca.issue(
        "official", SENDER, "Trần Văn B", not_before=SIGNED_AT - dt.timedelta(days=10)
    )
    ca.revoke(official.cert, "key_compromise", at=SIGNED_AT - dt.timedelta(days=1))
    trust = TrustStore([ca.certificate], [ca.crl()])
    verdict = verify_package(sign_both(personal=official), trust, received_at=RECEIVED_AT)
    assert verdict.violations == ["CERTIFICATE_REVOKED"]
    assert verdict.signatures[0].revocation_reason == "keyCompromise"


def test_revoked_after_signing_is_still_valid(
    ca: CertificateAuthority, sign_both: SignBoth
) -> None:
    official = ca.issue(
        "official", SENDER, "Lê Thị C", not_before=SIGNED_AT - dt.timedelta(days=10)
    )
    ca.revoke(official.cert, "superseded", at=SIGNED_AT + dt.timedelta(days=1))
    trust = TrustStore([ca.certificate], [ca.crl()])
    assert violations(sign_both(personal=official), trust) == []


def test_organization_certificate_of_another_agency(
    ca: CertificateAuthority, sign_both: SignBoth, trust: TrustStore
) -> None:
    other = ca.issue(
        "organization",
        "000.00.00.H49",
        "UBND tỉnh Quảng Ninh",
        not_before=SIGNED_AT - dt.timedelta(days=1),
    )
    assert violations(sign_both(organization=other), trust) == ["ORGANIZATION_MISMATCH"]


def test_official_of_another_agency(
    ca: CertificateAuthority, sign_both: SignBoth, trust: TrustStore
) -> None:
    other = ca.issue(
        "official", "000.00.00.H49", "Phạm Văn D", not_before=SIGNED_AT - dt.timedelta(days=1)
    )
    assert violations(sign_both(personal=other), trust) == ["SIGNER_NOT_OF_SENDER"]


def test_official_certificate_used_as_organization_signature(
    sign_both: SignBoth, official: IssuedCertificate, trust: TrustStore
) -> None:
    assert violations(sign_both(organization=official), trust) == ["ORGANIZATION_MISMATCH"]


def test_organization_signature_without_prev_is_wrong_order(
    sign_both: SignBoth, trust: TrustStore
) -> None:
    assert violations(sign_both(link_personal=False), trust) == ["WRONG_ORDER"]


def test_organization_signing_before_the_official_is_wrong_order(
    trust: TrustStore, sign_both: SignBoth
) -> None:
    org_first = sign_both(personal=None)
    both = sign_both(pkg=org_first, organization=None)
    assert violations(both, trust) == ["WRONG_ORDER"]


def test_organization_signature_dated_before_the_personal_one(
    sign_both: SignBoth, trust: TrustStore
) -> None:
    personal_only = sign_both(organization=None, at=SIGNED_AT + dt.timedelta(minutes=30))
    both = sign_both(personal=None, pkg=personal_only, at=SIGNED_AT)
    assert violations(both, trust) == ["WRONG_ORDER"]


@pytest.mark.parametrize("key_type", ["rsa1024", "ec192"])
def test_weak_keys(
    ca: CertificateAuthority, sign_both: SignBoth, trust: TrustStore, key_type: str
) -> None:
    weak = ca.issue(
        "organization",
        SENDER,
        "UBND tỉnh Thái Bình",
        key_type=key_type,  # type: ignore[arg-type]
        not_before=SIGNED_AT - dt.timedelta(days=1),
    )
    verdict = verify_package(sign_both(organization=weak), trust, received_at=RECEIVED_AT)
    assert verdict.violations == ["WEAK_ALGORITHM"]
    assert verdict.signatures[1].signature_valid  # weak, not forged


def test_rsa2048_is_not_weak(
    ca: CertificateAuthority, sign_both: SignBoth, trust: TrustStore
) -> None:
    rsa = ca.issue(
        "organization",
        SENDER,
        "UBND",
        key_type="rsa2048",
        not_before=SIGNED_AT - dt.timedelta(days=1),
    )
    verdict = verify_package(sign_both(organization=rsa), trust, received_at=RECEIVED_AT)
    assert verdict.violations == []
    assert verdict.signatures[1].alg == "PS256"


@pytest.mark.parametrize(
    "sig_t",
    [
        "2025-03-12T02:00:00Z",  # not in Vietnam time
        "2025-03-12T09:00:00",  # no offset at all
        "12/03/2025 09:00",  # not RFC 3339
        (RECEIVED_AT + dt.timedelta(hours=1)).isoformat(),  # after the hub received it
    ],
)
def test_bad_signing_time(sign_both: SignBoth, trust: TrustStore, sig_t: str) -> None:
    assert "BAD_SIGNING_TIME" in violations(sign_both(organization=None, at=sig_t), trust)
    assert violations(sign_both(at=sig_t), trust)[-1:] in (["BAD_SIGNING_TIME"], ["LATE_DISPATCH"])


def test_missing_signing_time(sign_both: SignBoth, trust: TrustStore) -> None:
    pkg = sign_both(organization=None)
    pkg = sign_both(personal=None, pkg=pkg, header_overrides={"sigT": None})
    assert violations(pkg, trust) == ["BAD_SIGNING_TIME"]


def test_small_clock_skew_is_allowed(sign_both: SignBoth, trust: TrustStore) -> None:
    pkg = sign_both(at=RECEIVED_AT + dt.timedelta(minutes=3))
    assert violations(pkg, trust) == []
    strict = verify_package(pkg, trust, received_at=RECEIVED_AT, clock_skew=dt.timedelta(0))
    assert strict.violations == ["BAD_SIGNING_TIME"]


@pytest.mark.parametrize(
    ("received", "late"),
    [
        (dt.datetime(2025, 3, 13, 23, 59, tzinfo=SIGNED_AT.tzinfo), False),  # Thursday night
        (dt.datetime(2025, 3, 14, 0, 1, tzinfo=SIGNED_AT.tzinfo), True),  # Friday
    ],
)
def test_late_dispatch(
    sign_both: SignBoth, trust: TrustStore, received: dt.datetime, late: bool
) -> None:
    assert violations(sign_both(), trust, received) == (["LATE_DISPATCH"] if late else [])


@pytest.mark.parametrize(
    ("received", "late"),
    [
        (dt.datetime(2025, 3, 13, 23, 59, 59, tzinfo=SIGNED_AT.tzinfo), False),
        (dt.datetime(2025, 3, 14, 0, 0, 0, tzinfo=SIGNED_AT.tzinfo), True),
    ],
)
def test_signed_late_in_the_evening(
    sign_both: SignBoth, trust: TrustStore, received: dt.datetime, late: bool
) -> None:
    wednesday_night = dt.datetime(2025, 3, 12, 23, 30, tzinfo=SIGNED_AT.tzinfo)
    expected = ["LATE_DISPATCH"] if late else []
    assert violations(sign_both(at=wednesday_night), trust, received) == expected


def test_signed_on_friday_may_be_sent_on_monday(sign_both: SignBoth, trust: TrustStore) -> None:
    friday = dt.datetime(2025, 3, 14, 17, 0, tzinfo=SIGNED_AT.tzinfo)
    monday_evening = dt.datetime(2025, 3, 17, 22, 0, tzinfo=SIGNED_AT.tzinfo)
    tuesday = dt.datetime(2025, 3, 18, 8, 0, tzinfo=SIGNED_AT.tzinfo)
    assert violations(sign_both(at=friday), trust, monday_evening) == []
    assert violations(sign_both(at=friday), trust, tuesday) == ["LATE_DISPATCH"]


def test_sender_parameter_overrides_the_package_sender(
    sign_both: SignBoth, trust: TrustStore
) -> None:
    verdict = verify_package(sign_both(), trust, received_at=RECEIVED_AT, sender="000.00.00.H49")
    assert verdict.violations == ["ORGANIZATION_MISMATCH", "SIGNER_NOT_OF_SENDER"]


def test_signature_by_another_key_than_its_certificate(
    ca: CertificateAuthority, sign_both: SignBoth, trust: TrustStore
) -> None:
    official = sign_both(organization=None)
    impostor = ca.issue("organization", SENDER, "UBND", not_before=SIGNED_AT - dt.timedelta(days=1))
    genuine = ca.issue("organization", SENDER, "UBND", not_before=SIGNED_AT - dt.timedelta(days=1))
    # The impostor's key, presenting the genuine organisation's certificate.
    forged = sign_package(official, impostor.key, genuine.full_chain, "organization", SIGNED_AT)
    assert violations(forged, trust) == ["BAD_SIGNATURE"]
