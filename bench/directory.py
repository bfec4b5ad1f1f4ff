"""The signed directory with the 94 national units and with the whole national tree.

For each size, on a fresh database (a throwaway PostgreSQL, or SQLite with
`--database sqlite`): the units are loaded (`registry.national_load`, the
whole tree from `registry.national_tree`), every member gets one certificate
row, and the hub app runs in-process (httpx's ASGI transport, so the figures are
the hub's own, without sockets). Then, through `GET /v1/directory` as a member:

- build: the first answer after the registry changed (read, sign), median of `--runs`;
- size raw and gzipped (what goes on the wire with `Accept-Encoding: gzip`), and
  the time to gzip it once;
- a delta after `--changes` registry changes (suspensions), raw and gzipped;
- `--fetches` conditional fetches as the SDK makes them (`If-None-Match` and
  `?since=`), one registry change every `--change-every`: the share answered
  `304`, the bytes sent against full directories, and the median latency of a
  `304` (which is member authentication plus the version read: the same at 94
  and at 12,000 members when authentication stays O(1)).

Each figure at 12,000 is printed with its ratio to the 94 baseline of the same run.
Run: `.venv/bin/python -m bench.directory [--database sqlite] [--runs 5]`.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gzip
import hashlib
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import insert

from bench.common import quiet_hub_settings
from hub.app import create_app
from member_node.directory import parse_directory
from registry.certificates import add_certificate
from registry.db import create_engine, migrate, session_factory
from registry.members import change_status
from registry.models import MemberCertificate
from registry.national import NationalUnit, load_national_units
from registry.national_load import load_units
from registry.national_tree import national_tree
from signing.certs import cert_to_pem
from signing.jose import mint_token, unverified_claims
from signing.pki import CertificateAuthority, IssuedCertificate
from tests.postgres import throwaway_cluster

CALLER = "000.00.00.G22"
HUB_ID = "bench-hub"


@dataclass
class Figures:
    members: int
    build_ms: float
    raw_bytes: int
    gzip_bytes: int
    gzip_ms: float
    delta_raw: int
    delta_gzip: int
    not_modified_share: float
    sent_share: float
    not_modified_ms: float
    full_ms: float
    parse_ms: float
    apply_ms: float


async def _seed(url: str, units: list[NationalUnit], ca: CertificateAuthority) -> str:
    """The units, a certificate row each (a real one for the caller); the caller's token."""
    caller = ca.issue("organization", CALLER, "Văn phòng Chính phủ")
    engine = create_engine(url)
    now = dt.datetime.now(dt.UTC)
    try:
        async with session_factory(engine).begin() as session:
            await load_units(session, units, actor="bench")
            rows = [
                {
                    "member_code": unit.code,
                    "fingerprint": hashlib.sha256(unit.code.encode()).hexdigest(),
                    "pem": "-",
                    "serial": f"{index:x}",
                    "signing": True,
                    "auth": True,
                    "not_before": now,
                    "not_after": now + dt.timedelta(days=730),
                    "added_at": now,
                    "retired_at": None,
                }
                for index, unit in enumerate(units)
                if unit.code != CALLER
            ]
            for start in range(0, len(rows), 2000):
                await session.execute(insert(MemberCertificate), rows[start : start + 2000])
            pem = cert_to_pem(caller.cert)
            await add_certificate(session, CALLER, pem, roots=[ca.certificate], actor="bench")
    finally:
        await engine.dispose()
    return _token(caller)


def _token(caller: IssuedCertificate) -> str:
    return mint_token(caller.key, caller.cert, CALLER, HUB_ID)


async def _suspend(app: Any, codes: list[str]) -> None:
    async with app.state.hub.sessions.begin() as session:
        for code in codes:
            await change_status(session, code, "suspend", actor="bench")


async def _measure(
    url: str, pki: Path, units: list[NationalUnit], token: str, args: Any
) -> Figures:
    settings = quiet_hub_settings(url, pki, hub_id=HUB_ID)
    app = create_app(settings)
    auth = {"Authorization": f"Bearer {token}"}
    victims = [u.code for u in units if u.code != CALLER][::7]
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            plain = {**auth, "Accept-Encoding": "identity"}
            builds = []
            for _ in range(args.runs):
                app.state.signed_directory = None
                started = time.perf_counter()
                whole = await client.get("/v1/directory", headers=plain)
                builds.append(time.perf_counter() - started)
            started = time.perf_counter()
            zipped = await _raw(client, {**auth, "Accept-Encoding": "gzip"})
            gzip_ms = (time.perf_counter() - started) * 1000
            version = _claims_version(whole.text)
            await _suspend(app, victims[: args.changes])
            delta_raw = await client.get("/v1/directory", headers=plain, params={"since": version})
            delta_zip = await _raw(client, {**auth, "Accept-Encoding": "gzip"}, since=version)
            parse_ms, apply_ms = _member_side(whole.text, delta_raw.text, app)
            shares, not_modified, full = await _fetches(
                app, client, auth, victims[args.changes :], args
            )
    return Figures(
        members=len(units),
        build_ms=statistics.median(builds) * 1000,
        raw_bytes=len(whole.content),
        gzip_bytes=len(zipped),
        gzip_ms=gzip_ms,
        delta_raw=len(delta_raw.content),
        delta_gzip=len(delta_zip),
        not_modified_share=shares[0],
        sent_share=shares[1],
        not_modified_ms=not_modified,
        full_ms=full,
        parse_ms=parse_ms,
        apply_ms=apply_ms,
    )


