"""A national CA for the whole session, and helpers to make real packages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from signing.package import Package, new_package
from signing.pades.document import make_pdf
from signing.pki import CertificateAuthority, IssuedCertificate
from signing.sign import sign_package
from signing.trust import TrustStore
from signing.workdays import VIETNAM_TZ

SENDER = "000.00.00.H26"
RECIPIENT = "000.00.00.G22"
# A Wednesday morning in Hanoi: the next working day is Thursday.
SIGNED_AT = dt.datetime(2025, 3, 12, 9, 0, tzinfo=VIETNAM_TZ)
RECEIVED_AT = SIGNED_AT + dt.timedelta(hours=1)
HEADER: dict[str, Any] = {
    "code": {"number": "274", "notation": "QĐ-UBND"},
    "promulgation": {"place": "Thái Bình", "date": "2025-03-12"},
    "type": "QD",
    "subject": "Về việc ban hành quy chế",
    "signer": {"name": "Nguyễn Văn A", "position": "Chủ tịch", "competence": "TM. UBND"},
    "priority": 0,
    "due_date": None,
    "steering_type": 1,
    "business": {"type": 0, "document_id": None},
}
ATTACHMENT = ("qd274.pdf", "application/pdf", make_pdf(pages=1))


@pytest.fixture(scope="session")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    # Backdated so that certificates which expired long ago still chain to it.
    return CertificateAuthority.init(
        tmp_path_factory.mktemp("ca"),
        not_before=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
        days=20 * 365,
    )


@pytest.fixture(scope="session")
def org(ca: CertificateAuthority) -> IssuedCertificate:
    return ca.issue(
        "organization", SENDER, "UBND tỉnh Thái Bình", not_before=SIGNED_AT - dt.timedelta(days=30)
    )


@pytest.fixture(scope="session")
def official(ca: CertificateAuthority) -> IssuedCertificate:
    return ca.issue(
        "official",
        SENDER,
        "Nguyễn Văn A",
        title="Chủ tịch",
        organization_name="UBND tỉnh Thái Bình",
        not_before=SIGNED_AT - dt.timedelta(days=30),
    )


@pytest.fixture
def trust(ca: CertificateAuthority) -> TrustStore:
    return TrustStore([ca.certificate], [ca.crl()])


@pytest.fixture
def unsigned() -> Package:
    return new_package(SENDER, [RECIPIENT], HEADER, [ATTACHMENT])


SignBoth = Callable[..., Package]


@pytest.fixture
def sign_both(unsigned: Package, official: IssuedCertificate, org: IssuedCertificate) -> SignBoth:
    """Sign `unsigned` by an official and then an organisation (each replaceable)."""

    def make(
        personal: IssuedCertificate | None = official,
        organization: IssuedCertificate | None = org,
        at: dt.datetime | str = SIGNED_AT,
        pkg: Package | None = None,
        **org_options: Any,
    ) -> Package:
        result = pkg or unsigned
        if personal is not None:
            result = sign_package(result, personal.key, personal.full_chain, "personal", at)
        if organization is not None:
            result = sign_package(
                result, organization.key, organization.full_chain, "organization", at, **org_options
            )
        return result

    return make


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
