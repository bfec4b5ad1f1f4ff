"""Sortable tables: `?sort=col` ascending, `?sort=-col` descending, on every column.

A page declares the columns of its tables. Either one `sort` parameter names a
column of any of them (column names unique on the page), or each table has its
own parameter (`history_sort`, with its own paging `history_offset`), so sorting
or paging one table keeps the others as they were. An unknown column is a 422
problem, which the dashboard shows as an HTML page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import Request

from registry.problems import Problem

__all__ = ["Sort", "parse_sort", "sort_rows"]

T = TypeVar("T")

ONE_TIME = frozenset({"done", "redriven", "requeued"})
"""Parameters that say what a form just did (the page shows it once): links drop them, so
the message does not show again after sorting or paging."""


@dataclass(frozen=True)
class Sort:
    """The page's sort and its other query parameters, to build each header's link."""

    column: str
    descending: bool
    params: tuple[tuple[str, str], ...] = ()
    """The request's other parameters, kept by the links (this table's paging restarts;
    the one-time result parameters are left out)."""
    param: str = "sort"
    offset_param: str = "offset"
    """This table's paging parameter."""

    def href(self, column: str) -> str:
        """The link of a header: ascending first, the other way when already ascending."""
        flip = column == self.column and not self.descending
        value = f"-{column}" if flip else column
        return "?" + urlencode([*self.params, (self.param, value)])

    def page_href(self, offset: int) -> str:
        """The link to this table's page at `offset`, in the same order."""
        here = [(self.param, self.value), (self.offset_param, str(offset))]
        return "?" + urlencode([*self.params, *here])

    def arrow(self, column: str) -> str:
        if column != self.column:
            return ""
        return " ▼" if self.descending else " ▲"

    def aria(self, column: str) -> str:
        if column != self.column:
            return "none"
        return "descending" if self.descending else "ascending"

    @property
    def value(self) -> str:
        return f"-{self.column}" if self.descending else self.column


def parse_sort(
    request: Request,
    columns: Iterable[str],
    default: str = "",
    *,
    param: str = "sort",
    offset_param: str = "offset",
) -> Sort:
    """The `param` parameter checked against the table's (or page's) `columns`."""
    allowed = set(columns)
    raw = request.query_params.get(param) or default
    column, descending = (raw[1:], True) if raw.startswith("-") else (raw, False)
    if (column or descending) and column not in allowed:
        raise Problem(
            422,
            "invalid_sort",
            f"cannot sort by {column!r}; columns: {', '.join(sorted(allowed))}",
            errors=[{"field": param, "message": f"one of {', '.join(sorted(allowed))}"}],
        )
    params = tuple(
        (name, value)
        for name, value in request.query_params.multi_items()
        if name not in (param, offset_param) and name not in ONE_TIME
    )
    return Sort(column, descending, params, param, offset_param)


def sort_rows(sort: Sort, keys: Mapping[str, Callable[[T], Any]], rows: Sequence[T]) -> list[T]:
    """`rows` in the sort's order when it names one of `keys`, else as they came.

    Rows without a value (None) go last in both directions.
    """
    key = keys.get(sort.column)
    if key is None:
        return list(rows)
    present = [r for r in rows if key(r) is not None]
    absent = [r for r in rows if key(r) is None]
    return sorted(present, key=key, reverse=sort.descending) + absent
