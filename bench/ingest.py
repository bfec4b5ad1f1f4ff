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
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from fastapi import FastAPI, Request, Response

from signing.certs import load_certificate
from signing.jose import mint_token
from signing.keys import load_private_key
from signing.package import new_package, package_json, parse_package
from signing.pki import CertificateAuthority
from signing.sign import sign_package
from signing.trust import TrustStore
from signing.verify import verify_package

ROOT = Path(__file__).resolve().parents[1]
HUB_ID = "lienthong-bench"
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
    from cryptography.hazmat.primitives.serialization import Encoding

    ca = CertificateAuthority.init(pki)
    ca.issue("hub", "000.00.00.A00", "Bench hub").save(pki / "hub")
    (pki / "crl.pem").write_bytes(ca.crl().public_bytes(Encoding.PEM))
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_bare(port: int) -> None:
    import uvicorn

    app = FastAPI()

    @app.post("/v1/documents")
    async def submit(request: Request) -> Response:
        json.loads(await request.body())
        return Response(b"{}", status_code=202, media_type="application/json")

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


@contextmanager
def server(command: list[str], env: dict[str, str], port: int) -> Iterator[str]:
    process = subprocess.Popen(command, env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # a loaded machine starts a hub slowly
        last = "no answer"
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{command} exited with {process.returncode}")
            try:
                answer = httpx.get(url + "/readyz", timeout=10)
                if answer.status_code in (200, 404):
                    break
                last = f"{answer.status_code} {answer.text[:300]}"
            except httpx.TransportError as exc:
                last = repr(exc)
            if time.monotonic() > deadline:
                raise RuntimeError(f"{command} did not come up: {last}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


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


def measure(target: str, recipients: int, rate: int, numbers: list[int]) -> Run:
    requests, micros, accepted, other, wrapped, p50, p99, errors = numbers
    return Run(target, recipients, rate, micros / 1e6, requests, accepted, other, wrapped,
               p50 / 1000, p99 / 1000, errors)  # fmt: skip


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
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    port = free_port()
    with server(
        [sys.executable, "-m", "bench.ingest", "--serve-bare", str(port)], env, port
    ) as url:
        for recipients, pool in pools.items():
            tokens = tokens_file(pki, tmp / "tokens.txt")
            numbers = wrk(url, script, pool, tokens, args, 0)
            runs.append(measure("bare", recipients, 0, numbers))
    counts = [int(n) for n in str(args.workers).split(",")]
    for kind, url in databases(tmp, args):
        (tmp / kind).mkdir(exist_ok=True)  # the hub's data directory: /readyz checks its disk
        for n, workers in enumerate(counts if kind == "postgresql" else counts[:1]):
            if n:  # a fresh database: the pools' packages are in the last one already
                url = fresh_database(url, n)
            asyncio.run(prepare_database(url, pki, ca))
            hub_env = dict(env, LIENTHONG_DATABASE_URL=url, LIENTHONG_PKI_DIR=str(pki),
                           LIENTHONG_DATA_DIR=str(tmp / kind), LIENTHONG_HUB_ID=HUB_ID,
                           LIENTHONG_LOG_LEVEL="WARNING")  # fmt: skip
            port = free_port()
            command = [sys.executable, "-m", "lienthong", "hub", "serve", "--port", str(port),
                       "--workers", str(workers), "--log-level", "warning"]  # fmt: skip
            target = f"hub/{kind}" if workers == 1 else f"hub/{kind} x{workers}"
            with server(command, hub_env, port) as url_:
                tokens = tokens_file(pki, tmp / "tokens.txt")
                warm_up = argparse.Namespace(**{**vars(args), "duration": WARM_UP_SECONDS})
                wrk(url_, script, warm_pools[kind], tokens, warm_up, WARM_UP_RATE)
                for recipients, pool in [(3, paced_pool), *pools.items()]:
                    rate = args.rate if pool == paced_pool else 0
                    tokens = tokens_file(pki, tmp / "tokens.txt")
                    numbers = wrk(url_, script, pool, tokens, args, rate)
                    runs.append(measure(target, recipients, rate, numbers))
    report(runs, verify_s)
    scaling(runs)
    print(f"load: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (2 cores shared)")


def scaling(runs: list[Run]) -> None:
    """Accepted/s of each PostgreSQL worker count against one worker (saturated runs)."""
    single = {r.recipients: r for r in runs if r.target == "hub/postgresql" and not r.paced}
    many = [r for r in runs if r.target.startswith("hub/postgresql x") and not r.paced]
    if not single or not many:
        return
    print("\nscaling on PostgreSQL (accepted/s against one worker, same run):")
    for run in many:
        base = single[run.recipients].accepted_per_second
        print(f"  {run.target:<20} to {run.recipients}: {run.accepted_per_second:7.0f}/s "
              f"= {run.accepted_per_second / base:.2f} x one worker ({base:.0f}/s)")  # fmt: skip


def databases(tmp: Path, args: argparse.Namespace) -> Iterator[tuple[str, str]]:
    yield "sqlite", f"sqlite+aiosqlite:///{tmp / 'sqlite' / 'lienthong.db'}"
    if args.no_postgres:
        return
    if args.postgres_url:
        yield "postgresql", create_pg_database(args.postgres_url)
        return
    try:
        from tests.postgres import throwaway_cluster
    except ImportError:
        print("(no PostgreSQL: tests/postgres.py is not importable; use --postgres-url)")
        return
    try:
        with throwaway_cluster(durable=True) as base:  # fsync on: a 202 is on disk
            yield "postgresql", create_pg_database(base)
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"(no PostgreSQL: {exc})")


def fresh_database(url: str, n: int) -> str:
    """Another empty database on the PostgreSQL server of `url`."""
    import asyncpg  # type: ignore[import-untyped]

    server, name = url.split("://", 1)[1].rsplit("/", 1)
    fresh = f"{name}_{n}"

    async def create() -> None:
        connection = await asyncpg.connect(f"postgresql://{server}/postgres")
        try:
            await connection.execute(f"CREATE DATABASE {fresh}")
        finally:
            await connection.close()

    asyncio.run(create())
    return f"postgresql+asyncpg://{server}/{fresh}"


def create_pg_database(base: str) -> str:
    import asyncpg

    name = f"bench_{os.getpid()}_{int(time.time())}"

    async def create() -> None:
        connection = await asyncpg.connect(base.rstrip("/") + "/postgres")
        try:
            await connection.execute(f"CREATE DATABASE {name}")
        finally:
            await connection.close()

    asyncio.run(create())
    return "postgresql+asyncpg://" + base.split("://", 1)[1].rstrip("/") + "/" + name


def report(runs: list[Run], verify_s: float) -> None:
    bare = {run.recipients: run for run in runs if run.target == "bare"}
    print()
    print(f"{'target':<20}{'to':>3}{'paced':>7}{'accepted/s':>12}{'req/s':>9}{'p50 ms':>9}"
          f"{'p99 ms':>9}{'non-202':>9}{'hub/bare':>10}{'hub/(bare+verify)':>19}")  # fmt: skip
    for run in runs:
        ratios = ""
        if run.target != "bare" and not run.paced:
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
