"""Push delivery: one document broadcast to 93 push members, against plain httpx.

Starts, on loopback: a throwaway PostgreSQL (fsync on; or `--postgres-url`), a hub
(`lienthong hub serve`, one worker, its push worker on) and a fast stub receiver (one
process, a bare asyncio HTTP/1.1 server answering `200 {}` at once, keep-alive) that
serves the 93 push endpoints `http://127.0.0.1:PORT/m/{code}`. The Government Office
(`000.00.00.G22`) broadcasts one ~10 KB signed document to the 93 other national units,
`--rounds` times, one round after the other has been delivered in full. For each round:
the submit's answer time, and from the hub's receipt (`documents.received_at`) to the
recipients' `delivered_at` (the hub's clock at the 2xx), the median and the last.

Baseline, measured in the same run: the same 93 POSTs (bodies of the same size) sent to
the same stub by one plain `httpx.AsyncClient` with the hub's concurrency limit per
destination (`LIENTHONG_PUSH_CONNECTIONS_PER_HOST`, default 16), `asyncio.gather`ed.
Targets: broadcast (receipt to last delivered) <= 1.5x the baseline and under 1 s.
The hub pushes with aiohttp (see `hub.delivery.fanout`), so the same POSTs from a plain
aiohttp session are printed too: the hub's own overhead is the ratio to that one.

`--hub-source DIR` runs the hub from another checkout (e.g. `git archive` of an older
commit) to compare before and after on the same machine in the same run.

Second part, on the same hub: submissions paced at `--idle-rate` per second for
`--idle-seconds` (each to 3 push members), alone, then with `--idle-polls` (2,000) long
polls (`GET /v1/inbox?wait=60`, 20 members with nothing to receive) held open by the
bench, then alone again: the submit latency p50/p99 without (before and after pooled)
and with, and their ratio.

Third part, sustained: `--sustained-rate` (300) documents/s for `--sustained-seconds` (30),
each to 3 recipients: first to three pull members nobody reads (the load without delivery
work), then to one push member and two pull members whose inboxes the bench long-polls and
acknowledges: both phases' submit p50/p99 and their ratio, and the second's delivery lag
(receipt to `delivered_at`) p50/p99.

Run: `.venv/bin/python -m bench.delivery [--rounds 10] [--hub-source DIR] [--idle-polls N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import bindparam

from bench.ingest import create_pg_database, free_port
from registry.national import load_national_units
from signing.jose import mint_token
from signing.package import new_package, package_json
from signing.pki import CertificateAuthority
from signing.sign import sign_package

ROOT = Path(__file__).resolve().parents[1]
HUB_ID = "lienthong-bench"
SENDER = "000.00.00.G22"
HEADER = {
    "code": {"number": "12", "notation": "QĐ-TTg"},
    "promulgation": {"place": "Hà Nội", "date": "2025-03-12"},
    "type": "QD",
    "subject": "Quyết định của Thủ tướng Chính phủ",
    "signer": {"name": "Phạm Minh Chính", "position": "Thủ tướng"},
}
ATTACHMENT_BYTES = 4 * 1024
IDLE_MEMBERS = 20


# -- the stub receiver ------------------------------------------------------------------


class _Stub(asyncio.Protocol):
    """HTTP/1.1 with keep-alive; answers every request `200 {}` as soon as its body is in."""

    ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"

    def __init__(self) -> None:
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1").lower()
            length = 0
            for line in head.split("\r\n"):
                if line.startswith("content-length:"):
                    length = int(line.split(":", 1)[1])
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            assert self.transport is not None
            self.transport.write(self.ANSWER)


def serve_stub(port: int) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_Stub, "127.0.0.1", port, backlog=1024)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


@contextmanager
def server(command: list[str], env: dict[str, str], port: int) -> Iterator[str]:
    """Run `command` until the block ends; yield its URL once `/healthz` answers."""
    process = subprocess.Popen(command, env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{command} exited with {process.returncode}")
            try:
                if httpx.get(url + "/healthz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{command} did not come up")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


# -- set-up -------------------------------------------------------------------------------


def make_pki(pki: Path) -> CertificateAuthority:
    from cryptography.hazmat.primitives.serialization import Encoding

    ca = CertificateAuthority.init(pki)
    ca.issue("hub", "000.00.00.A00", "Bench hub").save(pki / "hub")
    (pki / "crl.pem").write_bytes(ca.crl().public_bytes(Encoding.PEM))
    ca.issue("organization", SENDER, "Văn phòng Chính phủ").save(pki / "sender.org")
    ca.issue("official", SENDER, "Phạm Minh Chính", title="Thủ tướng").save(pki / "sender.off")
    for code in idle_members() + pulled_members():
        ca.issue("organization", code, f"Agency {code}").save(pki / f"idle-{code}")
    return ca


def national_recipients() -> list[str]:
    return [u.code for u in load_national_units() if u.code != SENDER][:93]


def pulled_members() -> list[str]:
    """Two pull members whose inboxes the sustained part long-polls and acknowledges."""
    from registry.codes import AgencyCode

    return [str(AgencyCode.parse(SENDER).child(n)) for n in (1, 2)]


def unread_members() -> list[str]:
    """Three pull members nobody reads: the sustained part's load without delivery work."""
    from registry.codes import AgencyCode

    return [str(AgencyCode.parse(SENDER).child(n)) for n in (3, 4, 5)]


