"""Splitting a report's window into whole years, whole months and single days.

The counters exist at each grain, so a window is read as a handful of index
ranges: `[2024-12-30, 2026-02-03]` is two days of December 2024, the year
2025, January 2026 and three days of February 2026. An open end reaches
as far as the years go.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from hub.reports.models import Grain

_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Piece:
    """Counters of `grain` whose first day lies in [first, last]; None is an open end."""

    grain: Grain
    first: date | None
    last: date | None


def _next_month(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def _whole_months(lo: date, hi: date) -> list[Piece]:
    start = lo if lo.day == 1 else _next_month(lo)
    after = _next_month(hi) if _next_month(hi) - _DAY == hi else hi.replace(day=1)
    if start >= after:
        return [Piece(Grain.DAY, lo, hi)]
    pieces = [Piece(Grain.MONTH, start, after - _DAY)]
    if lo < start:
        pieces.append(Piece(Grain.DAY, lo, start - _DAY))
    if after <= hi:
        pieces.append(Piece(Grain.DAY, after, hi))
    return pieces


def split_window(since: date | None, until: date | None) -> list[Piece]:
    """The pieces that cover exactly the days of [since, until] (inclusive, None is open)."""
    if any(
        end is not None and end.year in (date.min.year, date.max.year) for end in (since, until)
    ):
        return [Piece(Grain.DAY, since, until)]  # at the calendar's edges: days, no overflow
    first_year = None if since is None else since.year + (since != date(since.year, 1, 1))
    last_year = None if until is None else until.year - (until != date(until.year, 12, 31))
    if first_year is not None and last_year is not None and first_year > last_year:
        assert since is not None and until is not None
        return _whole_months(since, until) if since <= until else []
    pieces = [
        Piece(
            Grain.YEAR,
            None if first_year is None else date(first_year, 1, 1),
            None if last_year is None else date(last_year, 1, 1),
        )
    ]
    if since is not None and first_year is not None and since < date(first_year, 1, 1):
        pieces += _whole_months(since, date(first_year - 1, 12, 31))
    if until is not None and last_year is not None and until > date(last_year, 12, 31):
        pieces += _whole_months(date(last_year + 1, 1, 1), until)
    return pieces
