"""The working-day calendar behind LATE_DISPATCH (Vietnam time, Monday to Friday).

Public holidays go in `HOLIDAYS`; the fixed-date ones are listed, the lunar
ones (Tết, Hùng Kings' day) change every year and are added per year.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

VIETNAM_TZ = dt.timezone(dt.timedelta(hours=7), "ICT")

FIXED_HOLIDAYS: frozenset[tuple[int, int]] = frozenset({(1, 1), (4, 30), (5, 1), (9, 2)})
HOLIDAYS: set[dt.date] = set()  # dated holidays, e.g. Tết of a given year


def is_working_day(day: dt.date, holidays: Collection[dt.date] | None = None) -> bool:
    if day.weekday() >= 5 or (day.month, day.day) in FIXED_HOLIDAYS:
        return False
    return day not in (HOLIDAYS if holidays is None else holidays)


def next_working_day(day: dt.date, holidays: Collection[dt.date] | None = None) -> dt.date:
    """The first working day strictly after `day`."""
    candidate = day + dt.timedelta(days=1)
    while not is_working_day(candidate, holidays):
        candidate += dt.timedelta(days=1)
    return candidate


def dispatch_deadline(
    signed_at: dt.datetime, holidays: Collection[dt.date] | None = None
) -> dt.datetime:
    """The instant a document signed at `signed_at` becomes late: the end of the
    next working day after the signing day, in Vietnam time (exclusive bound)."""
    signing_day = signed_at.astimezone(VIETNAM_TZ).date()
    last_day = next_working_day(signing_day, holidays)
    return dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), VIETNAM_TZ)
