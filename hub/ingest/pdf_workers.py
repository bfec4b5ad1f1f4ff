"""The worker processes that read principal PDFs: one reading each, killed past its deadline.

Each worker is a process of its own (a one-process `ProcessPoolExecutor`), so
the time bound is a property of the process, not of the code it runs: the hub
waits `max_seconds` for the reading and, past that, kills the worker and starts
another on the next use. Nothing is interrupted inside a running interpreter,
neither the hub's nor the worker's, and a worker stuck in C code dies as surely
as one looping in Python. Killing one worker fails only the reading it was
doing, never a reading beside it.

Workers are started on first use (the start is not counted against a reading's
deadline), kept idle for the next reading, and stopped with the process's last
hub. The hubs of one process (tests, the in-process demo) share them: a worker
holds no state of any hub, the limits come with each call.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import resource
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

START_SECONDS = 60.0
"""How long a new worker may take to start (a loaded machine starts processes slowly)."""


def _start_worker(max_bytes: int) -> None:
    """Worker start-up: cap the process's address space; quiet pyHanko's logging.

    pyHanko logs what it finds odd in a file (at WARNING) to the worker's stderr;
    for the hub that is the verdict's business, so only its errors are kept.
    """
    logging.getLogger("pyhanko").setLevel(logging.ERROR)
    if max_bytes > 0:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = max_bytes if hard == resource.RLIM_INFINITY else min(max_bytes, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


def worker_limits() -> tuple[int, int, int]:
    """(pid, soft, hard) address-space limit of the process calling it: run in a worker."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    return os.getpid(), soft, hard


class Worker:
    """One worker process, reading one PDF at a time."""

    def __init__(self, max_memory: int) -> None:
        self._executor = ProcessPoolExecutor(
            1, mp_context=_CONTEXT, initializer=_start_worker, initargs=(max_memory,)
        )
        self.pid: int | None = None
        """Set once started (`start`)."""

    async def start(self) -> None:
        """Start the process, if not yet, and wait until it answers (up to `START_SECONDS`)."""
        if self.pid is None:
            self.pid = await asyncio.wait_for(self.run(os.getpid), START_SECONDS)

    def run(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """`fn(*args)` in the worker; raises `BrokenProcessPool` if the worker died."""
        future: Future[T] = self._executor.submit(fn, *args)
        return asyncio.wrap_future(future)

    def kill(self) -> None:
        """Kill the process now (a reading in flight is abandoned) and reap it."""
        processes: list[BaseProcess] = list(
            (getattr(self._executor, "_processes", None) or {}).values()
        )
        for process in processes:
            if process.is_alive():
                process.kill()
        self._executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.join(timeout=5)

    def stop(self) -> None:
        """Stop an idle worker."""
        self.kill()


class WorkerSet:
    """Up to `size` idle workers of one address-space bound, lent one reading at a time."""

    def __init__(self, size: int, max_memory: int) -> None:
        self.size = size
        self.max_memory = max_memory
        self._lock = threading.Lock()
        self._idle: list[Worker] = []
        self._closed = False

    def take(self) -> Worker:
        """An idle worker, or a new one (started by its first `Worker.start`)."""
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return Worker(self.max_memory)

    def give(self, worker: Worker) -> None:
        """Back from a reading that finished: kept idle, or stopped when enough are."""
        with self._lock:
            if not self._closed and len(self._idle) < self.size:
                self._idle.append(worker)
                return
        worker.stop()

    def idle_pids(self) -> list[int]:
        """The processes kept idle (for tests and the bench)."""
        with self._lock:
            return [w.pid for w in self._idle if w.pid is not None]

    def close(self) -> None:
        """Stop every idle worker; a worker given back later is stopped too."""
        with self._lock:
            self._closed, idle, self._idle = True, self._idle, []
        for worker in idle:
            worker.stop()


class Workers:
    """The worker sets of this process, by (size, address-space bound), shared by its hubs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sets: dict[tuple[int, int], WorkerSet] = {}
        self._users = 0

    def acquire(self) -> None:
        """A hub starts using the workers (its lifespan)."""
        with self._lock:
            self._users += 1

    def release(self) -> None:
        """A hub stops; the last one out stops every worker (a stopped server leaves none)."""
        with self._lock:
            self._users = max(0, self._users - 1)
            if self._users:
                return
            sets, self._sets = list(self._sets.values()), {}
        for worker_set in sets:
            worker_set.close()

    def get(self, size: int, max_memory: int) -> WorkerSet:
        key = (size, max_memory)
        with self._lock:
            worker_set = self._sets.get(key)
            if worker_set is None:
                worker_set = self._sets[key] = WorkerSet(size, max_memory)
            return worker_set


def _context() -> multiprocessing.context.BaseContext:
    # Not fork: the hub process runs threads (the event loop's executors) that a
    # forked child would inherit mid-flight. A fork server started once, with
    # pyHanko already imported, makes each worker quick to start.
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["signing.pades.validate", "hub.ingest.pdf_workers"])
        return context
    return multiprocessing.get_context("spawn")


_CONTEXT = _context()
WORKERS = Workers()

__all__ = ["START_SECONDS", "WORKERS", "Worker", "WorkerSet", "Workers", "worker_limits"]