def _member_side(whole: str, delta: str, app: Any) -> tuple[float, float]:
    """What the SDK spends verifying and reading the whole directory, and a delta on it."""
    pinned = app.state.hub.identity.chain[0]
    started = time.perf_counter()
    held = parse_directory(whole, pinned)
    parsed = time.perf_counter()
    parse_directory(delta, pinned, held)
    return (parsed - started) * 1000, (time.perf_counter() - parsed) * 1000


async def _fetches(
    app: Any, client: httpx.AsyncClient, auth: dict[str, str], victims: list[str], args: Any
) -> tuple[tuple[float, float], float, float]:
    """SDK-like conditional fetches with registry changes among them."""
    headers = {**auth, "Accept-Encoding": "gzip"}
    first = await client.get("/v1/directory", headers=headers)
    etag, version = first.headers["etag"], _claims_version(first.text)
    full_size = len(await _raw(client, headers))
    not_modified, sent, times_304 = 0, 0, []
    for n in range(args.fetches):
        if n and n % args.change_every == 0 and victims:
            await _suspend(app, [victims.pop()])
        started = time.perf_counter()
        async with client.stream(
            "GET",
            "/v1/directory",
            headers={**headers, "If-None-Match": etag},
            params={"since": version},
        ) as response:
            body = b"".join([chunk async for chunk in response.aiter_raw()])
        elapsed = time.perf_counter() - started
        if response.status_code == 304:
            not_modified += 1
            times_304.append(elapsed)
        else:
            sent += len(body)
            etag = response.headers["etag"]
            version = _claims_version(gzip.decompress(body).decode())
    full_times = []
    for _ in range(3):
        started = time.perf_counter()
        await client.get("/v1/directory", headers=headers)
        full_times.append(time.perf_counter() - started)
    share = not_modified / args.fetches
    return (share, sent / (full_size * args.fetches)), _ms(times_304), _ms(full_times)


def _ms(values: list[float]) -> float:
    return statistics.median(values) * 1000 if values else float("nan")


async def _raw(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> bytes:
    async with client.stream("GET", "/v1/directory", headers=headers, params=params) as response:
        return b"".join([chunk async for chunk in response.aiter_raw()])


def _claims_version(token: str) -> int:
    return int(unverified_claims(token)["version"])


@contextmanager
def _database(kind: str) -> Iterator[Any]:
    if kind == "sqlite":
        yield None
        return
    with throwaway_cluster() as base_url:
        yield base_url


async def _fresh_url(base_url: str | None, name: str, home: Path) -> str:
    if base_url is None:
        return f"sqlite+aiosqlite:///{home / (name + '.db')}"
    admin = await asyncpg.connect(f"{base_url}/postgres")
    await admin.execute(f"CREATE DATABASE {name}")
    await admin.close()
    return "postgresql+asyncpg://" + base_url.split("://", 1)[1] + "/" + name


async def _bench(base_url: str | None, args: Any) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-directory-") as tmp:
        home = Path(tmp)
        ca = CertificateAuthority.init(home / "ca")
        pki = home / "pki"
        pki.mkdir()
        ca.issue("hub", "000.00.00.G00", "lienthong hub").save(pki / "hub")
        (pki / "ca.crt").write_bytes(cert_to_pem(ca.certificate))
        (pki / "crl.pem").write_bytes(ca.crl().public_bytes(Encoding.PEM))
        results = []
        for name, units in (("d94", load_national_units()), ("tree", national_tree())):
            url = await _fresh_url(base_url, f"bench_directory_{name}", home)
            await migrate(url)
            started = time.perf_counter()
            token = await _seed(url, units, ca)
            seconds = time.perf_counter() - started
            print(f"{len(units):,} members and certificates loaded in {seconds:.1f} s")
            results.append(await _measure(url, pki, units, token, args))
    _print(results, args)


def _print(results: list[Figures], args: Any) -> None:
    base, big = results
    rows = [
        ("build (read + sign), ms", "build_ms", "{:,.1f}"),
        ("size raw, bytes", "raw_bytes", "{:,}"),
        ("size gzip, bytes", "gzip_bytes", "{:,}"),
        ("gzip once, ms", "gzip_ms", "{:,.1f}"),
        (f"delta after {args.changes} changes, raw bytes", "delta_raw", "{:,}"),
        (f"delta after {args.changes} changes, gzip bytes", "delta_gzip", "{:,}"),
        (f"304 share of {args.fetches} fetches", "not_modified_share", "{:.3f}"),
        ("bytes sent / all-full gzip fetches", "sent_share", "{:.4f}"),
        ("304 latency (auth + version), ms", "not_modified_ms", "{:,.2f}"),
        ("full gzip fetch, ms", "full_ms", "{:,.2f}"),
        ("SDK: verify + read the whole, ms", "parse_ms", "{:,.1f}"),
        ("SDK: verify + apply the delta, ms", "apply_ms", "{:,.1f}"),
    ]
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
    print(f"{'':<44}{base.members:>14,}{big.members:>14,}    ratio")
    for label, attribute, fmt in rows:
        a, b = getattr(base, attribute), getattr(big, attribute)
        ratio = f"{b / a:8.2f}" if a else "       -"
        print(f"{label:<44}{fmt.format(a):>14}{fmt.format(b):>14}  {ratio}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument("--fetches", type=int, default=1000)
    parser.add_argument("--change-every", type=int, default=100)
    args = parser.parse_args(argv)
    with _database(args.database) as base_url:
        asyncio.run(_bench(base_url, args))


if __name__ == "__main__":
    main()
