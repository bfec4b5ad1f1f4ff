"""Group commit: concurrent callers' items written together, one transaction per batch.

A caller hands an item to `GroupCommit.submit` and waits for its own result.
While a batch is being written, new items queue up; the next batch takes all
of them (up to `max_items`), so under load one commit serves many requests and
when idle an item is written at once, with no added wait. The writer is a
task started when the first item arrives and ended when the queue is empty:
nothing runs while the hub is idle, and nothing needs stopping at shutdown.
With `writers` above one, that many batches may be in flight at once, so one
batch is prepared while another waits for the database to commit; an item
whose key is in a batch in flight waits for the next batch after it.

The write function returns one outcome per item (a result, or the exception
that item's caller gets), and must leave nothing half-written: either the
batch is committed or it falls back to writing items one by one.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")

WriteBatch = Callable[[Sequence[ItemT]], Awaitable[Sequence["ResultT | BaseException"]]]


@dataclass
class _Waiting(Generic[ItemT, ResultT]):
    item: ItemT
    key: Hashable
    future: asyncio.Future[ResultT] = field(repr=False)


class GroupCommit(Generic[ItemT, ResultT]):
    """Coalesces concurrent writes; items with the same key never share a batch."""

    def __init__(
        self,
        write_batch: WriteBatch[ItemT, ResultT],
        *,
        max_items: int = 64,
        key: Callable[[ItemT], Hashable] = id,
        writers: int = 1,
    ) -> None:
        self._write_batch = write_batch
        self.max_items = max_items
        self._key = key
        self.writers = writers
        self._queue: deque[_Waiting[ItemT, ResultT]] = deque()
        self._running: set[asyncio.Task[None]] = set()
        self._in_flight: set[Hashable] = set()
        self.batches = 0
        """Batches written so far (for tests and benchmarks)."""
        self.largest = 0
        """The most items written in one batch so far."""

    async def submit(self, item: ItemT) -> ResultT:
        """Queue `item` and wait until its batch is written; its result or its exception."""
        loop = asyncio.get_running_loop()
        waiting = _Waiting(item, self._key(item), loop.create_future())
        waiting.future.add_done_callback(_retrieve)
        self._queue.append(waiting)
        self._running = {task for task in self._running if not task.done()}
        if len(self._running) < self.writers:
            self._running.add(loop.create_task(self._drain()))
        # shield: a caller that goes away does not cancel the write of its item
        return await asyncio.shield(waiting.future)

    def _next_batch(self) -> list[_Waiting[ItemT, ResultT]]:
        batch: list[_Waiting[ItemT, ResultT]] = []
        keys: set[Hashable] = set()
        later: list[_Waiting[ItemT, ResultT]] = []
        while self._queue and len(batch) < self.max_items:
            waiting = self._queue.popleft()
            if waiting.key in keys or waiting.key in self._in_flight:
                later.append(waiting)  # the same key waits for a later batch
            else:
                keys.add(waiting.key)
                batch.append(waiting)
        self._queue.extendleft(reversed(later))
        return batch

    async def _drain(self) -> None:
        while self._queue:
            batch = self._next_batch()
            if not batch:  # every queued key is in flight: its writer takes it next
                return
            self.batches += 1
            self.largest = max(self.largest, len(batch))
            keys = {waiting.key for waiting in batch}
            self._in_flight |= keys
            try:
                outcomes: Sequence[ResultT | BaseException] = await self._write_batch(
                    [waiting.item for waiting in batch]
                )
            except Exception as exc:  # the writer failed as a whole: every caller hears it
                outcomes = [exc] * len(batch)
            finally:
                self._in_flight -= keys
            for waiting, outcome in zip(batch, outcomes, strict=True):
                if waiting.future.done():
                    continue
                if isinstance(outcome, BaseException):
                    waiting.future.set_exception(outcome)
                else:
                    waiting.future.set_result(outcome)


def _retrieve(future: asyncio.Future[ResultT]) -> None:
    """Mark an outcome seen, so a caller that went away leaves no "never retrieved" warning."""
    if not future.cancelled():
        future.exception()
