"""Accepted documents per second at `POST /v1/documents`, next to a bare FastAPI app.

Starts, on loopback: a hub with one worker on SQLite and on PostgreSQL (a throwaway
cluster, or `--postgres-url`), and a bare FastAPI app that only parses the same JSON
body and answers 202. Loads them with Debian's `wrk` (`apt-get install -y wrk`) from a
separate process, cycling through a pre-signed pool of unique ~10 KB packages (two
signatures each) to 1 and to 3 recipients, with one pre-minted bearer token per
sender. Prints accepted documents per second, p50/p99 latency, and the ratios
hub/bare and hub/(bare plus the two signature verifications, measured here).

Targets (one hub worker, PostgreSQL): >= 1,000 accepted documents/s, and p99 < 50 ms
at 700/s (the paced run; wrk has no rate option, so the Lua script paces each thread).
Each hub is warmed up first (2 s at 100/s, not counted); the paced run comes
next, so it measures a hub in its steady state rather than one still catching up
(sealing, vacuuming) after the saturated runs that follow it.

Run: `.venv/bin/python -m bench.ingest [--duration 8] [--no-postgres] [--workers 1,2,4]`
(with several counts, the PostgreSQL hub runs once per count and the scaling ratios
against one worker are printed).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request, Response

from bench.common import (
    HUB_ID,
    ROOT,
    create_pg_database,
    free_port,
    fresh_database,
    hub_command,
    hub_env,
    make_ca,
    postgres_server,
    server,
    server_pids,
    tree_cpu_seconds,
    uptime,
)
from bench.pg_waits import sampling
from signing.certs import load_certificate
from signing.jose import mint_token
from signing.keys import load_private_key
from signing.package import new_package, package_json, parse_package
from signing.pki import CertificateAuthority
from signing.sign import sign_package
from signing.trust import TrustStore
from signing.verify import verify_package

SENDERS = [f"000.00.00.H{n:02d}" for n in range(11, 15)]
RECIPIENTS = [f"000.00.00.G{n:02d}" for n in range(21, 24)]
HEADER = {
    "code": {"number": "274", "notation": "QĐ-UBND"},
    "promulgation": {"place": "Hưng Yên", "date": "2025-03-12"},
    "type": "QD",
    "subject": "Về việc ban hành quy chế làm việc",
    "signer": {"name": "Nguyễn Văn A", "position": "Chủ tịch"},
}
ATTACHMENT_BYTES = 4 * 1024  # with two x5c chains, the wire body is about 10 KB

WRK_SCRIPT = Path(__file__).with_name("ingest_load.lua")
WARM_UP_RATE = 100
WARM_UP_SECONDS = 2
"""The wrk Lua script: cycles through the pre-signed pool; paces each thread to a rate."""


@dataclass(frozen=True)
class Run:
    target: str
    recipients: int
    paced: int
    seconds: float
    requests: int
    accepted: int
    other: int
    wrapped: int
    p50_ms: float
    p99_ms: float
    socket_errors: int
    hub_cpu: float = 0.0
    """CPU seconds the hub's processes used meanwhile."""

    @property
    def accepted_per_second(self) -> float:
        return self.accepted / self.seconds

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds


# -- the pool of signed packages ------------------------------------------------------

_signers: dict[str, tuple[object, object, object, object]] = {}


def _load_signers(pki: str) -> None:
    for code in SENDERS:
        _signers[code] = (
            load_private_key(Path(pki) / f"{code}.official.key"),
            [
                load_certificate(Path(pki) / f"{code}.official.crt"),
                load_certificate(Path(pki) / "ca.crt"),
            ],
            load_private_key(Path(pki) / f"{code}.org.key"),
            [
                load_certificate(Path(pki) / f"{code}.org.crt"),
                load_certificate(Path(pki) / "ca.crt"),
            ],
        )


