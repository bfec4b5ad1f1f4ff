"""Reading principal PDFs off the event loop, within a time and a memory bound per package.

pyHanko is pure Python: reading one signed 1 MB PDF is 30-80 ms of CPU, all of it
holding the GIL. In a thread it would take the GIL from the event loop for as
long (bench/pdf_placement.py: loop stalls of 55-116 ms at p99 and a third of the
other packages' rate, against 17-25 ms beside processes), so by default the
reading runs in a small pool of worker processes (`pdf_workers`), each with its
own GIL, started on first use and stopped with the process's last hub. Only the
untrusted parsing goes there (`signing.pades.validate.read_pdf`, whose result is
plain data); the signers' chains are then judged here by the hub's own trust store
and CRL.

The bounds, each of them giving VALIDATION_LIMIT_EXCEEDED (the package is
still accepted and routed):
- time: `read_pdf` interrupts itself after `pdf_max_seconds`; should a worker
  not come back within that and a grace period (stuck in C code), its pool is
  killed and replaced;
- memory: the bytes pyHanko may decode (`pdf_max_decoded_bytes`), and each
  worker's address space (`RLIMIT_AS`, `pdf_max_memory_bytes`), past which an
  allocation fails with a `MemoryError` in the worker instead of growing the hub;
- a worker that dies (the kernel's OOM killer, a crash) fails only the
  packages it was reading; each is tried once more in a fresh pool, and a
  package that kills a worker twice is VALIDATION_LIMIT_EXCEEDED.

`pdf_workers = 0` reads in the ingest's threads instead (the time and
decode bounds hold, the address-space bound does not).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import resource
import threading
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from hub.settings import HubSettings
from signing.compliance import Violation
from signing.pades.validate import PdfLimits, PdfReading, read_pdf

log = logging.getLogger(__name__)

GRACE_SECONDS = 5.0
"""How much longer than its time bound a worker may take before it is killed."""


@dataclass(frozen=True)
class PdfBounds:
    """The per-package bounds of `PdfReader` (from the hub's settings)."""

    max_seconds: float = 10.0
    max_decoded_bytes: int = 256 * 1024 * 1024
    max_memory_bytes: int = 1024 * 1024 * 1024
    workers: int = 2

    @classmethod
    def of(cls, settings: HubSettings) -> PdfBounds:
        return cls(
            max_seconds=settings.pdf_max_seconds,
            max_decoded_bytes=settings.pdf_max_decoded_bytes,
            max_memory_bytes=settings.pdf_max_memory_bytes,
            workers=settings.pdf_workers,
        )

    @property
    def limits(self) -> PdfLimits:
        return PdfLimits(max_seconds=self.max_seconds, max_decoded_bytes=self.max_decoded_bytes)


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


def _worker_limits() -> tuple[int, int, int]:
    """(pid, soft, hard) address-space limit of a worker: for tests."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    return os.getpid(), soft, hard


class _Pools:
    """Process pools shared by every hub in this process that asks for the same bounds.

    A worker holds no state of any hub (limits come with each call), so the
    hubs of one process (tests, the in-process demo) share their workers
    instead of each starting its own.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pools: dict[tuple[int, int], ProcessPoolExecutor] = {}
        self._users = 0

    def acquire(self) -> None:
        """A hub starts using the pools (its lifespan)."""
        with self._lock:
            self._users += 1

    def release(self) -> None:
        """A hub stops; the last one out stops every worker (a stopped server leaves none)."""
        with self._lock:
            self._users = max(0, self._users - 1)
            if self._users:
                return
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            _stop(pool)

    def get(self, workers: int, max_memory: int) -> ProcessPoolExecutor:
        key = (workers, max_memory)
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                pool = ProcessPoolExecutor(
                    workers,
                    mp_context=_CONTEXT,
                    initializer=_start_worker,
                    initargs=(max_memory,),
                )
                self._pools[key] = pool
            return pool

    def replace(self, workers: int, max_memory: int, broken: ProcessPoolExecutor) -> None:
        """Kill `broken`'s workers and forget it, so the next call starts a fresh pool."""
        key = (workers, max_memory)
        with self._lock:
            if self._pools.get(key) is broken:
                del self._pools[key]
        _stop(broken)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Stop `pool` now: its workers are killed (a reading in flight is abandoned)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.kill()
    for process in processes:
        process.join(timeout=5)


def _context() -> multiprocessing.context.BaseContext:
    # Not fork: the hub process runs threads (the event loop's executors) that a
    # forked child would inherit mid-flight. A fork server started once, with
    # pyHanko already imported, makes each worker quick to start.
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["signing.pades.validate", "hub.ingest.pdfs"])
        return context
    return multiprocessing.get_context("spawn")


_CONTEXT = _context()
POOLS = _Pools()


class PdfReader:
    """Reads principal PDFs for one hub process, within `bounds`."""

    def __init__(self, bounds: PdfBounds, threads: Executor) -> None:
        self.bounds = bounds
        self.threads = threads
        """Used when `bounds.workers` is 0."""
        self._slots = asyncio.Semaphore(max(1, bounds.workers))
        """At most one reading per worker at a time, so a reading's timeout counts
        its own work, not its wait behind others."""

    async def read(self, data: bytes) -> PdfReading:
        """The reading of `data`; never raises (bounds and failures become violations)."""
        loop = asyncio.get_running_loop()
        limits = self.bounds.limits
        if self.bounds.workers <= 0:
            return await loop.run_in_executor(self.threads, read_pdf, data, limits)
        async with self._slots:
            for attempt in (1, 2):
                pool: ProcessPoolExecutor | None = None
                try:
                    pool = POOLS.get(self.bounds.workers, self.bounds.max_memory_bytes)
                    future = loop.run_in_executor(pool, read_pdf, data, limits)
                    return await asyncio.wait_for(future, self.bounds.max_seconds + GRACE_SECONDS)
                except TimeoutError:
                    log.warning("a PDF reading overran its bound; its worker pool is replaced")
                    assert pool is not None
                    POOLS.replace(self.bounds.workers, self.bounds.max_memory_bytes, pool)
                    return PdfReading.failed(
                        Violation.VALIDATION_LIMIT_EXCEEDED,
                        f"took longer than {self.bounds.max_seconds:g} s",
                    )
                except (BrokenProcessPool, RuntimeError) as exc:
                    # a worker died (this PDF, or another read beside it); RuntimeError:
                    # the pool was shut down by a replacement under way
                    if pool is not None:
                        POOLS.replace(self.bounds.workers, self.bounds.max_memory_bytes, pool)
                    if attempt == 2:
                        log.warning("a PDF reading killed its worker twice: %s", exc)
                        return PdfReading.failed(
                            Violation.VALIDATION_LIMIT_EXCEEDED,
                            "the validation process ran out of memory or died",
                        )
                except Exception:  # no worker could be started (no /dev/shm, out of PIDs)
                    log.exception("no PDF worker process: reading in a thread instead")
                    return await loop.run_in_executor(self.threads, read_pdf, data, limits)
        raise AssertionError("unreachable")  # pragma: no cover


__all__ = ["POOLS", "PdfBounds", "PdfReader"]
