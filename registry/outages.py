"""A failing database or disk, told apart from a bug: a 503 with `Retry-After`, else a 500.

The hub's answers say "come back later" only when nothing was changed and
coming back can help; this module names those failures (SQLSTATEs, SQLite's
messages, OS errnos, a dropped connection) with stable codes.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator

from sqlalchemy import exc as sa_exc

from registry.problems import Problem

__all__ = ["RETRY_AFTER_SECONDS", "internal_error", "problem_for", "unavailable_code"]

RETRY_AFTER_SECONDS = {
    "database_unavailable": 5,
    "database_busy": 1,
    "database_read_only": 30,
    "storage_full": 60,
    "storage_read_only": 60,
}
"""The stable codes of the 503 answers, and the `Retry-After` each one carries."""

_DETAILS = {
    "database_unavailable": "The hub's database is unavailable; nothing was changed. Retry later.",
    "database_busy": "The hub's database is busy; nothing was changed. Retry shortly.",
    "database_read_only": "The hub's database accepts no writes now; nothing was changed.",
    "storage_full": "The hub's storage is full; nothing was changed. Retry later.",
    "storage_read_only": "The hub's storage accepts no writes now; nothing was changed.",
}

# PostgreSQL SQLSTATEs (whole classes end in a dot)
_SQLSTATES = {
    "08.": "database_unavailable",  # connection exception
    "57P01": "database_unavailable",  # admin shutdown (pg_ctl stop/restart)
    "57P02": "database_unavailable",  # crash shutdown
    "57P03": "database_unavailable",  # cannot connect now (starting or shutting down)
    "57P04": "database_unavailable",  # database dropped
    "53200": "database_unavailable",  # out of memory
    "58.": "database_unavailable",  # system error (I/O)
    "40001": "database_busy",  # serialization failure
    "40P01": "database_busy",  # deadlock detected
    "55P03": "database_busy",  # lock not available
    "57014": "database_busy",  # statement timeout / cancelled
    "53300": "database_busy",  # too many connections
    "53100": "storage_full",  # disk full
    "25006": "database_read_only",  # read-only transaction (a standby)
}
# SQLite reports by message (its error codes do not survive the drivers reliably)
_SQLITE_MESSAGES = (
    ("database or disk is full", "storage_full"),
    ("disk i/o error", "database_unavailable"),
    ("unable to open database", "database_unavailable"),
    ("readonly database", "database_read_only"),
    ("database is locked", "database_busy"),
    ("database table is locked", "database_busy"),
)
# driver messages of a connection the server closed (asyncpg has no SQLSTATE for them)
_DISCONNECT_MESSAGES = (
    "connection is closed",
    "connection was closed",
    "another operation",
    "cannot switch to state",
    "underlying connection is closed",
)
_ERRNOS = {
    errno.ENOSPC: "storage_full",
    errno.EDQUOT: "storage_full",
    errno.EROFS: "storage_read_only",
    errno.EIO: "database_unavailable",
}


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend([getattr(current, "orig", None), current.__cause__, current.__context__])


def _sqlstate_code(sqlstate: str) -> str | None:
    return _SQLSTATES.get(sqlstate) or _SQLSTATES.get(sqlstate[:2] + ".")


def unavailable_code(exc: BaseException) -> str | None:
    """The 503 code for a failure of the database or the disk, or None for anything else.

    Looks through the exception, the driver's original error and their causes:
    SQLSTATEs (PostgreSQL), SQLite's messages, `errno` of OS errors, a pool
    timeout, a connection the pool had to invalidate.
    """
    for current in _chain(exc):
        if isinstance(current, sa_exc.TimeoutError):
            return "database_busy"  # the pool had no connection to give in time
        sqlstate = getattr(current, "sqlstate", None) or getattr(current, "pgcode", None)
        if isinstance(sqlstate, str) and (code := _sqlstate_code(sqlstate)):
            return code
        if isinstance(current, OSError) and current.errno in _ERRNOS:
            return _ERRNOS[current.errno]
        if isinstance(current, ConnectionError):  # refused or reset: the driver's socket
            return "database_unavailable"
        message = str(current).lower()
        if type(current).__module__.startswith(("sqlite3", "aiosqlite")) or (
            isinstance(current, sa_exc.DBAPIError) and "sqlite" in str(type(current.orig))
        ):
            for fragment, code in _SQLITE_MESSAGES:
                if fragment in message:
                    return code
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return "database_unavailable"
        if (
            "asyncpg" in type(current).__module__ or isinstance(current, sa_exc.DBAPIError)
        ) and any(fragment in message for fragment in _DISCONNECT_MESSAGES):
            return "database_unavailable"
    return None


def problem_for(exc: BaseException) -> Problem | None:
    """A `503` problem with `Retry-After` for a database or disk failure; None otherwise."""
    if isinstance(exc, Problem):
        return exc
    code = unavailable_code(exc)
    if code is None:
        return None
    problem = Problem(
        503, code, _DETAILS[code], headers={"Retry-After": str(RETRY_AFTER_SECONDS[code])}
    )
    problem.__cause__ = exc
    return problem


def internal_error(exc: BaseException) -> Problem:
    """The `500` problem of an unforeseen exception (the exception is its `__cause__`)."""
    problem = Problem(
        500,
        "internal_error",
        "The hub failed unexpectedly; nothing is known to have changed. "
        "Quote the request id when reporting it.",
    )
    problem.__cause__ = exc
    return problem