def idle_members() -> list[str]:
    """The members whose idle long polls the second part holds open (nothing reaches them)."""
    return national_recipients()[:IDLE_MEMBERS]


async def prepare_database(
    url: str, pki: Path, ca: CertificateAuthority, recipients: list[str], stub: str
) -> None:
    from registry.certificates import add_certificate
    from registry.db import create_engine, migrate, session_factory
    from registry.members import MemberInput, create_member

    await migrate(url)
    engine = create_engine(url)
    try:
        async with session_factory(engine).begin() as session:
            await create_member(session, MemberInput(code=SENDER, name="VPCP"), actor="bench")
            pem = (pki / "sender.org.crt").read_bytes()
            await add_certificate(session, SENDER, pem, roots=[ca.certificate], actor="bench")
            for code in recipients:
                member = MemberInput(
                    code=code, name=code, delivery_mode="push", endpoint=f"{stub}/m/{code}"
                )
                await create_member(session, member, actor="bench")
            for code in pulled_members() + unread_members():
                member = MemberInput(code=code, name=code, kind="department", parent=SENDER)
                await create_member(session, member, actor="bench")
            for code in idle_members() + pulled_members():
                pem = (pki / f"idle-{code}.crt").read_bytes()
                await add_certificate(session, code, pem, roots=[ca.certificate], actor="bench")
    finally:
        await engine.dispose()


def signed_bodies(pki: Path, recipients: list[str], count: int) -> list[bytes]:
    from signing.certs import load_certificate
    from signing.keys import load_private_key

    ca = load_certificate(pki / "ca.crt")
    org = (load_private_key(pki / "sender.org.key"), [load_certificate(pki / "sender.org.crt"), ca])
    off = (load_private_key(pki / "sender.off.key"), [load_certificate(pki / "sender.off.crt"), ca])
    bodies = []
    for _ in range(count):
        files = [("qd.bin", "application/octet-stream", os.urandom(ATTACHMENT_BYTES))]
        pkg = new_package(SENDER, recipients, HEADER, files)
        pkg = sign_package(pkg, off[0], off[1], "personal")
        pkg = sign_package(pkg, org[0], org[1], "organization")
        bodies.append(package_json(pkg))
    return bodies


# -- measuring ----------------------------------------------------------------------------


