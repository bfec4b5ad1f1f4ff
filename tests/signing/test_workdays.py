"""The working-day calendar behind LATE_DISPATCH: Vietnam's holidays (Tết included) and
the government's announced changes, judged on real signed packages."""

from __future__ import annotations

import datetime as dt

import pytest

from signing.pki import CertificateAuthority, IssuedCertificate
from signing.trust import TrustStore
from signing.verify import verify_package
from signing.workdays import (
    CalendarFileError,
    WorkCalendar,
    dispatch_deadline,
    is_working_day,
    next_working_day,
)
from tests.signing.conftest import SENDER, SignBoth

ICT = dt.timezone(dt.timedelta(hours=7))


@pytest.fixture(scope="module")
def signers(ca: CertificateAuthority) -> tuple[IssuedCertificate, IssuedCertificate]:
    since = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
    official = ca.issue(
        "official", SENDER, "Nguyễn Văn A", title="Chủ tịch", not_before=since, days=5 * 365
    )
    org = ca.issue("organization", SENDER, "UBND tỉnh Thái Bình", not_before=since, days=5 * 365)
    return official, org


def late(
    sign_both: SignBoth,
    signers: tuple[IssuedCertificate, IssuedCertificate],
    trust: TrustStore,
    signed: dt.datetime,
    received: dt.datetime,
    calendar: WorkCalendar | None = None,
) -> bool:
    official, org = signers
    pkg = sign_both(personal=official, organization=org, at=signed)
    verdict = verify_package(pkg, trust, received_at=received, holidays=calendar)
    assert set(verdict.violations) <= {"LATE_DISPATCH"}
    return "LATE_DISPATCH" in verdict.violations


def test_signed_on_the_eve_of_tet_and_sent_after_it_is_not_late(
    sign_both: SignBoth,
    signers: tuple[IssuedCertificate, IssuedCertificate],
    trust: TrustStore,
) -> None:
    # Tết Ất Tỵ: the break ran from Monday 27 January to Sunday 2 February 2025
    friday_evening = dt.datetime(2025, 1, 24, 17, 30, tzinfo=ICT)
    first_day_back = dt.datetime(2025, 2, 3, 16, 0, tzinfo=ICT)
    day_after = dt.datetime(2025, 2, 4, 9, 0, tzinfo=ICT)
    assert not late(sign_both, signers, trust, friday_evening, first_day_back)
    assert late(sign_both, signers, trust, friday_evening, day_after)


def test_tet_days_are_days_off() -> None:
    tet_2025 = [dt.date(2025, 1, 27) + dt.timedelta(days=n) for n in range(5)]
    assert not any(is_working_day(day) for day in tet_2025)
    assert next_working_day(dt.date(2025, 1, 24)) == dt.date(2025, 2, 3)
    assert next_working_day(dt.date(2026, 2, 13)) == dt.date(2026, 2, 23)


def test_an_announced_extra_day_off_extends_the_deadline(
    sign_both: SignBoth,
    signers: tuple[IssuedCertificate, IssuedCertificate],
    trust: TrustStore,
) -> None:
    friday = dt.datetime(2026, 2, 13, 10, 0, tzinfo=ICT)
    tuesday = dt.datetime(2026, 2, 24, 10, 0, tzinfo=ICT)
    assert late(sign_both, signers, trust, friday, tuesday)
    announced = WorkCalendar.parse("2026-02-23 off  # one more day of Tết Bính Ngọ\n")
    assert not late(sign_both, signers, trust, friday, tuesday, announced)


def test_a_saturday_worked_in_a_swap_is_a_working_day(
    sign_both: SignBoth,
    signers: tuple[IssuedCertificate, IssuedCertificate],
    trust: TrustStore,
) -> None:
    # 2024: Saturday 4 May was worked in exchange for Monday 29 April off
    assert is_working_day(dt.date(2024, 5, 4)) and not is_working_day(dt.date(2024, 4, 29))
    friday = dt.datetime(2024, 5, 3, 9, 0, tzinfo=ICT)
    monday = dt.datetime(2024, 5, 6, 9, 0, tzinfo=ICT)
    assert late(sign_both, signers, trust, friday, monday)
    # a swap the package does not know, announced by the operator
    saturday = dt.date(2025, 3, 15)
    assert not is_working_day(saturday)
    assert is_working_day(saturday, WorkCalendar.parse(f"{saturday} work swap\n"))


def test_bare_dates_are_extra_days_off() -> None:
    wednesday = dt.date(2025, 3, 12)
    assert next_working_day(wednesday, [dt.date(2025, 3, 13)]) == dt.date(2025, 3, 14)
    deadline = dispatch_deadline(dt.datetime(2025, 3, 12, 9, 0, tzinfo=ICT))
    assert deadline == dt.datetime(2025, 3, 14, 0, 0, tzinfo=ICT)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2025-01-27\n", "line 1"),
        ("# a comment\n2025-13-01 off\n", "line 2: '2025-13-01' is not a date"),
        ("2025-01-27 holiday\n", "off|work"),
        ("2025-01-27 off\n2025-01-27 work\n", "both"),
    ],
)
def test_a_bad_announcements_file_is_refused_by_line(text: str, message: str) -> None:
    with pytest.raises(CalendarFileError, match=message):
        WorkCalendar.parse(text)


def test_the_file_format() -> None:
    calendar = WorkCalendar.parse(
        "# date       kind  note\n"
        "2025-01-27   off   Tết Ất Tỵ\n"
        "\n"
        "2023-01-07   work  Saturday worked   # for 2023-01-02\n"
    )
    assert calendar.days_off == {dt.date(2025, 1, 27)}
    assert calendar.working_days == {dt.date(2023, 1, 7)}
