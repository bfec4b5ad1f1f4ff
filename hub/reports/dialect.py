"""The few SQL expressions reports need that differ between SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, cast, func, literal_column
from sqlalchemy.sql.elements import ColumnElement


def seconds_between(dialect: str, start: Any, end: Any) -> ColumnElement[float]:
    """`end - start` in seconds, as a float."""
    if dialect == "postgresql":
        return cast(func.extract("epoch", end - start), Float)
    return cast((func.julianday(end) - func.julianday(start)) * 86400.0, Float)


def vietnam_date(dialect: str, moment: Any) -> ColumnElement[Any]:
    """The calendar day of a UTC timestamp in Vietnam (UTC+7, no daylight saving)."""
    if dialect == "postgresql":
        return func.date(func.timezone("Asia/Ho_Chi_Minh", moment))
    return func.date(moment, literal_column("'+7 hours'"))


def utc_hour(dialect: str, moment: Any) -> ColumnElement[Any]:
    """The UTC hour a timestamp falls in, as text `YYYY-MM-DD HH:00:00` (Vietnam's offset
    is whole hours, so a UTC hour is a Vietnam hour too)."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", moment), "YYYY-MM-DD HH24:00:00")
    return func.strftime("%Y-%m-%d %H:00:00", moment)
