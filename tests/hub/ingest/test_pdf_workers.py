"""The PDF worker processes: a reading past its deadline costs its worker, never the hub.

Past `pdf_max_seconds` the package is VALIDATION_LIMIT_EXCEEDED (and still routed),
the worker is killed, and the next PDF is read by a fresh one; no process is left
behind, however often that happens.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import pytest

from hub.ingest import pdfs
from hub.ingest.pdf_workers import WORKERS, WorkerSet
from signing.pades.validate import PdfLimits, PdfReading
from tests.hub.conftest import Hub
from tests.hub.helpers import Agency
from tests.hub.ingest.test_pdf_input import RECIPIENT, SENDER, signed, submit_pdf

LIMIT = "VALIDATION_LIMIT_EXCEEDED"


@pytest.fixture
async def sender(hub: Hub) -> Agency:
    await hub.add(RECIPIENT)
    return await hub.add(SENDER)


def stuck(data: bytes, limits: PdfLimits) -> PdfReading:
    """A reading stuck in one C call: no bytecode boundary for an in-process timer to use."""
    time.sleep(3600)
    raise AssertionError("never")


def dies(data: bytes, limits: PdfLimits) -> PdfReading:
    """A reading that takes its worker down (what the OOM killer or a crash does)."""
    os._exit(1)


def alive(pid: int) -> bool:
    """The process exists and is not a zombie (one left unreaped is a leak too)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def worker_set(hub: Hub) -> WorkerSet:
    bounds = hub.context.ingest.pdfs.bounds
    return WORKERS.get(bounds.workers, bounds.max_memory_bytes)


async def test_past_the_deadline_the_worker_is_killed_and_the_next_pdf_reads(
    hub: Hub, sender: Agency
) -> None:
    reader = hub.context.ingest.pdfs
    normal = reader.bounds
    pdf = signed(sender)
    seen: set[int] = set()
    rounds = 8
    for _ in range(rounds):
        reader.bounds = dataclasses.replace(normal, max_seconds=0.001)
        verdict = (await submit_pdf(hub, sender, pdf))["verdict"]
        assert LIMIT in verdict["violations"], verdict
        reader.bounds = normal
        verdict = (await submit_pdf(hub, sender, pdf))["verdict"]
        assert verdict["compliant"], verdict["violations"]
        idle = worker_set(hub).idle_pids()
        assert 1 <= len(idle) <= normal.workers
        seen.update(idle)
    assert os.getpid() not in seen
    assert len(seen) >= rounds, "a worker that overran was used again"
    assert len([pid for pid in seen if alive(pid)]) <= normal.workers


async def test_a_worker_stuck_in_c_code_is_killed_at_the_deadline(
    hub: Hub, sender: Agency, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = hub.context.ingest.pdfs
    normal = reader.bounds
    pdf = signed(sender)
    await submit_pdf(hub, sender, pdf)  # a started worker, so the timing is the reading's
    before = set(worker_set(hub).idle_pids())
    reader.bounds = dataclasses.replace(normal, max_seconds=1.0)
    monkeypatch.setattr(pdfs, "read_pdf", stuck)
    started = time.monotonic()
    verdict = (await submit_pdf(hub, sender, pdf))["verdict"]
    took = time.monotonic() - started
    assert LIMIT in verdict["violations"], verdict
    assert 1.0 <= took < 30, took
    killed = before - set(worker_set(hub).idle_pids())
    assert len(killed) == 1
    assert not any(alive(pid) for pid in killed)
    monkeypatch.undo()
    reader.bounds = normal
    verdict = (await submit_pdf(hub, sender, pdf))["verdict"]
    assert verdict["compliant"], verdict["violations"]


async def test_a_pdf_that_kills_its_worker_twice_is_limit_exceeded_and_the_next_reads(
    hub: Hub, sender: Agency, monkeypatch: pytest.MonkeyPatch
) -> None:
    pdf = signed(sender)
    monkeypatch.setattr(pdfs, "read_pdf", dies)
    verdict = (await submit_pdf(hub, sender, pdf))["verdict"]
    assert LIMIT in verdict["violations"], verdict
    monkeypatch.undo()
    verdict = (await submit_pdf(hub, sender, pdf))["verdict"]
    assert verdict["compliant"], verdict["violations"]
    assert worker_set(hub).idle_pids(), "the reading was not done by a worker"


async def test_a_closed_set_stops_its_idle_workers_and_any_given_back() -> None:
    """What the last hub out does (`Workers.release`): no worker outlives the hubs."""
    workers = WorkerSet(2, 0)
    first, second = workers.take(), workers.take()
    await first.start()
    await second.start()
    workers.give(first)
    workers.close()
    workers.give(second)
    pids = [first.pid, second.pid]
    assert all(pid is not None and not alive(pid) for pid in pids), pids
