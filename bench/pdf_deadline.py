"""The cost of bounding a PDF reading's time in a killable worker process, against the
former in-worker timer.

Both read the same signed PDF (`bench.common.signed_pdf`, 10 pages, two signatures,
about 1 MB) in two forkserver worker processes, `CONCURRENCY` readings in flight:
- `timer`: the former way, a shared `ProcessPoolExecutor` whose workers run
  `read_pdf` under its own in-process deadline (`signing.pades.limits`), the hub
  waiting the bound plus a grace period;
- `worker`: `PdfReader` as the hub runs it, each reading in a worker of its own with
  no timer inside, killed if it overruns.
The two are run in rounds (A B A B ...) so load changes hit each alike; `uptime` is
printed before and after, and the ratio of the medians in the same run. Last, what an
overrun costs: a reading cut off (deadline 1 ms) then a normal one, which waits for a
fresh worker to start.

Run: `.venv/bin/python -m bench.pdf_deadline [--readings 40] [--rounds 3]`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import replace

from bench.common import percentile, signed_pdf, uptime
from hub.ingest import pdf_workers
from hub.ingest.pdf_workers import WORKERS
from hub.ingest.pdfs import PdfBounds, PdfReader
from signing.pades.validate import PdfReading, read_pdf
from signing.pki import CertificateAuthority

CONCURRENCY = 2
GRACE_SECONDS = 5.0
Read = Callable[[bytes], Awaitable[PdfReading]]


async def timed(read: Read, pdf: bytes, readings: int) -> list[float]:
    """Seconds per reading, `CONCURRENCY` at a time."""
    times: list[float] = []
    left = iter(range(readings))

    async def one_at_a_time() -> None:
        for _ in left:
            started = time.perf_counter()
            reading = await read(pdf)
            times.append(time.perf_counter() - started)
            assert reading.violation is None, reading.errors

    await asyncio.gather(*(one_at_a_time() for _ in range(CONCURRENCY)))
    return times


def line(name: str, times: list[float]) -> str:
    ms = [t * 1000 for t in times]
    return (
        f"{name:<7} n={len(ms):<4} median {statistics.median(ms):6.1f} ms"
        f"  p95 {percentile(ms, 95):6.1f} ms  mean {statistics.fmean(ms):6.1f} ms"
    )


async def bench(pdf: bytes, readings: int, rounds: int) -> None:
    bounds = PdfBounds(workers=2)
    threads = ThreadPoolExecutor(2)
    reader = PdfReader(bounds, threads)
    loop = asyncio.get_running_loop()
    pool = ProcessPoolExecutor(
        2,
        mp_context=pdf_workers._CONTEXT,
        initializer=pdf_workers._start_worker,
        initargs=(bounds.max_memory_bytes,),
    )

    async def timer(data: bytes) -> PdfReading:
        future = loop.run_in_executor(pool, read_pdf, data, bounds.limits)
        return await asyncio.wait_for(future, bounds.max_seconds + GRACE_SECONDS)

    placements: dict[str, Read] = {"timer": timer, "worker": reader.read}
    for read in placements.values():  # start the workers before timing
        await timed(read, pdf, 4)
    results: dict[str, list[float]] = {name: [] for name in placements}
    for _ in range(rounds):
        for name, read in placements.items():
            results[name] += await timed(read, pdf, readings)
    for name, times in results.items():
        print(line(name, times))
    ratio = statistics.median(results["worker"]) / statistics.median(results["timer"])
    print(f"worker / timer (medians): {ratio:.3f}")

    cut = PdfReader(replace(bounds, max_seconds=0.001), threads)
    after: list[float] = []
    for _ in range(5):
        assert (await cut.read(pdf)).violation is not None
        started = time.perf_counter()
        await reader.read(pdf)
        after.append(time.perf_counter() - started)
    print(line("after a cut-off (a new worker starts)", after))
    pool.shutdown()
    threads.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readings", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pdf, _, _ = signed_pdf(CertificateAuthority.init(tmp), "000.00.00.H26")
    print(f"PDF {len(pdf):,} bytes, 2 signatures; {CONCURRENCY} in flight, 2 workers each")
    print(f"before: {uptime()}")
    logging.getLogger("hub.ingest.pdfs").setLevel(logging.ERROR)  # the cut-offs' warnings
    WORKERS.acquire()
    try:
        asyncio.run(bench(pdf, args.readings, args.rounds))
    finally:
        WORKERS.release()
    print(f"after:  {uptime()}")


if __name__ == "__main__":
    main()