def _signed(args: tuple[int, int]) -> str:
    number, recipients = args
    sender_index = number % len(SENDERS)
    sender = SENDERS[sender_index]
    official_key, official_chain, org_key, org_chain = _signers[sender]
    # Not a PDF: validating a principal PDF is measured on its own by bench/pades.py.
    files = [("qd.bin", "application/octet-stream", os.urandom(ATTACHMENT_BYTES))]
    pkg = new_package(sender, RECIPIENTS[:recipients], HEADER, files)
    pkg = sign_package(pkg, official_key, official_chain, "personal")  # type: ignore[arg-type]
    pkg = sign_package(pkg, org_key, org_chain, "organization")  # type: ignore[arg-type]
    return f"{sender_index}\t{package_json(pkg).decode()}"


def write_pool(pki: Path, path: Path, count: int, recipients: int) -> None:
    with ProcessPoolExecutor(
        os.cpu_count() or 2, initializer=_load_signers, initargs=(str(pki),)
    ) as pool:
        lines = pool.map(_signed, [(n, recipients) for n in range(count)], chunksize=100)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def make_pki(pki: Path) -> CertificateAuthority:
    ca = make_ca(pki)
    for code in SENDERS + RECIPIENTS:
        ca.issue("organization", code, f"Agency {code}").save(pki / f"{code}.org")
        ca.issue("official", code, "Nguyễn Văn A", title="Chủ tịch").save(pki / f"{code}.official")
    return ca


def verification_seconds(ca: CertificateAuthority, pool: Path, sample: int = 300) -> float:
    """The hub's cost of parsing and verifying one package (two signatures), warm cache."""
    lines = pool.read_text(encoding="utf-8").splitlines()[:sample]
    trust = TrustStore([ca.certificate], [ca.crl()])
    now = dt.datetime.now(dt.UTC)
    bodies = [line.split("\t", 1)[1].encode() for line in lines]
    verify_package(parse_package(bodies[0]), trust, received_at=now)
    start = time.perf_counter()
    for body in bodies:
        verify_package(parse_package(body), trust, received_at=now)
    return (time.perf_counter() - start) / len(bodies)


# -- servers ----------------------------------------------------------------------------


def serve_bare(port: int) -> None:
    import uvicorn

    app = FastAPI()

    @app.post("/v1/documents")
    async def submit(request: Request) -> Response:
        json.loads(await request.body())
        return Response(b"{}", status_code=202, media_type="application/json")

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def prepare_database(url: str, pki: Path, ca: CertificateAuthority) -> None:
    from registry.certificates import add_certificate
    from registry.db import create_engine, migrate, session_factory
    from registry.members import MemberInput, create_member

    await migrate(url)
    engine = create_engine(url)
    try:
        async with session_factory(engine).begin() as session:
            for code in SENDERS + RECIPIENTS:
                await create_member(
                    session, MemberInput(code=code, name=f"Agency {code}"), actor="bench"
                )
                pem = (pki / f"{code}.org.crt").read_bytes()
                await add_certificate(session, code, pem, roots=[ca.certificate], actor="bench")
    finally:
        await engine.dispose()


def tokens_file(pki: Path, path: Path) -> Path:
    tokens = []
    for code in SENDERS:
        key = load_private_key(pki / f"{code}.org.key")
        tokens.append(mint_token(key, load_certificate(pki / f"{code}.org.crt"), code, HUB_ID))
    path.write_text("\n".join(tokens) + "\n")
    return path


def wrk(
    url: str, script: Path, pool: Path, tokens: Path, args: argparse.Namespace, rate: int
) -> list[int]:
    command = [
        "wrk", "-t", str(args.threads), "-c", str(args.connections), "-d", f"{args.duration}s",
        "--timeout", "10s", "-s", str(script), url, "--",
        str(pool), str(args.threads), str(rate), str(tokens),
    ]  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(text for text in output.splitlines() if text.startswith("RESULT "))
    return [int(value) for value in line.split()[1:]]