async def broadcast_rounds(
    hub: str, database_url: str, token: str, bodies: list[bytes], recipients: int
) -> list[tuple[float, float, float]]:
    """Per round: (submit seconds, receipt to median delivered, receipt to last delivered)."""
    from sqlalchemy import text

    from registry.db import create_engine

    engine = create_engine(database_url)
    rounds = []
    try:
        async with httpx.AsyncClient(base_url=hub, timeout=60) as client:
            for body in bodies:
                started = time.perf_counter()
                headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
                answer = await client.post("/v1/documents", content=body, headers=headers)
                submit = time.perf_counter() - started
                assert answer.status_code == 202, answer.text
                document = answer.json()["document_id"]
                deadline = time.monotonic() + 120
                while True:
                    async with engine.connect() as connection:
                        rows = (
                            await connection.execute(
                                text(
                                    "SELECT d.delivered_at, o.received_at FROM deliveries d "
                                    "JOIN documents o ON o.id = d.document_id "
                                    "WHERE d.document_id = :id AND d.delivered_at IS NOT NULL"
                                ),
                                {"id": document},
                            )
                        ).all()
                    if len(rows) == recipients:
                        break
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"only {len(rows)} of {recipients} delivered in 120 s")
                    await asyncio.sleep(0.05)
                lags = sorted((r.delivered_at - r.received_at).total_seconds() for r in rows)
                rounds.append((submit, statistics.median(lags), lags[-1]))
    finally:
        await engine.dispose()
    return rounds


async def baseline_rounds(stub: str, body: bytes, recipients: list[str], limit: int, rounds: int
                          ) -> list[float]:  # fmt: skip
    """The same POSTs from one plain httpx client, `limit` connections: seconds per round."""
    limits = httpx.Limits(max_connections=limit, max_keepalive_connections=limit)
    times = []
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        for _ in range(rounds + 1):  # the first one opens the connections: not counted
            started = time.perf_counter()
            answers = await asyncio.gather(
                *(
                    client.post(
                        f"{stub}/m/{code}/v1/inbox",
                        content=body,
                        headers={"Content-Type": "application/json"},
                    )
                    for code in recipients
                )
            )
            assert all(a.status_code == 200 for a in answers)
            times.append(time.perf_counter() - started)
    return times[1:]


