"""What PostgreSQL's busy sessions wait on while a bench loads the hub: sampled.

`sampling(url)` polls `pg_stat_activity` (every active session of the bench's
database: its wait event, or `CPU` when it waits on nothing) and `pg_locks` (the
locks not granted, by type and relation) every `interval` seconds in a thread
for the duration of the block; `Waits.lines()` prints the shares. A row lock
held to commit shows as `Lock:transactionid` or `Lock:tuple`; NOTIFY's queue lock
as `Lock:object`; waiting for the WAL flush as `IO:WALSync`/`LWLock:WALWrite`.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

__all__ = ["Waits", "sampling"]

_ACTIVITY = """
SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU')
FROM pg_stat_activity
WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()"""
_BLOCKED = """
SELECT l.locktype || coalesce(':' || c.relname, '') || ' ' || l.mode
FROM pg_locks l LEFT JOIN pg_class c ON c.oid = l.relation
WHERE NOT l.granted"""


@dataclass
class Waits:
    samples: int = 0
    active: Counter[str] = field(default_factory=Counter)
    blocked: Counter[str] = field(default_factory=Counter)

    def lines(self, top: int = 8) -> list[str]:
        """The busiest wait events (mean sessions in each) and the locks waited for."""
        if not self.samples:
            return ["  (no samples)"]
        n = self.samples
        busy = sum(self.active.values()) / n
        out = [f"  {n} samples; active sessions on average {busy:.2f}:"]
        out += [f"    {name:<28} {count / n:5.2f}" for name, count in self.active.most_common(top)]
        if self.blocked:
            out.append("  locks waited for (mean waiters):")
            out += [
                f"    {name:<40} {count / n:5.2f}" for name, count in self.blocked.most_common(top)
            ]
        return out


@contextmanager
def sampling(database_url: str, interval: float = 0.02) -> Iterator[Waits]:
    """Sample the waits of `database_url`'s sessions until the block ends."""
    waits = Waits()
    stop = threading.Event()
    dsn = "postgresql://" + database_url.split("://", 1)[1]

    async def sample() -> None:
        import asyncpg  # type: ignore[import-untyped]

        connection = await asyncpg.connect(dsn)
        try:
            while not stop.is_set():
                for (name,) in await connection.fetch(_ACTIVITY):
                    waits.active[name] += 1
                for (name,) in await connection.fetch(_BLOCKED):
                    waits.blocked[name] += 1
                waits.samples += 1
                await asyncio.sleep(interval)
        finally:
            await connection.close()

    thread = threading.Thread(target=asyncio.run, args=(sample(),), daemon=True)
    thread.start()
    try:
        yield waits
    finally:
        stop.set()
        thread.join(timeout=10)