def measure(target: str, recipients: int, rate: int, numbers: list[int], cpu: float = 0.0) -> Run:
    requests, micros, accepted, other, wrapped, p50, p99, errors = numbers
    return Run(target, recipients, rate, micros / 1e6, requests, accepted, other, wrapped,
               p50 / 1000, p99 / 1000, errors, cpu)  # fmt: skip


# -- the benchmark ----------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=8, help="seconds per load run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rate", type=int, default=700, help="the paced run's requests/s")
    parser.add_argument(
        "--workers",
        default="1",
        help="hub worker processes, or a list run one after the other: 1,2,4 (the targets "
        "are for 1; SQLite runs with the first count only: it has one writer)",
    )
    parser.add_argument("--pool", type=int, default=0, help="packages per run (default: enough)")
    parser.add_argument("--postgres-url", help="a PostgreSQL server to create the database on")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--hub-source", help="run the hub from this checkout instead")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare FastAPI app")
    parser.add_argument("--no-paced", action="store_true", help="skip the paced runs")
    parser.add_argument(
        "--waits", action="store_true", help="sample PostgreSQL's wait events and locks"
    )
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.serve_bare)
        return
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk")
    with tempfile.TemporaryDirectory(prefix="lienthong-bench-") as tmp:
        run_all(Path(tmp), args)


def run_all(tmp: Path, args: argparse.Namespace) -> None:
    pki = tmp / "pki"
    ca = make_pki(pki)
    script = tmp / "load.lua"
    script.write_text(WRK_SCRIPT.read_text(encoding="utf-8"))
    size = args.pool or max(2000, 1600 * args.duration)
    started = time.monotonic()
    pools = {n: tmp / f"pool-{n}.txt" for n in (1, 3)}
    for recipients, path in pools.items():
        write_pool(pki, path, size, recipients)
    paced_pool = tmp / "pool-paced.txt"
    write_pool(pki, paced_pool, int(args.rate * args.duration * 1.2) + 100, 3)
    warm_pools = {kind: tmp / f"pool-warm-{kind}.txt" for kind in ("sqlite", "postgresql")}
    for path in warm_pools.values():
        write_pool(pki, path, WARM_UP_RATE * WARM_UP_SECONDS + 100, 3)
    body = len(pools[1].open(encoding="utf-8").readline().split("\t", 1)[1].encode())
    print(f"pre-signed {2 * size + args.rate * args.duration * 1.2:.0f} packages "
          f"(~{body / 1024:.1f} KB each) in {time.monotonic() - started:.0f} s")  # fmt: skip
    verify_s = verification_seconds(ca, pools[1])
    print(f"parse + verify one package (two signatures, warm cache): {verify_s * 1000:.2f} ms")

    runs: list[Run] = []
    if not args.no_bare:
        port = free_port()
        bare = [sys.executable, "-m", "bench.ingest", "--serve-bare", str(port)]
        with server(bare, dict(os.environ, PYTHONPATH=str(ROOT)), port) as url:
            for recipients, pool in pools.items():
                numbers = wrk(url, script, pool, tokens_file(pki, tmp / "tokens.txt"), args, 0)
                runs.append(measure("bare", recipients, 0, numbers))
    counts = [int(n) for n in str(args.workers).split(",")]
    for kind, url in databases(tmp, args):
        for n, workers in enumerate(counts if kind == "postgresql" else counts[:1]):
            if n:  # a fresh database: the pools' packages are in the last one already
                url = fresh_database(url, n)
            asyncio.run(prepare_database(url, pki, ca))
            port = free_port()
            target = f"hub/{kind}" if workers == 1 else f"hub/{kind} x{workers}"
            env = hub_env(url, pki, tmp / kind, args.hub_source)
            with server(hub_command(port, workers), env, port) as hub:
                tokens = tokens_file(pki, tmp / "tokens.txt")
                warm_up = argparse.Namespace(**{**vars(args), "duration": WARM_UP_SECONDS})
                wrk(hub, script, warm_pools[kind], tokens, warm_up, WARM_UP_RATE)
                loads = [] if args.no_paced else [(3, paced_pool)]
                for recipients, pool in [*loads, *pools.items()]:
                    rate = args.rate if pool == paced_pool else 0
                    tokens = tokens_file(pki, tmp / "tokens.txt")
                    sample = args.waits and kind == "postgresql" and not rate
                    cpu = tree_cpu_seconds(server_pids[hub])
                    with sampling(url) if sample else nullcontext() as waits:
                        numbers = wrk(hub, script, pool, tokens, args, rate)
                    cpu = tree_cpu_seconds(server_pids[hub]) - cpu
                    runs.append(measure(target, recipients, rate, numbers, cpu))
                    if waits is not None:
                        print(f"{target} to {recipients}, PostgreSQL's sessions:")
                        print("\n".join(waits.lines()))
    report(runs, verify_s)
    scaling(runs)
    print(uptime())


