"""Where the hub should read principal PDFs: on the event loop, in threads, or in processes.

One event loop, as in a hub worker, carries at once: a stream of submissions
with a signed 10-page PDF (read by the placement under test, `CONCURRENCY` in
flight), a stream of ordinary packages (two JWS signatures, verified on the
loop as the hub does for small bodies), and a probe that sleeps 1 ms and
records how late it wakes (the event loop's stall: what every other request
waits). Each placement runs for `SECONDS`; the figures are PDFs read per
second, ordinary packages verified per second, and the probe's lateness.
The machine is shared: `uptime` is printed before and after, and the three
placements are run in rounds (A B C A B C ...), so load changes hit each alike.

Run: `.venv/bin/python -m bench.pdf_placement [--seconds 6] [--rounds 2]`.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from bench.common import signed_pdf, uptime
from hub.ingest.pdf_workers import WORKERS
from hub.ingest.pdfs import PdfBounds, PdfReader
from signing.package import new_package
from signing.pades.validate import PdfReading, judge_reading, read_pdf
from signing.pki import CertificateAuthority
from signing.sign import sign_package
from signing.trust import TrustStore
from signing.verify import verify_package

SENDER = "000.00.00.H26"
CONCURRENCY = 4
HEADER = {
    "code": {"number": "1", "notation": "CV"},
    "promulgation": {"place": "Hà Nội", "date": "2025-03-12"},
    "type": "CV",
    "subject": "Về việc phối hợp",
    "signer": {"name": "Nguyễn Văn A", "position": "Chủ tịch"},
}


@dataclass
class Figures:
    pdfs: int = 0
    packages: int = 0
    lateness_ms: list[float] | None = None

    def line(self, name: str, seconds: float) -> str:
        late = sorted(self.lateness_ms or [0.0])
        p99 = late[min(len(late) - 1, int(len(late) * 0.99))]
        return (
            f"{name:<10} PDFs/s {self.pdfs / seconds:6.1f}   other packages/s "
            f"{self.packages / seconds:7.1f}   loop stall p50 {statistics.median(late):6.2f} ms"
            f"  p99 {p99:7.2f} ms  max {late[-1]:7.2f} ms"
        )


Read = Callable[[bytes], Awaitable[PdfReading]]


async def run(
    seconds: float, read: Read, pdf: bytes, check: Callable[[], None], trust: TrustStore
) -> Figures:
    figures = Figures(lateness_ms=[])
    stop = time.monotonic() + seconds
    now = dt.datetime.now(dt.UTC)

    async def pdfs() -> None:
        while time.monotonic() < stop:
            reading = await read(pdf)
            judge_reading(reading, trust, received_at=now)
            figures.pdfs += 1
            await asyncio.sleep(0)  # inline: let the others run between two PDFs at least

    async def packages() -> None:
        while time.monotonic() < stop:
            check()
            figures.packages += 1
            await asyncio.sleep(0)

    async def probe() -> None:
        assert figures.lateness_ms is not None
        while time.monotonic() < stop:
            started = time.perf_counter()
            await asyncio.sleep(0.001)
            figures.lateness_ms.append((time.perf_counter() - started) * 1000 - 1.0)

    await asyncio.gather(*(pdfs() for _ in range(CONCURRENCY)), packages(), probe())
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ca = CertificateAuthority.init(tmp)
        trust = TrustStore([ca.certificate], [ca.crl()])
        pdf, official, org = signed_pdf(ca, SENDER)
        pkg = new_package(SENDER, ["000.00.00.G22"], HEADER, [("a.txt", "text/plain", b"x" * 4096)])
        pkg = sign_package(pkg, official.key, official.full_chain, "personal")
        pkg = sign_package(pkg, org.key, org.full_chain, "organization")
        received = dt.datetime.now(dt.UTC)

        def check() -> None:
            verify_package(pkg, trust, received_at=received)

        threads = ThreadPoolExecutor(2)
        processes = PdfReader(PdfBounds(workers=2), threads)
        in_threads = PdfReader(PdfBounds(workers=0), threads)

        async def inline(data: bytes) -> PdfReading:
            return read_pdf(data)

        placements: dict[str, Read] = {
            "inline": inline,
            "threads": in_threads.read,
            "processes": processes.read,
        }

        async def bench() -> dict[str, list[str]]:
            await processes.read(pdf)  # start the workers before timing
            lines: dict[str, list[str]] = {name: [] for name in placements}
            for _ in range(args.rounds):
                for name, read in placements.items():
                    figures = await run(args.seconds, read, pdf, check, trust)
                    lines[name].append(figures.line(name, args.seconds))
            return lines

        print(f"PDF {len(pdf):,} bytes, 10 pages, 2 signatures; {CONCURRENCY} in flight")
        print(f"before: {uptime()}")
        lines = asyncio.run(bench())
        for rows in lines.values():
            for row in rows:
                print(row)
        print(f"after:  {uptime()}")
        threads.shutdown()
        WORKERS.get(2, PdfBounds().max_memory_bytes).close()


if __name__ == "__main__":
    main()
