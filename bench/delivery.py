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
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import (
    ROOT,
    bench_token,
    create_pg_database,
    free_port,
    hub_command,
    hub_env,
    make_ca,
    postgres_server,
    server,
    uptime,
)
from bench.delivery_load import idle_poll_phases, pct, sustained_phases
from bench.push_baselines import aiohttp_rounds, baseline_rounds, serve_stub
from registry.national import load_national_units
from signing.package import new_package, package_json
from signing.pki import CertificateAuthority
from signing.sign import sign_package

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


# -- set-up -------------------------------------------------------------------------------


def make_pki(pki: Path) -> CertificateAuthority:
    ca = make_ca(pki)
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
    parser.add_argument("--workers", type=int, default=1, help="hub worker processes")
    parser.add_argument("--serve-stub", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_stub:
        serve_stub(args.serve_stub)
        return
    with (
        tempfile.TemporaryDirectory(prefix="lienthong-bench-") as tmp,
        postgres_server(args.postgres_url) as base,
    ):
        if base is None:
            sys.exit("bench.delivery needs PostgreSQL")
        run(Path(tmp), args, create_pg_database(base))


def _token(pki: Path, name: str, code: str) -> str:
    return bench_token(pki / f"{name}.key", pki / f"{name}.crt", code)


def run(tmp: Path, args: argparse.Namespace, database_url: str) -> None:
    print(f"before: {uptime()} (2 cores shared)")
    recipients = national_recipients()
    pki = tmp / "pki"
    ca = make_pki(pki)
    stub_port = free_port()
    stub_command = [sys.executable, "-m", "bench.delivery", "--serve-stub", str(stub_port)]
    stub_env = dict(os.environ, PYTHONPATH=str(ROOT))
    with server(stub_command, stub_env, stub_port, "/healthz", (200,)) as stub:
        asyncio.run(prepare_database(database_url, pki, ca, recipients, stub))
        bodies = signed_bodies(pki, recipients, args.rounds + 1)
        env = hub_env(database_url, pki, tmp / "hub", args.hub_source,
                      PUSH_CONNECTIONS_PER_HOST=str(args.connections))  # fmt: skip
        token = _token(pki, "sender.org", SENDER)
        paced = signed_bodies(pki, recipients[-3:], 3 * args.idle_rate * args.idle_seconds)
        idle_tokens = [_token(pki, f"idle-{code}", code) for code in idle_members()]
        count = args.sustained_rate * args.sustained_seconds
        mixed = [recipients[-1], *pulled_members()]
        sustained_bodies = (
            (signed_bodies(pki, unread_members(), count), signed_bodies(pki, mixed, count))
            if count
            else None
        )
        pull_tokens = [_token(pki, f"idle-{code}", code) for code in pulled_members()]
        port = free_port()
        with server(hub_command(port, args.workers), env, port, "/healthz", (200,)) as hub:
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
        push_body = json.dumps(
            {"delivery_id": "x" * 36, "package": json.loads(bodies[0]), "receipt": "r" * 700}
        ).encode()
        base = asyncio.run(
            baseline_rounds(stub, push_body, recipients, args.connections, args.rounds)
        )
        plain_aiohttp = asyncio.run(
            aiohttp_rounds(stub, push_body, recipients, args.connections, args.rounds)
        )
    after = uptime()
    print_broadcast(found[1:], base, plain_aiohttp, len(bodies[0]), args)  # round 1 warms up
    if idle is not None:
        print_idle(idle, args)
    if sustained is not None:
        print_sustained(sustained, args)
    print(f"after: {after}")


def print_broadcast(
    found: list[tuple[float, float, float]],
    base: list[float],
    plain_aiohttp: list[float],
    size: int,
    args: argparse.Namespace,
) -> None:
    last = sorted(r[2] for r in found)
    median = sorted(r[1] for r in found)
    submit = sorted(r[0] for r in found)
    base_p50 = statistics.median(base)
    source = args.hub_source or "this checkout"
    print(f"\nbroadcast of one ~{size / 1024:.1f} KB document to 93 push members, "
          f"{len(found)} rounds, hub from {source}, "
          f"{args.connections} connections per host")  # fmt: skip
    for name, values in (("receipt -> last delivered  ", last),
                         ("receipt -> median delivered", median),
                         ("submit answered in         ", submit)):  # fmt: skip
        print(f"  {name}  p50 {statistics.median(values) * 1000:7.0f} ms"
              f"   max {values[-1] * 1000:7.0f} ms")  # fmt: skip
    print(f"  baseline (plain httpx, 93 POSTs, {args.connections} connections) "
          f"p50 {base_p50 * 1000:.0f} ms   max {max(base) * 1000:.0f} ms")  # fmt: skip
    aio_p50 = statistics.median(plain_aiohttp)
    print(f"  plain aiohttp, the same POSTs and limit      p50 {aio_p50 * 1000:.0f} ms   "
          f"max {max(plain_aiohttp) * 1000:.0f} ms")  # fmt: skip
    print(f"  ratio last-delivered p50 / baseline p50: {statistics.median(last) / base_p50:.2f}"
          f"   (target <= 1.5, and under 1 s); / plain aiohttp p50: "
          f"{statistics.median(last) / aio_p50:.2f}")  # fmt: skip


def print_idle(idle: tuple[list[float], list[float], int], args: argparse.Namespace) -> None:
    without, with_polls, held = idle
    print(f"\nsubmissions paced at {args.idle_rate}/s for {args.idle_seconds} s (3 push "
          f"recipients each): before, with {args.idle_polls} idle long polls open "
          f"({held} at the end), after (before and after pooled as 'without')")  # fmt: skip
    for name, lat in (("without idle polls", without), ("with idle polls", with_polls)):
        print(f"  {name:<20} p50 {pct(lat, 50) * 1000:6.1f} ms  p99 "
              f"{pct(lat, 99) * 1000:6.1f} ms  ({len(lat)} answered 202)")  # fmt: skip
    print(f"  ratio with/without: p50 {pct(with_polls, 50) / pct(without, 50):.2f}  "
          f"p99 {pct(with_polls, 99) / pct(without, 99):.2f}")  # fmt: skip


def print_sustained(sustained: Any, args: argparse.Namespace) -> None:
    (quiet_lat, quiet_rate), (busy_lat, busy_rate, lags, undelivered) = sustained
    print(f"\nsustained: {args.sustained_rate} documents/s asked for {args.sustained_seconds} s,"
          f" to 3 recipients each, {args.workers} hub worker(s)")  # fmt: skip
    print(f"  without delivery work (3 pull members nobody reads): {quiet_rate:.0f}/s "
          f"answered, submit p50 {pct(quiet_lat, 50) * 1000:.1f} ms "
          f"p99 {pct(quiet_lat, 99) * 1000:.1f} ms")  # fmt: skip
    print(f"  with delivery (1 push, 2 pull long-polled and acknowledged): {busy_rate:.0f}/s "
          f"answered, submit p50 {pct(busy_lat, 50) * 1000:.1f} ms "
          f"p99 {pct(busy_lat, 99) * 1000:.1f} ms")  # fmt: skip
    print(f"  submit p99 with/without: {pct(busy_lat, 99) / pct(quiet_lat, 99):.2f} "
          f"(target 0.8-1.2)")  # fmt: skip
    for mode, lag in lags.items():
        if lag:
            print(f"  delivery lag, {mode} (receipt -> delivered): p50 "
                  f"{pct(lag, 50) * 1000:.0f} ms p99 {pct(lag, 99) * 1000:.0f} ms "
                  f"max {max(lag) * 1000:.0f} ms ({len(lag)} delivered)")  # fmt: skip
    print(f"  not delivered within 60 s of the load's end: {undelivered} "
          f"(target: lag p99 < 1 s)")  # fmt: skip


if __name__ == "__main__":
    main()
