"""`hub.ingest.batcher.GroupCommit`: concurrent items share batches; each gets its own outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from hub.ingest.batcher import GroupCommit


class Recorder:
    """A batch writer that records its batches; the first one waits until released."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.release = asyncio.Event()

    async def write(self, items: Sequence[str]) -> list[str | BaseException]:
        self.batches.append(list(items))
        if len(self.batches) == 1:
            await self.release.wait()
        return [ValueError(item) if item.startswith("bad") else item.upper() for item in items]


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_items_queued_during_a_write_share_the_next_batch() -> None:
    recorder = Recorder()
    commits: GroupCommit[str, str] = GroupCommit(recorder.write, key=lambda item: item)
    first = asyncio.create_task(commits.submit("a"))
    await _settle()
    rest = [asyncio.create_task(commits.submit(item)) for item in ["b", "c", "d"]]
    await _settle()
    recorder.release.set()
    assert await first == "A"
    assert [await task for task in rest] == ["B", "C", "D"]
    assert recorder.batches == [["a"], ["b", "c", "d"]]
    assert (commits.batches, commits.largest) == (2, 3)


async def test_one_failing_item_fails_only_its_caller() -> None:
    recorder = Recorder()
    recorder.release.set()
    commits: GroupCommit[str, str] = GroupCommit(recorder.write, key=lambda item: item)
    results = await asyncio.gather(
        *(commits.submit(item) for item in ["x", "bad-y", "z"]), return_exceptions=True
    )
    assert results[0] == "X" and results[2] == "Z"
    assert isinstance(results[1], ValueError) and str(results[1]) == "bad-y"


async def test_items_with_the_same_key_never_share_a_batch() -> None:
    recorder = Recorder()
    commits: GroupCommit[str, str] = GroupCommit(recorder.write, key=lambda item: item[0])
    first = asyncio.create_task(commits.submit("a0"))
    await _settle()
    rest = [asyncio.create_task(commits.submit(item)) for item in ["a1", "b1", "a2", "c1"]]
    await _settle()
    recorder.release.set()
    await asyncio.gather(first, *rest)
    assert recorder.batches == [["a0"], ["a1", "b1", "c1"], ["a2"]]


async def test_batches_are_capped_at_max_items() -> None:
    recorder = Recorder()
    commits: GroupCommit[str, str] = GroupCommit(recorder.write, max_items=2)
    first = asyncio.create_task(commits.submit("a"))
    await _settle()
    rest = [asyncio.create_task(commits.submit(item)) for item in ["b", "c", "d", "e", "f"]]
    await _settle()
    recorder.release.set()
    await asyncio.gather(first, *rest)
    assert [len(batch) for batch in recorder.batches] == [1, 2, 2, 1]


async def test_a_writer_that_fails_as_a_whole_fails_every_caller_of_its_batch() -> None:
    async def broken(items: Sequence[str]) -> list[str | BaseException]:
        raise RuntimeError("database is down")

    commits: GroupCommit[str, str] = GroupCommit(broken)
    results = await asyncio.gather(commits.submit("a"), commits.submit("b"), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    with pytest.raises(RuntimeError):  # and the next caller starts a fresh writer
        await commits.submit("c")


async def test_a_caller_that_goes_away_does_not_cancel_the_write() -> None:
    recorder = Recorder()
    commits: GroupCommit[str, str] = GroupCommit(recorder.write)
    gone = asyncio.create_task(commits.submit("a"))
    await _settle()
    gone.cancel()
    await _settle()
    recorder.release.set()
    assert await commits.submit("b") == "B"
    assert recorder.batches == [["a"], ["b"]]


async def test_with_two_writers_a_batch_is_written_while_another_is_in_flight() -> None:
    recorder = Recorder()
    commits: GroupCommit[str, str] = GroupCommit(recorder.write, key=lambda item: item, writers=2)
    first = asyncio.create_task(commits.submit("a"))
    await _settle()
    assert await asyncio.gather(commits.submit("b"), commits.submit("c")) == ["B", "C"]
    assert not first.done()  # the first batch is still waiting for its commit
    recorder.release.set()
    assert await first == "A"
    assert recorder.batches == [["a"], ["b", "c"]]


async def test_with_two_writers_a_key_in_flight_waits_for_its_batch() -> None:
    recorder = Recorder()
    commits: GroupCommit[str, str] = GroupCommit(
        recorder.write, key=lambda item: item[0], writers=2
    )
    first = asyncio.create_task(commits.submit("a0"))
    await _settle()
    same_key = asyncio.create_task(commits.submit("a1"))
    assert await commits.submit("b1") == "B1"
    await _settle()
    assert not same_key.done()
    recorder.release.set()
    assert (await first, await same_key) == ("A0", "A1")
    assert recorder.batches == [["a0"], ["b1"], ["a1"]]
    assert await commits.submit("a2") == "A2"  # and the writers start again afterwards
