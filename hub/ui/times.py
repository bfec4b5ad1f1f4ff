"""Every time on the dashboard in Vietnam time (`+07:00`), whatever the server's zone.

The database keeps UTC; operators read Vietnam time, and the offset is
printed so a time copied from a page means the same thing anywhere.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

__all__ = ["VIETNAM", "vn_time"]

VIETNAM = timezone(timedelta(hours=7), "+07:00")
"""Vietnam has no daylight saving: a fixed offset is exact."""


def vn_time(moment: datetime | date | str | None, seconds: bool = True) -> str:
    """`2026-11-30 21:05:09 +07:00`; a naive datetime is taken as UTC (as stored).

    A date is printed as it is, an ISO 8601 string is parsed first (signing
    times arrive as text), and None or unparsable text comes back unchanged
    (empty for None) rather than failing the page.
    """
    if moment is None:
        return ""
    if isinstance(moment, str):
        try:
            parsed = datetime.fromisoformat(moment.replace("Z", "+00:00"))
        except ValueError:
            return moment
        moment = parsed
    if not isinstance(moment, datetime):
        return moment.isoformat()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(VIETNAM)
    return local.strftime("%Y-%m-%d %H:%M:%S +07:00" if seconds else "%Y-%m-%d %H:%M +07:00")
