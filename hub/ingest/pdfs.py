"""Reading principal PDFs off the event loop, within a time and a memory bound per package.

pyHanko is pure Python: reading one signed 1 MB PDF is 30-80 ms of CPU, all of it
holding the GIL. In a thread it would take the GIL from the event loop for as
long (bench/pdf_placement.py: loop stalls of 55-116 ms at p99 and a third of the
other packages' rate, against 17-25 ms beside processes), so by default the
reading runs in worker processes (`pdf_workers` of them kept; `hub.ingest.pdf_workers`),
each with its own GIL, started on first use and stopped with the process's last
hub. Only the untrusted parsing goes there (`signing.pades.validate.read_pdf`,
whose result is plain data); the signers' chains are then judged here by the
hub's own trust store and CRL.

The bounds, each of them giving VALIDATION_LIMIT_EXCEEDED (the package is
still accepted and routed):
- time: a worker that has not answered within `pdf_max_seconds` is killed (and
  another started for the next reading); nothing is interrupted inside the hub's
  own interpreter;
- memory: the bytes pyHanko may decode (`pdf_max_decoded_bytes`), and each
  worker's address space (`RLIMIT_AS`, `pdf_max_memory_bytes`), past which an
  allocation fails with a `MemoryError` in the worker instead of growing the hub;
- a worker that dies (the kernel's OOM killer, a crash) fails only the
  package it was reading; it is tried once more in a fresh worker, and a
  package that kills a worker twice is VALIDATION_LIMIT_EXCEEDED.

`pdf_workers = 0` reads in the ingest's threads instead (the decode bound holds,
the address-space bound does not, and the time bound is `read_pdf`'s own
in-thread deadline, `signing.pades.limits`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from concurrent.futures import Executor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from hub.ingest.pdf_workers import WORKERS
from hub.settings import HubSettings
from signing.compliance import Violation
from signing.pades.validate import PdfLimits, PdfReading, read_pdf

log = logging.getLogger(__name__)


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


class _Died(Exception):
    """The worker died under the reading (the reading itself, or the OOM killer)."""


class PdfReader:
    """Reads principal PDFs for one hub process, within `bounds`."""

    def __init__(self, bounds: PdfBounds, threads: Executor) -> None:
        self.bounds = bounds
        self.threads = threads
        """Used when `bounds.workers` is 0, or when no worker process can be started."""
        self._slots = asyncio.Semaphore(max(1, bounds.workers))
        """At most `workers` readings at a time, so no more workers run than are kept."""

    async def read(self, data: bytes) -> PdfReading:
        """The reading of `data`; never raises (bounds and failures become violations)."""
        loop = asyncio.get_running_loop()
        if self.bounds.workers <= 0:
            return await loop.run_in_executor(self.threads, read_pdf, data, self.bounds.limits)
        async with self._slots:
            for attempt in (1, 2):
                try:
                    return await self._in_worker(data)
                except _Died as exc:
                    if attempt == 2:
                        log.warning("a PDF reading killed its worker twice: %s", exc)
                        return PdfReading.failed(
                            Violation.VALIDATION_LIMIT_EXCEEDED,
                            "the validation process ran out of memory or died",
                        )
                except Exception:  # no worker could be started (no /dev/shm, out of PIDs)
                    log.exception("no PDF worker process: reading in a thread instead")
                    return await loop.run_in_executor(
                        self.threads, read_pdf, data, self.bounds.limits
                    )
        raise AssertionError("unreachable")  # pragma: no cover

    async def _in_worker(self, data: bytes) -> PdfReading:
        """One try in a worker: the worker is given back, or killed past the deadline."""
        bounds = self.bounds
        workers = WORKERS.get(bounds.workers, bounds.max_memory_bytes)
        worker = workers.take()
        finished = False
        try:
            await worker.start()
            # the worker's deadline is its being killed: no timer runs inside it
            limits = dataclasses.replace(bounds.limits, max_seconds=None)
            reading: PdfReading = await asyncio.wait_for(
                worker.run(read_pdf, data, limits), bounds.max_seconds
            )
            finished = True
            return reading
        except TimeoutError:
            if worker.pid is None:
                raise  # the start took too long: not the document's doing
            log.warning("a PDF reading overran %g s; its worker is killed", bounds.max_seconds)
            return PdfReading.failed(
                Violation.VALIDATION_LIMIT_EXCEEDED, f"took longer than {bounds.max_seconds:g} s"
            )
        except BrokenProcessPool as exc:
            raise _Died(str(exc)) from exc
        finally:
            if finished:
                workers.give(worker)
            else:  # overran, died, failed or cancelled: never used again
                worker.kill()  # SIGKILL and reap: milliseconds


__all__ = ["PdfBounds", "PdfReader"]
