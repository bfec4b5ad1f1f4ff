"""Announcing new work to long polls, once the transaction that creates it commits.

`announce(session, keys)` marks keys (`inbox_key(member)`, `status_key(member)`)
as having something new; after the caller's transaction commits, the keys are
handed to the bus the session factory carries (`bind_bus`), and nothing is
announced for a rolled-back transaction. The hub's bus wakes its own process's
polls at once and, on PostgreSQL, passes the keys on to the other hub processes
with `pg_notify` on `CHANNEL` (see `hub.delivery.arrivals`). The notification is
sent after the commit, not inside the transaction: a transaction that notifies
takes PostgreSQL's one notification-queue lock at commit and holds it through its
WAL flush, so every notifying commit of every hub process would queue behind the
others.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

CHANNEL = "lienthong_arrivals"
MAX_PAYLOAD = 7000
"""PostgreSQL's notification payloads stop at 8000 bytes."""
_BUS = "lienthong.arrivals.bus"
_PENDING = "lienthong.arrivals.pending"

Bus = Callable[[Iterable[str]], None]

__all__ = [
    "CHANNEL",
    "MAX_PAYLOAD",
    "Bus",
    "announce",
    "bind_bus",
    "inbox_key",
    "parse",
    "payloads",
    "status_key",
]


def inbox_key(member: str) -> str:
    return f"i:{member}"


def status_key(member: str) -> str:
    return f"s:{member}"


def bind_bus(sessions: async_sessionmaker[AsyncSession], bus: Bus) -> None:
    """Sessions from `sessions` hand the keys they announce to `bus` after each commit."""
    info: dict[str, Any] = dict(sessions.kw.get("info") or {})
    info[_BUS] = bus
    sessions.configure(info=info)


async def announce(session: AsyncSession, keys: Iterable[str]) -> None:
    """Announce `keys` when the caller's transaction commits.

    Sessions without a bus (a command-line tool's, on PostgreSQL) notify the hub
    processes from inside the transaction instead, which PostgreSQL delivers when
    it commits: a tool commits rarely, so the queue lock costs nobody anything."""
    unique = set(keys)
    if not unique:
        return
    info = session.sync_session.info
    if info.get(_BUS) is None and session.get_bind().dialect.name == "postgresql":
        for payload in payloads(unique):
            await session.execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": CHANNEL, "payload": payload},
            )
        return
    pending: set[str] = info.setdefault(_PENDING, set())
    pending.update(unique)


def payloads(keys: Iterable[str]) -> Iterable[str]:
    """`keys` as `pg_notify` payloads, each under PostgreSQL's limit."""
    chunk: list[str] = []
    size = 0
    for key in sorted(set(keys)):
        if chunk and size + len(key) + 1 > MAX_PAYLOAD:
            yield ",".join(chunk)
            chunk, size = [], 0
        chunk.append(key)
        size += len(key) + 1
    if chunk:
        yield ",".join(chunk)


def parse(payload: str) -> list[str]:
    return [key for key in payload.split(",") if key]


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    bus = session.info.get(_BUS)
    if pending and bus is not None:
        bus(pending)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous_transaction: Any) -> None:
    session.info.pop(_PENDING, None)