async def aiohttp_rounds(stub: str, body: bytes, recipients: list[str], limit: int, rounds: int
                         ) -> list[float]:  # fmt: skip
    """The same POSTs from one plain aiohttp session (what the hub pushes with)."""
    import aiohttp

    times = []
    connector = aiohttp.TCPConnector(limit=limit)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def post(code: str) -> int:
            async with session.post(
                f"{stub}/m/{code}/v1/inbox",
                data=body,
                headers={"Content-Type": "application/json"},
            ) as answer:
                await answer.read()
                return answer.status

        for _ in range(rounds + 1):
            started = time.perf_counter()
            statuses = await asyncio.gather(*(post(code) for code in recipients))
            assert all(s == 200 for s in statuses)
            times.append(time.perf_counter() - started)
    return times[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--postgres-url", help="a PostgreSQL server to create the database on")
    parser.add_argument("--hub-source", help="run the hub from this checkout instead")
    parser.add_argument("--connections", type=int, default=16, help="per destination")
    parser.add_argument("--idle-polls", type=int, default=2000, help="0: skip that part")
    parser.add_argument("--idle-rate", type=int, default=50, help="submissions/s meanwhile")
    parser.add_argument("--idle-seconds", type=int, default=10)
    parser.add_argument("--sustained-rate", type=int, default=300, help="0: skip that part")
    parser.add_argument("--sustained-seconds", type=int, default=30)
    parser.add_argument("--serve-stub", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_stub:
        serve_stub(args.serve_stub)
        return
    with tempfile.TemporaryDirectory(prefix="lienthong-bench-") as tmp:
        if args.postgres_url:
            run(Path(tmp), args, create_pg_database(args.postgres_url))
            return
        from tests.postgres import throwaway_cluster

        with throwaway_cluster(durable=True) as base:
            run(Path(tmp), args, create_pg_database(base))


def run(tmp: Path, args: argparse.Namespace, database_url: str) -> None:
    print(f"load before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
          f"{os.getloadavg()[2]:.2f} (2 cores shared)")  # fmt: skip
    recipients = national_recipients()
    pki = tmp / "pki"
    ca = make_pki(pki)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    stub_port = free_port()
    stub_command = [sys.executable, "-m", "bench.delivery", "--serve-stub", str(stub_port)]
    with server(stub_command, env, stub_port) as stub:
        asyncio.run(prepare_database(database_url, pki, ca, recipients, stub))
        bodies = signed_bodies(pki, recipients, args.rounds + 1)
        hub_env = dict(
            env,
            PYTHONPATH=args.hub_source or str(ROOT),
            LIENTHONG_DATABASE_URL=database_url,
            LIENTHONG_PKI_DIR=str(pki),
            LIENTHONG_DATA_DIR=str(tmp / "hub"),
            LIENTHONG_HUB_ID=HUB_ID,
            LIENTHONG_LOG_LEVEL="WARNING",
            LIENTHONG_PUSH_CONNECTIONS_PER_HOST=str(args.connections),
        )
        port = free_port()
        command = [sys.executable, "-m", "lienthong", "hub", "serve", "--port", str(port),
                   "--workers", "1", "--log-level", "warning"]  # fmt: skip
        from signing.certs import load_certificate
        from signing.keys import load_private_key

        token = mint_token(
            load_private_key(pki / "sender.org.key"),
            load_certificate(pki / "sender.org.crt"),
            SENDER,
            HUB_ID,
        )
        paced = signed_bodies(pki, recipients[-3:], 3 * args.idle_rate * args.idle_seconds)
        idle_tokens = [
            mint_token(
                load_private_key(pki / f"idle-{code}.key"),
                load_certificate(pki / f"idle-{code}.crt"),
                code,
                HUB_ID,
            )
            for code in idle_members()
        ]
        count = args.sustained_rate * args.sustained_seconds
        mixed = [recipients[-1], *pulled_members()]
        sustained_bodies = (
            (signed_bodies(pki, unread_members(), count), signed_bodies(pki, mixed, count))
            if count
            else None
        )
        pull_tokens = [
            mint_token(
                load_private_key(pki / f"idle-{code}.key"),
                load_certificate(pki / f"idle-{code}.crt"),
                code,
                HUB_ID,
            )
            for code in pulled_members()
        ]
        with server(command, hub_env, port) as hub:
            found = asyncio.run(broadcast_rounds(hub, database_url, token, bodies, 93))
            sustained = None
            if sustained_bodies is not None:
                sustained = asyncio.run(
                    sustained_phases(hub, database_url, token, sustained_bodies, pull_tokens, args)
                )
            idle = (
                asyncio.run(idle_poll_phases(hub, token, paced, idle_tokens, args))
                if args.idle_polls
                else None
            )
        found = found[1:]  # the first round warms the hub up: not counted
        push_body = json.dumps(
            {"delivery_id": "x" * 36, "package": json.loads(bodies[0]), "receipt": "r" * 700}
        ).encode()
        base = asyncio.run(
            baseline_rounds(stub, push_body, recipients, args.connections, args.rounds)
        )
        plain_aiohttp = asyncio.run(
            aiohttp_rounds(stub, push_body, recipients, args.connections, args.rounds)
        )
    load = os.getloadavg()
    last = sorted(r[2] for r in found)
    median = sorted(r[1] for r in found)
    submit = sorted(r[0] for r in found)
    base_p50 = statistics.median(base)
    source = args.hub_source or "this checkout"
    print(f"\nbroadcast of one ~{len(bodies[0]) / 1024:.1f} KB document to 93 push members, "
          f"{len(found)} rounds, hub from {source}, "
          f"{args.connections} connections per host")  # fmt: skip
    print(f"  receipt -> last delivered    p50 {statistics.median(last) * 1000:7.0f} ms"
          f"   max {last[-1] * 1000:7.0f} ms")  # fmt: skip
    print(f"  receipt -> median delivered  p50 {statistics.median(median) * 1000:7.0f} ms"
          f"   max {median[-1] * 1000:7.0f} ms")  # fmt: skip
    print(f"  submit answered in           p50 {statistics.median(submit) * 1000:7.0f} ms"
          f"   max {submit[-1] * 1000:7.0f} ms")  # fmt: skip
    print(f"  baseline (plain httpx, 93 POSTs, {args.connections} connections) "
          f"p50 {base_p50 * 1000:.0f} ms   max {max(base) * 1000:.0f} ms")  # fmt: skip
    aio_p50 = statistics.median(plain_aiohttp)
    print(f"  plain aiohttp, the same POSTs and limit      p50 {aio_p50 * 1000:.0f} ms   "
          f"max {max(plain_aiohttp) * 1000:.0f} ms")  # fmt: skip
    print(f"  ratio last-delivered p50 / baseline p50: {statistics.median(last) / base_p50:.2f}"
          f"   (target <= 1.5, and under 1 s); / plain aiohttp p50: "
          f"{statistics.median(last) / aio_p50:.2f}")  # fmt: skip
    if idle is not None:
        without, with_polls, held = idle
        print(f"\nsubmissions paced at {args.idle_rate}/s for {args.idle_seconds} s (3 push "
              f"recipients each): before, with {args.idle_polls} idle long polls open "
              f"({held} at the end), after (before and after pooled as 'without')")  # fmt: skip
        for name, lat in (("without idle polls", without), ("with idle polls", with_polls)):
            print(f"  {name:<20} p50 {_pct(lat, 50) * 1000:6.1f} ms  p99 "
                  f"{_pct(lat, 99) * 1000:6.1f} ms  ({len(lat)} answered 202)")  # fmt: skip
        print(f"  ratio with/without: p50 {_pct(with_polls, 50) / _pct(without, 50):.2f}  "
              f"p99 {_pct(with_polls, 99) / _pct(without, 99):.2f}")  # fmt: skip
    if sustained is not None:
        (quiet_lat, quiet_rate), (busy_lat, busy_rate, lags, undelivered) = sustained
        print(f"\nsustained: {args.sustained_rate} documents/s asked for "
              f"{args.sustained_seconds} s, to 3 recipients each")  # fmt: skip
        print(f"  without delivery work (3 pull members nobody reads): {quiet_rate:.0f}/s "
              f"answered, submit p50 {_pct(quiet_lat, 50) * 1000:.1f} ms "
              f"p99 {_pct(quiet_lat, 99) * 1000:.1f} ms")  # fmt: skip
        print(f"  with delivery (1 push, 2 pull long-polled and acknowledged): {busy_rate:.0f}/s "
              f"answered, submit p50 {_pct(busy_lat, 50) * 1000:.1f} ms "
              f"p99 {_pct(busy_lat, 99) * 1000:.1f} ms")  # fmt: skip
        print(f"  submit p99 with/without: {_pct(busy_lat, 99) / _pct(quiet_lat, 99):.2f} "
              f"(target 0.8-1.2)")  # fmt: skip
        for mode, lag in lags.items():
            if lag:
                print(f"  delivery lag, {mode} (receipt -> delivered): p50 "
                      f"{_pct(lag, 50) * 1000:.0f} ms p99 {_pct(lag, 99) * 1000:.0f} ms "
                      f"max {max(lag) * 1000:.0f} ms ({len(lag)} delivered)")  # fmt: skip
        print(f"  not delivered within 60 s of the load's end: {undelivered} "
              f"(target: lag p99 < 1 s)")  # fmt: skip
    print(f"load after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    subprocess.run(["uptime"], check=False)


async def sustained_phases(
    hub: str,
    database_url: str,
    token: str,
    bodies: tuple[list[bytes], list[bytes]],
    pull_tokens: list[str],
    args: argparse.Namespace,
) -> tuple[tuple[list[float], float], tuple[list[float], float, dict[str, list[float]], int]]:
    """The paced load to members nobody reads, then to one push and two long-polled pull
    members; submit latencies, answered rates, and the delivery lags of the second."""
    import aiohttp
    from sqlalchemy import text

    from registry.db import create_engine

    rate = args.sustained_rate
    started = time.perf_counter()
    quiet = await paced_submits(hub, token, bodies[0], rate)
    quiet_rate = len(quiet) / (time.perf_counter() - started)
    stop = asyncio.Event()
    timeout = aiohttp.ClientTimeout(total=None, sock_read=90)
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def consume(member_token: str) -> None:
            headers = {"Authorization": f"Bearer {member_token}"}
            while not stop.is_set():
                try:
                    async with session.get(
                        f"{hub}/v1/inbox?wait=20&limit=100", headers=headers
                    ) as answer:
                        batch = await answer.json()
                    await asyncio.gather(
                        *(ack(item["delivery_id"], headers) for item in batch["deliveries"])
                    )
                except aiohttp.ClientError:
                    await asyncio.sleep(0.5)

        async def ack(delivery_id: str, headers: dict[str, str]) -> None:
            async with session.post(f"{hub}/v1/inbox/{delivery_id}/ack", headers=headers) as done:
                await done.read()

        consumers = [asyncio.create_task(consume(t)) for t in pull_tokens]
        await asyncio.sleep(1)
        started = time.perf_counter()
        busy = await paced_submits(hub, token, bodies[1], rate)
        busy_rate = len(busy) / (time.perf_counter() - started)
        ids = [json.loads(body)["id"] for body in bodies[1]]
        engine = create_engine(database_url)
        query = text(
            "SELECT d.delivered_at, d.mode, o.received_at FROM deliveries d "
            "JOIN documents o ON o.id = d.document_id WHERE d.document_id IN :ids"
        ).bindparams(bindparam("ids", expanding=True))
        deadline = time.monotonic() + 60
        try:
            while True:
                async with engine.connect() as connection:
                    rows = (await connection.execute(query, {"ids": ids})).all()
                waiting = sum(1 for r in rows if r.delivered_at is None)
                if waiting == 0 or time.monotonic() > deadline:
                    break
                await asyncio.sleep(1)
        finally:
            await engine.dispose()
        stop.set()
        for task in consumers:
            task.cancel()
        await asyncio.gather(*consumers, return_exceptions=True)
    lags = {
        mode: [
            (r.delivered_at - r.received_at).total_seconds()
            for r in rows
            if r.delivered_at and r.mode == mode
        ]
        for mode in ("push", "pull")
    }
    return (quiet, quiet_rate), (busy, busy_rate, lags, waiting)


def _pct(values: list[float], pct: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


async def paced_submits(hub: str, token: str, bodies: list[bytes], rate: int) -> list[float]:
    """POST `bodies` at `rate` per second (open loop); the latency of each 202."""
    import aiohttp

    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session:

        async def one(body: bytes) -> None:
            started = time.perf_counter()
            async with session.post(f"{hub}/v1/documents", data=body, headers=headers) as answer:
                await answer.read()
                if answer.status == 202:
                    latencies.append(time.perf_counter() - started)

        start = time.perf_counter()
        tasks = []
        for i, body in enumerate(bodies):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(body)))
        await asyncio.gather(*tasks)
    return latencies


async def idle_poll_phases(
    hub: str, token: str, bodies: list[bytes], idle_tokens: list[str], args: argparse.Namespace
) -> tuple[list[float], list[float], int]:
    """Paced submissions, then the same with `args.idle_polls` long polls held open."""
    import aiohttp

    third = len(bodies) // 3
    before = await paced_submits(hub, token, bodies[:third], args.idle_rate)
    stop = asyncio.Event()
    open_now = 0
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=90)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def poll(n: int) -> None:
            nonlocal open_now
            headers = {"Authorization": f"Bearer {idle_tokens[n % len(idle_tokens)]}"}
            while not stop.is_set():
                open_now += 1
                try:
                    async with session.get(f"{hub}/v1/inbox?wait=60", headers=headers) as answer:
                        await answer.read()
                except aiohttp.ClientError:
                    await asyncio.sleep(1)
                finally:
                    open_now -= 1

        polls = [asyncio.create_task(poll(n)) for n in range(args.idle_polls)]
        started = time.perf_counter()
        waiting = 0
        while waiting < args.idle_polls and time.perf_counter() - started < 120:
            await asyncio.sleep(0.5)
            async with session.get(f"{hub}/metrics") as scrape:
                for line in (await scrape.text()).splitlines():
                    if line.startswith("lienthong_long_polls_waiting "):
                        waiting = int(float(line.split()[1]))
        print(f"  {waiting} idle long polls waiting in the hub after "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        with_polls = await paced_submits(hub, token, bodies[third : 2 * third], args.idle_rate)
        held = open_now
        stop.set()
        for task in polls:
            task.cancel()
        await asyncio.gather(*polls, return_exceptions=True)
    await asyncio.sleep(2)
    after = await paced_submits(hub, token, bodies[2 * third :], args.idle_rate)
    return before + after, with_polls, held


if __name__ == "__main__":
    main()
