"""Long polls: `GET /v1/inbox?wait=S` and `GET /v1/status-updates?wait=S` wait here.

`Arrivals` holds, per key (`hub.db.notify.inbox_key(member)`, `status_key`), the
long polls waiting in this process; `announce(keys)` wakes them, and each then
reads the database again. A waiting poll holds no database connection: it
costs a future and its HTTP connection. A commit's keys reach `committed(keys)`
(the sessions' bus, `hub.db.notify`): this process's polls wake at once. On
PostgreSQL `PgListener` keeps one connection per process `LISTEN`ing on
`hub.db.notify.CHANNEL` and passes the committed keys on to the other processes
with `pg_notify` over that same connection, after the commit and coalesced (what
piles up while one notification is on its way goes in the next), so a commit in
any hub process wakes the polls of every process. When that connection drops it
reconnects and wakes every poll (what was announced meanwhile is unknown); keys
committed while it is down reach the other processes' polls at their next fetch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.db.notify import CHANNEL, parse, payloads

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_WAIT_SECONDS = 60.0


class Arrivals:
    """The long polls waiting in this process, by key."""

    def __init__(self, max_wait: float = MAX_WAIT_SECONDS) -> None:
        self.max_wait = min(max_wait, MAX_WAIT_SECONDS)
        """The longest this process holds a poll, whatever `wait` asks (a setting)."""
        self._waiting: dict[str, set[asyncio.Future[None]]] = {}
        self._closed = False
        self.forward: Callable[[Iterable[str]], None] | None = None
        """Where committed keys go besides this process's polls (other processes)."""

    @property
    def waiting(self) -> int:
        return sum(len(futures) for futures in self._waiting.values())

    def announce(self, keys: Iterable[str] | None) -> None:
        """Wake the polls waiting on `keys` (all of them for None)."""
        groups = (
            list(self._waiting.values())
            if keys is None
            else [self._waiting.get(key, set()) for key in keys]
        )
        for futures in groups:
            for future in futures:
                if not future.done():
                    future.set_result(None)

    def committed(self, keys: Iterable[str]) -> None:
        """A transaction announcing `keys` committed: wake the polls here, tell the others."""
        keys = list(keys)
        self.announce(keys)
        if self.forward is not None:
            self.forward(keys)

    def close(self) -> None:
        """Shutting down: wake every poll now and answer new ones without waiting."""
        self._closed = True
        self.announce(None)

    async def poll(
        self,
        key: str,
        wait: float,
        fetch: Callable[[], Awaitable[T]],
        empty: Callable[[T], bool],
        again: Callable[[T], float | None] = lambda _: None,
    ) -> T:
        """`fetch()` until it finds something or `wait` seconds have passed.

        The poll is registered before each fetch, so an announcement that
        lands between the fetch and the wait is not missed. Something that
        becomes due with no commit to announce it (a lease running out) is
        found by `again(found)`: the seconds after which to fetch anyway.
        """
        deadline = time.monotonic() + min(max(wait, 0.0), self.max_wait)
        while True:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiting.setdefault(key, set()).add(future)
            try:
                found = await fetch()
                remaining = deadline - time.monotonic()
                if not empty(found) or remaining <= 0 or self._closed:
                    return found
                due = again(found)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        future, remaining if due is None else min(remaining, max(due, 0.05))
                    )
            finally:
                futures = self._waiting.get(key)
                if futures is not None:
                    futures.discard(future)
                    if not futures:
                        del self._waiting[key]


