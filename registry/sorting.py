"""ORDER BY for the lists operators sort by any column, either way.

Empty values (NULL) go last in both directions on SQLite and PostgreSQL alike
(they disagree by default), and a unique tiebreaker ends the order so that pages
never repeat or skip a row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.sql.elements import ColumnElement

from registry.errors import invalid

__all__ = ["sort_order"]


def sort_order(
    keys: Mapping[str, Sequence[Any]],
    sort: str,
    tiebreak: Sequence[Any],
) -> list[ColumnElement[Any]]:
    """The ORDER BY of `sort` (`column` or `-column`, one of `keys`), then `tiebreak`
    the same way, so that descending is exactly ascending reversed."""
    column, descending = (sort[1:], True) if sort.startswith("-") else (sort, False)
    if column not in keys:
        raise invalid(
            "invalid_sort", f"cannot sort by {column!r}; one of {', '.join(keys)}", "sort"
        )
    order: list[ColumnElement[Any]] = []
    for key in keys[column]:
        order += [key.is_(None), key.desc() if descending else key.asc()]
    return [*order, *(k.desc() if descending else k.asc() for k in tiebreak)]
