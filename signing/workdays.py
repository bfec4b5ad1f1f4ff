"""The working-day calendar behind LATE_DISPATCH (Vietnam time).

A working day is Monday to Friday, less Vietnam's public holidays as the
`holidays` package knows them (New Year, Tết, the Hùng Kings' day, 30 April,
1 May, National Day, days off in lieu, and the announced Tết breaks and
swapped Saturdays of the years it has data for), with the government's own
announcements on top: each year it announces the exact Tết break and swaps
(a Saturday worked in exchange for a bridge day off), and the package may
not have them yet. Those come from a `WorkCalendar` built from a short text
file the operator keeps (`WorkCalendar.parse`):

    # date        kind   note (optional)
    2025-01-27    off    Tết Ất Tỵ, announced break
    2025-01-31    off
    2023-01-07    work   Saturday worked in exchange for 2023-01-02

`off` makes a day a day off, `work` a working day (even on a weekend);
announcements win over the package. The package is imported on first use (it
is large), and each year's holidays are computed once per process.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import TypeAlias

VIETNAM_TZ = dt.timezone(dt.timedelta(hours=7), "ICT")

FIXED_HOLIDAYS: frozenset[tuple[int, int]] = frozenset({(1, 1), (4, 30), (5, 1), (9, 2)})
"""Always days off, whatever the package says (its data for far years may be missing)."""

_PACKAGE_LOCK = threading.Lock()


class CalendarFileError(ValueError):
    """A line of a working-day file that is not `YYYY-MM-DD off|work [note]`."""


@functools.lru_cache(maxsize=64)
def public_holidays(year: int) -> tuple[frozenset[dt.date], frozenset[dt.date]]:
    """Vietnam's days off of `year` and its weekend days worked in exchange for a bridge
    day off (`weekend_workdays`), as far as the `holidays` package knows them."""
    # The package fills its per-country dict lazily; one thread at a time builds a year.
    with _PACKAGE_LOCK:
        import holidays

        days = holidays.country_holidays("VN", years=year)
        off = frozenset(day for day in days if day.year == year)
        worked = frozenset(
            day for day in getattr(days, "weekend_workdays", ()) or () if day.year == year
        )
        return off, worked


class WorkCalendar:
    """Vietnam's working days, with the government's announced changes (`days_off`,
    `working_days`) over the package's public holidays and the weekend."""

    def __init__(
        self, days_off: Iterable[dt.date] = (), working_days: Iterable[dt.date] = ()
    ) -> None:
        self.days_off = frozenset(days_off)
        self.working_days = frozenset(working_days)
        both = self.days_off & self.working_days
        if both:
            raise CalendarFileError(
                f"{min(both)} is both a day off and a working day in the announcements"
            )

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.working_days:
            return True
        if day in self.days_off or (day.month, day.day) in FIXED_HOLIDAYS:
            return False
        off, worked = public_holidays(day.year)
        if day in off:
            return False
        return day.weekday() < 5 or day in worked

    @classmethod
    def parse(cls, text: str) -> WorkCalendar:
        """A calendar from the announcements file's text (see the module's docstring)."""
        off: list[dt.date] = []
        work: list[dt.date] = []
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split(maxsplit=2)
            if len(parts) < 2 or parts[1] not in {"off", "work"}:
                raise CalendarFileError(f"line {number}: expected 'YYYY-MM-DD off|work [note]'")
            try:
                day = dt.date.fromisoformat(parts[0])
            except ValueError:
                raise CalendarFileError(f"line {number}: {parts[0]!r} is not a date") from None
            (off if parts[1] == "off" else work).append(day)
        return cls(off, work)

    @classmethod
    def load(cls, path: Path) -> WorkCalendar:
        return cls.parse(path.read_text(encoding="utf-8"))

    def __repr__(self) -> str:
        return f"WorkCalendar({len(self.days_off)} days off, {len(self.working_days)} worked)"


DEFAULT_CALENDAR = WorkCalendar()
"""The package's holidays and the weekend, no announcements."""

Holidays: TypeAlias = WorkCalendar | Collection[dt.date]
"""What the verification functions take as `holidays=`: a calendar, or bare extra days off."""


def calendar_of(holidays: Holidays | None) -> WorkCalendar:
    if holidays is None:
        return DEFAULT_CALENDAR
    if isinstance(holidays, WorkCalendar):
        return holidays
    return WorkCalendar(days_off=holidays)


def is_working_day(day: dt.date, holidays: Holidays | None = None) -> bool:
    return calendar_of(holidays).is_working_day(day)


def next_working_day(day: dt.date, holidays: Holidays | None = None) -> dt.date:
    """The first working day strictly after `day`."""
    calendar = calendar_of(holidays)
    candidate = day + dt.timedelta(days=1)
    while not calendar.is_working_day(candidate):
        candidate += dt.timedelta(days=1)
    return candidate


def dispatch_deadline(signed_at: dt.datetime, holidays: Holidays | None = None) -> dt.datetime:
    """The instant a document signed at `signed_at` becomes late: the end of the
    next working day after the signing day, in Vietnam time (exclusive bound)."""
    signing_day = signed_at.astimezone(VIETNAM_TZ).date()
    last_day = next_working_day(signing_day, holidays)
    return dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), VIETNAM_TZ)
