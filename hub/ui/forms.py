"""What the dashboard's forms share: the report filters from query fields, the page size.

Empty fields mean no restriction, as a browser sends every field of a form.
"""

from __future__ import annotations

from datetime import date

from fastapi import Query

from hub.reports.filters import ReportFilter
from registry.problems import Problem

__all__ = ["PAGE_SIZE", "parse_date", "ui_filter"]

PAGE_SIZE = 50


def parse_date(value: str | None, field: str) -> date | None:
    """A `YYYY-MM-DD` field, None when empty; anything else is a 422 naming the field."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Problem(
            422, "validation_error", f"{field} is not a date (YYYY-MM-DD)",
            errors=[{"field": field, "message": "expected YYYY-MM-DD"}],
        ) from None  # fmt: skip


def ui_filter(
    since: str | None = None,
    until: str | None = None,
    recipient: str | None = Query(None, max_length=13),
    sender: str | None = Query(None, max_length=13),
    doc_type: str | None = Query(None, max_length=16),
) -> ReportFilter:
    """The API's filters from a form."""
    return ReportFilter(
        since=parse_date(since, "since"),
        until=parse_date(until, "until"),
        recipient=recipient or None,
        sender=sender or None,
        doc_type=doc_type or None,
    )
