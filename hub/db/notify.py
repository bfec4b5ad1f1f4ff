"""Announcing new work to long polls, from inside the transaction that creates it.

`announce(session, keys)` marks keys (`inbox_key(member)`, `status_key(member)`)
as having something new once the caller's transaction commits. On PostgreSQL it
is a `pg_notify` in that transaction, delivered to every hub process listening
on `CHANNEL` only when (and if) it commits; on SQLite, which has no such thing,
the keys are handed after the commit to the in-process bus the session factory
carries (`bind_bus`), so one process's long polls hear its own commits (an
embedded hub is one process). Nothing is announced for a rolled-back
transaction.
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


def inbox_key(member: str) -> str:
    return f"i:{member}"


def status_key(member: str) -> str:
    return f"s:{member}"


def bind_bus(sessions: async_sessionmaker[AsyncSession], bus: Bus) -> None:
    """Sessions from `sessions` hand the keys they announce to `bus` after each commit
    (SQLite only; on PostgreSQL the listener hears the notification instead)."""
    info: dict[str, Any] = dict(sessions.kw.get("info") or {})
    info[_BUS] = bus
    sessions.configure(info=info)


async def announce(session: AsyncSession, keys: Iterable[str]) -> None:
    """Announce `keys` when the caller's transaction commits."""
    unique = sorted(set(keys))
    if not unique:
        return
    if session.get_bind().dialect.name == "postgresql":
        for payload in _payloads(unique):
            await session.execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": CHANNEL, "payload": payload},
            )
        return
    pending: set[str] = session.sync_session.info.setdefault(_PENDING, set())
    pending.update(unique)


def parse(payload: str) -> list[str]:
    return [key for key in payload.split(",") if key]


def _payloads(keys: list[str]) -> Iterable[str]:
    chunk: list[str] = []
    size = 0
    for key in keys:
        if chunk and size + len(key) + 1 > MAX_PAYLOAD:
            yield ",".join(chunk)
            chunk, size = [], 0
        chunk.append(key)
        size += len(key) + 1
    if chunk:
        yield ",".join(chunk)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    bus = session.info.get(_BUS)
    if pending and bus is not None:
        bus(pending)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous_transaction: Any) -> None:
    session.info.pop(_PENDING, None)