class PgListener:
    """One connection per process: `LISTEN`s for the other processes' commits and hands
    them to `Arrivals`, and notifies them of this process's (`send`)."""

    def __init__(self, database_url: str, arrivals: Arrivals) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self.dsn = url.render_as_string(hide_password=False)
        self.arrivals = arrivals
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._outgoing: set[str] = set()
        self._send_wanted = asyncio.Event()

    async def start(self, timeout: float = 10.0) -> None:
        """Start listening; wait (at most `timeout`) for the first connection."""
        self._task = asyncio.create_task(self._run(), name="arrivals-listener")
        self.arrivals.forward = self.send
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), timeout)

    async def stop(self) -> None:
        self.arrivals.forward = None
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def send(self, keys: Iterable[str]) -> None:
        """Notify the other processes of `keys` soon (coalesced with what else is waiting)."""
        self._outgoing.update(keys)
        self._send_wanted.set()

    async def _run(self) -> None:
        import asyncpg  # type: ignore[import-untyped]

        delay = 0.5
        while True:
            lost = asyncio.Event()
            connection = None
            sender = None
            try:
                connection = await asyncpg.connect(self.dsn, timeout=10)
                connection.add_termination_listener(lambda _, lost=lost: lost.set())
                # a notification is a wake-up, not data: its commit need not wait for the disk
                await connection.execute("SET synchronous_commit = off")
                await connection.add_listener(CHANNEL, self._heard)
                delay = 0.5
                first = not self._connected.is_set()
                self._connected.set()
                if not first:  # what was announced while we were away is unknown
                    self.arrivals.announce(None)
                using = asyncio.Lock()  # one statement at a time on the connection
                sender = asyncio.create_task(self._send_forever(connection, using, lost))
                while not lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), 30)
                    if not lost.is_set() and connection.is_closed():
                        break
                    if not lost.is_set():
                        async with using:
                            await connection.execute("SELECT 1")  # notices a dead server
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("the arrivals listener lost its connection (%s); reconnecting", exc)
            finally:
                if sender is not None:
                    sender.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await sender
                if connection is not None and not connection.is_closed():
                    with contextlib.suppress(Exception):
                        await connection.close(timeout=2)
            self.arrivals.announce(None)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    def _heard(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        if pid != connection.get_server_pid():  # this process's polls woke at its commit
            self.arrivals.announce(parse(payload))

    async def _send_forever(
        self, connection: Any, using: asyncio.Lock, lost: asyncio.Event
    ) -> None:
        """Send what was committed meanwhile, one statement at a time, until `lost`."""
        while not lost.is_set():
            await self._send_wanted.wait()
            self._send_wanted.clear()
            keys, self._outgoing = self._outgoing, set()
            try:
                async with using:
                    for payload in payloads(keys):
                        await connection.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)
            except Exception:
                lost.set()  # the loop above reconnects
                raise


def close_on_signals(arrivals: Arrivals) -> Callable[[], None]:
    """Wake every waiting poll as soon as the process is told to stop (SIGTERM, SIGINT).

    The server finishes the requests in flight before it runs the app's shutdown,
    so polls left waiting would hold a rolling restart up to their full wait. The
    server's own handlers are chained, not replaced. Returns the undo.
    """
    import signal

    loop = asyncio.get_running_loop()
    previous: dict[int, Any] = {}

    def handler(signum: int, frame: Any) -> None:
        loop.call_soon_threadsafe(arrivals.close)
        before = previous.get(signum)
        if callable(before):
            before(signum, frame)
        elif before == signal.SIG_DFL:  # nobody else listens: stop as the default would
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        try:
            previous[signum] = signal.getsignal(signum)
            signal.signal(signum, handler)
        except ValueError:  # not the main thread (tests running the app in a thread)
            previous.pop(signum, None)

    def undo() -> None:
        for signum, before in previous.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(signum, before)

    return undo


@asynccontextmanager
async def running(arrivals: Arrivals, engine: AsyncEngine) -> AsyncIterator[None]:
    """Listen for other processes' commits (PostgreSQL) and stop waiting polls on a stop
    signal, for the duration of the block; wake every poll on the way out."""
    listener = None
    if engine.dialect.name == "postgresql":
        listener = PgListener(engine.url.render_as_string(hide_password=False), arrivals)
        await listener.start()
    undo = close_on_signals(arrivals)
    try:
        yield
    finally:
        arrivals.close()
        undo()
        if listener is not None:
            await listener.stop()
