"""Strict types for what clients send, shared by the registry's and the hub's routes.

Pydantic's lax mode reads `"0"` as 1970-01-01 and `"86400"` as a date too; the
OpenAPI says `format: date` / `date-time`, so these types take exactly the
RFC 3339 text the schema names and nothing else.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator

__all__ = ["DATE_PATTERN", "DATE_TIME_PATTERN", "ENDPOINT_PATTERN", "IsoDate", "IsoDateTime"]

DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
"""RFC 3339 `full-date`: a day as YYYY-MM-DD."""
DATE_TIME_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)
"""RFC 3339 `date-time`, with its offset (`Z` or `+07:00`)."""

ENDPOINT_PATTERN = r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\s]*)?$"
"""A member's push endpoint: an http(s) base URL with a host name (what `members` accepts,
and less: no IPv6 literals, no user info)."""


def _text_like(pattern: str, what: str) -> Any:
    compiled = re.compile(pattern)

    def check(value: Any) -> Any:
        if isinstance(value, date | datetime):
            return value
        if not isinstance(value, str) or compiled.fullmatch(value) is None:
            raise ValueError(f"must be {what}")
        return value

    return BeforeValidator(check)


IsoDate = Annotated[date, _text_like(DATE_PATTERN, "a date as YYYY-MM-DD")]
IsoDateTime = Annotated[
    AwareDatetime,
    _text_like(
        DATE_TIME_PATTERN, "an RFC 3339 date-time with its offset, e.g. 2024-03-12T08:00:00+07:00"
    ),
]
