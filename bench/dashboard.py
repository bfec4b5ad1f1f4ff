"""Reports and dashboard pages over 1,000,000 documents and the 12,000-member national tree.

Starts a throwaway PostgreSQL, registers the whole national tree
(`registry.national_tree`), writes `--documents` documents with
`generate_series` (a `documents` row each, the report facts of three
recipients as `bench.reports` writes them, a `deliveries` row per fact, 1% of
them queued and 1% failed), adds the counters up as migration 0005 does, then
runs the hub app in-process and times, median of `--runs`, as an auditor:

- the compliance report of one province's subtree (`GET /v1/reports/signature-compliance?sender=`)
  and the delivery report of the same subtree;
- the dashboard: the overview, the compliance ranking (all senders, one
  province's subtree, rolled up by parent), a province's and a commune's page,
  delivery health (all, one subtree), the registry.

Target: each under 1 s. Run: `.venv/bin/python -m bench.dashboard [--documents N] [--runs 3]`.
`BENCH_KEEP=SECONDS` keeps the seeded database that long after the run and prints its URL;
`--database-url URL` times the pages again over it without seeding (the code before and
after a change, over the same data).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import tempfile
import time
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import httpx
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import text

from bench.common import quiet_hub_settings
from bench.reports import _load
from hub.app import create_app
from registry.db import create_engine, migrate, session_factory
from registry.national_load import load_units
from registry.national_tree import national_tree
from registry.operators import create_operator
from signing.certs import cert_to_pem
from signing.pki import CertificateAuthority
from tests.postgres import throwaway_cluster

PROVINCE = "000.00.00.H26"

DOCUMENTS = """
INSERT INTO documents (id, sender, manifest_digest, package, verdict, compliant, violations,
                       received_at, receipt, wire_format, business_type)
SELECT lpad(d::text, 36, '0'), m[1 + (d % n)], md5(d::text), '{}', '{}', d % 10 < 5, '',
       timestamp with time zone '2025-01-01 08:00:00+07' + (d % 365) * interval '1 day'
           + (d % 28800) * interval '1 second',
       '', 'json', CASE d % 50 WHEN 0 THEN 2 WHEN 1 THEN 3 ELSE 0 END
FROM (SELECT array_agg(code ORDER BY code) AS m, count(*)::int AS n FROM members) AS codes,
     generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS d
"""
DELIVERIES = """
INSERT INTO deliveries (id, document_id, recipient, mode, outcome, reasons, state, status_rank,
                        attempts, created_at, next_attempt_at, delivered_at, recall_pending)
SELECT md5(f.document_id || f.recipient)::uuid::text, f.document_id, f.recipient, 'pull',
       'accepted', '', s.state, 0, 1, d.received_at, d.received_at,
       CASE WHEN s.state IN ('queued', 'failed') THEN NULL
            ELSE d.received_at + CAST(right(f.document_id, 3) AS int) * interval '1 s'
       END,
       false
FROM report_facts AS f
JOIN documents AS d ON d.id = f.document_id,
LATERAL (SELECT CASE CAST(right(f.document_id, 2) AS int)
                  WHEN 0 THEN 'queued' WHEN 1 THEN 'failed' ELSE 'completed' END AS state) AS s
