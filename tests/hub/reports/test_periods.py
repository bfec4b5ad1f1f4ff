"""`split_window` covers every day of a window exactly once, and no day outside it."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from hub.reports.models import Grain
from hub.reports.periods import Piece, split_window


def _times_counted(pieces: list[Piece], day: date) -> int:
    """How many pieces read a counter that counts `day`."""
    firsts = {
        Grain.DAY: day,
        Grain.MONTH: day.replace(day=1),
        Grain.YEAR: date(day.year, 1, 1),
        Grain.TREND: day,
    }
    return sum(
        (p.first is None or firsts[p.grain] >= p.first)
        and (p.last is None or firsts[p.grain] <= p.last)
        for p in pieces
    )


def _windows() -> list[tuple[date | None, date | None]]:
    rng = random.Random(6)
    windows: list[tuple[date | None, date | None]] = [
        (None, None),
        (date(2025, 1, 1), date(2025, 12, 31)),
        (date(2024, 12, 31), date(2025, 1, 1)),
        (date(2025, 2, 1), date(2025, 2, 28)),
        (date(2025, 3, 5), date(2025, 3, 4)),
    ]
    for _ in range(100):
        since = date(2023, 1, 1) + timedelta(days=rng.randint(0, 1100))
        until = since + timedelta(days=rng.randint(0, 900))
        windows.append((since, until))
        windows.append((since, None) if rng.random() < 0.5 else (None, until))
    return windows


@pytest.mark.parametrize("since, until", _windows())
def test_each_day_is_counted_once_inside_and_never_outside(
    since: date | None, until: date | None
) -> None:
    pieces = split_window(since, until)
    day = date(2022, 11, 1)
    while day <= date(2027, 3, 1):
        inside = (since is None or day >= since) and (until is None or day <= until)
        assert _times_counted(pieces, day) == int(inside), (day, pieces)
        day += timedelta(days=1)


def test_a_long_window_is_a_few_pieces() -> None:
    assert split_window(date(2024, 12, 30), date(2026, 2, 3)) == [
        Piece(Grain.YEAR, date(2025, 1, 1), date(2025, 1, 1)),
        Piece(Grain.DAY, date(2024, 12, 30), date(2024, 12, 31)),
        Piece(Grain.MONTH, date(2026, 1, 1), date(2026, 1, 31)),
        Piece(Grain.DAY, date(2026, 2, 1), date(2026, 2, 3)),
    ]
    assert split_window(None, None) == [Piece(Grain.YEAR, None, None)]


def test_windows_at_the_calendar_edges_are_read_by_day() -> None:
    assert split_window(date(9999, 12, 2), None) == [Piece(Grain.DAY, date(9999, 12, 2), None)]
    assert split_window(None, date(1, 1, 30)) == [Piece(Grain.DAY, None, date(1, 1, 30))]