def scaling(runs: list[Run]) -> None:
    """Accepted/s of each PostgreSQL worker count against one worker (saturated runs)."""
    single = {r.recipients: r for r in runs if r.target == "hub/postgresql" and not r.paced}
    many = [r for r in runs if r.target.startswith("hub/postgresql x") and not r.paced]
    if not single or not many:
        return
    print("\nscaling on PostgreSQL (accepted/s against one worker, same run; the hub's "
          "CPU per accepted document, all its processes):")  # fmt: skip
    for run in [*single.values(), *many]:
        base = single[run.recipients].accepted_per_second
        cpu = run.hub_cpu / max(run.accepted, 1) * 1000
        print(f"  {run.target:<20} to {run.recipients}: {run.accepted_per_second:7.0f}/s "
              f"= {run.accepted_per_second / base:.2f} x one worker ({base:.0f}/s); "
              f"hub CPU {cpu:.2f} ms a document")  # fmt: skip


def databases(tmp: Path, args: argparse.Namespace) -> Iterator[tuple[str, str]]:
    if not args.no_sqlite:
        yield "sqlite", f"sqlite+aiosqlite:///{tmp / 'sqlite' / 'lienthong.db'}"
    if args.no_postgres:
        return
    with postgres_server(args.postgres_url) as base:
        if base is not None:
            yield "postgresql", create_pg_database(base)


def report(runs: list[Run], verify_s: float) -> None:
    bare = {run.recipients: run for run in runs if run.target == "bare"}
    print()
    print(f"{'target':<20}{'to':>3}{'paced':>7}{'accepted/s':>12}{'req/s':>9}{'p50 ms':>9}"
          f"{'p99 ms':>9}{'non-202':>9}{'hub/bare':>10}{'hub/(bare+verify)':>19}")  # fmt: skip
    for run in runs:
        ratios = ""
        if run.target != "bare" and not run.paced and run.recipients in bare:
            base = bare[run.recipients].requests_per_second
            with_verify = 1 / (1 / base + verify_s)
            ratios = (
                f"{run.accepted_per_second / base:>10.2f}"
                f"{run.accepted_per_second / with_verify:>19.2f}"
            )
        rate = run.accepted_per_second if run.target != "bare" else run.requests_per_second
        print(f"{run.target:<20}{run.recipients:>3}{run.paced or '-':>7}{rate:>12.0f}"
              f"{run.requests_per_second:>9.0f}{run.p50_ms:>9.1f}{run.p99_ms:>9.1f}"
              f"{run.other:>9}{ratios}")  # fmt: skip
        if run.wrapped or run.socket_errors:
            print(f"{'':20}(pool wrapped {run.wrapped}x, socket errors {run.socket_errors})")
    print("\ntargets, one hub worker on PostgreSQL: >= 1000 accepted/s; p99 < 50 ms at 700/s")


if __name__ == "__main__":
    main()