WHERE f.document_id BETWEEN :first AND :last
"""


async def _seed(url: str, documents: int) -> None:
    engine = create_engine(url)
    try:
        started = time.perf_counter()
        async with session_factory(engine).begin() as session:
            await load_units(session, national_tree(), actor="bench")
        print(f"national tree loaded in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        step = 250_000
        for first in range(1, documents + 1, step):
            last = min(first + step - 1, documents)
            async with engine.begin() as connection:
                await connection.execute(text(DOCUMENTS), {"first": first, "last": last})
        print(f"{documents:,} documents in {time.perf_counter() - started:.1f} s")
    finally:
        await engine.dispose()
    facts, counting, counters = await _load(url, documents)
    print(f"{documents * 3:,} facts in {facts:.1f} s, {counters:,} counters in {counting:.1f} s")
    engine = create_engine(url)
    try:
        started = time.perf_counter()
        for first in range(1, documents + 1, 250_000):
            last = min(first + 249_999, documents)
            async with engine.begin() as connection:
                ids = {"first": f"{first:036d}", "last": f"{last:036d}"}
                await connection.execute(text(DELIVERIES), ids)
        print(f"{documents * 3:,} deliveries in {time.perf_counter() - started:.1f} s")
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            for table in ("documents", "deliveries", "members", "registry_changes"):
                await connection.execute(text(f"VACUUM ANALYZE {table}"))
    finally:
        await engine.dispose()


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    if found is None:
        raise RuntimeError("no CSRF field on the login page")
    return found.group(1)


async def _time(url: str, home: Path, runs: int) -> list[tuple[str, float, int, int]]:
    ca = CertificateAuthority.init(home / "ca")
    pki = home / "pki"
    pki.mkdir()
    ca.issue("hub", "000.00.00.G00", "lienthong hub").save(pki / "hub")
    (pki / "ca.crt").write_bytes(cert_to_pem(ca.certificate))
    (pki / "crl.pem").write_bytes(ca.crl().public_bytes(Encoding.PEM))
    settings = quiet_hub_settings(url, pki)
    app = create_app(settings)
    commune = "000.01.20.H49"
    pages = [
        ("API: compliance, one province's subtree", f"/v1/reports/signature-compliance?sender={PROVINCE}"),  # noqa: E501
        ("API: delivery, one province's subtree", f"/v1/reports/delivery?sender={PROVINCE}"),
        ("UI: overview", "/ui"),
        ("UI: compliance, all senders", "/ui/compliance"),
        ("UI: compliance, one province's subtree", f"/ui/compliance?sender={PROVINCE}"),
        ("UI: compliance, rolled up by parent", "/ui/compliance?group=parent"),
        ("UI: a province's page", f"/ui/senders/{PROVINCE}"),
        ("UI: a commune's page", f"/ui/senders/{commune}"),
        ("UI: delivery health, all", "/ui/delivery"),
        ("UI: delivery health, one subtree", f"/ui/delivery?sender={PROVINCE}"),
        ("UI: registry", "/ui/registry"),
    ]  # fmt: skip
    results = []
    async with app.router.lifespan_context(app):
        async with app.state.hub.sessions.begin() as session:
            _, token = await create_operator(session, f"bench-auditor-{os.getpid()}", "auditor")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://hub", timeout=600
        ) as client:
            form = await client.get("/ui/login")
            login = await client.post(
                "/ui/login", data={"token": token, "csrf": _csrf(form.text), "next": "/ui"}
            )
            assert login.status_code == 303, login.text
            bearer = {"Authorization": f"Bearer {token}"}
            for name, path in pages:
                timings, size, status = [], 0, 0
                for _ in range(runs):
                    started = time.perf_counter()
                    response = await client.get(path, headers=bearer if path[:3] == "/v1" else {})
                    timings.append(time.perf_counter() - started)
                    size, status = len(response.content), response.status_code
                results.append((name, statistics.median(timings), size, status))
                print(f"  {name:<44} {statistics.median(timings) * 1000:9.1f} ms"
                      f"  {size:>10,} bytes  {status}", flush=True)  # fmt: skip
    return results


async def _bench(base_url: str, documents: int, runs: int) -> None:
    admin = await asyncpg.connect(f"{base_url}/postgres")
    await admin.execute("CREATE DATABASE bench_dashboard")
    await admin.close()
    url = "postgresql+asyncpg://" + base_url.split("://", 1)[1] + "/bench_dashboard"
    await migrate(url)
    await _seed(url, documents)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"median of {runs}, {documents:,} documents, the national tree:")
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp:
        await _time(url, Path(tmp), runs)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if os.environ.get("BENCH_KEEP"):
        print(f"database kept: {url}")
        await asyncio.sleep(float(os.environ["BENCH_KEEP"]))


async def _again(url: str, runs: int) -> None:
    """Time the pages over a database an earlier run seeded and kept."""
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"median of {runs}, over {url}:")
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp:
        await _time(url, Path(tmp), runs)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", help="a database seeded and kept by an earlier run")
    args = parser.parse_args(argv)
    if args.database_url:
        asyncio.run(_again(args.database_url, args.runs))
        return
    with throwaway_cluster() as base_url:
        asyncio.run(_bench(base_url, args.documents, args.runs))


if __name__ == "__main__":
    main()
