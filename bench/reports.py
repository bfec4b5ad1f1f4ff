"""The compliance report's latency over 1,000,000 documents on PostgreSQL.

Starts a throwaway PostgreSQL cluster (`tests/postgres.py`), migrates it, registers
the 94 national units plus 3 departments under each province, and writes the report
facts of `--documents` documents sent to 3 recipients each (3 rows per document),
with `INSERT … SELECT generate_series` so loading takes seconds, not hours, then
adds them up into `report_counts` exactly as ingest's upserts would have
(`hub.reports.counters.backfill_sql`). Then it times the compliance report (median
of `--runs`) for: all senders, documents sent to the Government Office, one
province's subtree, a roll-up by parent, a daily trend, the last 30 days and
one province's daily trend, and prints each
latency twice: summed from the raw facts (before, `from_facts=True`) and from
the counters (after, as the API computes it), with the documents each counted.

Target: < 1 s for each on PostgreSQL. Bounded: the cluster is removed at the end.

Run: `.venv/bin/python -m bench.reports [--documents 1000000] [--runs 5]`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import date
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import text

from hub.reports.compliance import compliance_report
from hub.reports.counters import backfill_sql
from hub.reports.facts import bit_of
from hub.reports.filters import Grouping, ReportFilter
from registry.db import create_engine, migrate, session_factory
from registry.models import Member
from registry.national import load_national_units
from tests.postgres import throwaway_cluster

GOVERNMENT_OFFICE = "000.00.00.G22"
PROVINCE = "000.00.00.H26"

LOAD = """
INSERT INTO report_facts (document_id, recipient, sender, day, doc_type, lead, signed,
                          personal_ok, org_ok, compliant, violations)
SELECT lpad(d::text, 36, '0'),
       CASE WHEN r = 0 AND d % 3 = 0 THEN CAST(:go AS varchar)
            ELSE o[1 + ((d * 7 + r * 13) % k)] END,
       m[1 + (d % n)],
       date '2025-01-01' + (d % 365)::int,
       (ARRAY['QD', 'CV', 'TB', 'KH'])[1 + d % 4],
       (r = 0)::int,
       (d % 10 < 8)::int,
       (d % 10 < 7)::int,
       (d % 10 < 6)::int,
       (d % 10 < 5)::int,
       CASE d % 10 WHEN 8 THEN CAST(:u AS int) WHEN 9 THEN CAST(:u AS int)
                   WHEN 7 THEN CAST(:p AS int) WHEN 6 THEN CAST(:o AS int)
                   WHEN 5 THEN CAST(:l AS int) ELSE 0 END
FROM (SELECT array_agg(code ORDER BY code) AS m, count(*)::int AS n,
             array_agg(code ORDER BY code) FILTER (WHERE code <> CAST(:go AS varchar)) AS o,
             (count(*) - 1)::int AS k
      FROM members) AS codes,
     generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS d,
     generate_series(0, 2) AS r
"""

DROP_COUNTER_INDEXES = [
    "ALTER TABLE report_counts DROP CONSTRAINT pk_report_counts",
    "DROP INDEX ix_report_counts_sender",
]
ADD_COUNTER_INDEXES = [
    "ALTER TABLE report_counts ADD CONSTRAINT pk_report_counts"
    " PRIMARY KEY (recipient, grain, day, sender, doc_type, violations, shard)",
    "CREATE INDEX ix_report_counts_sender ON report_counts (recipient, grain, sender, day)",
]
"""As migrations 0005 and 0011 make them."""


async def _members(url: str) -> None:
    units = load_national_units()
    engine = create_engine(url)
    try:
        async with session_factory(engine).begin() as session:
            for unit in units:
                session.add(
                    Member(code=unit.code, name=unit.name, kind=unit.kind, parent_code=unit.parent)
                )
            await session.flush()
            for unit in units:
                if unit.code.endswith(tuple(f"H{i:02d}" for i in range(100))):
                    for n in (1, 2, 3):
                        code = f"000.00.{n:02d}.{unit.code[-3:]}"
                        session.add(
                            Member(code=code, name=f"Sở {n} – {unit.name}", kind="department",
                                   parent_code=unit.code)
                        )  # fmt: skip
    finally:
        await engine.dispose()


async def _load(url: str, documents: int) -> tuple[float, float, int]:
    """Facts, then counters; the seconds each took and the number of counters."""
    engine = create_engine(url)
    started = time.perf_counter()
    step = 250_000
    params = {
        "go": GOVERNMENT_OFFICE,
        "u": bit_of("UNSIGNED"),
        "p": bit_of("NO_PERSONAL_SIGNATURE"),
        "o": bit_of("NO_ORGANIZATION_SIGNATURE"),
        "l": bit_of("LATE_DISPATCH"),
    }
    try:
        for first in range(1, documents + 1, step):
            last = min(first + step - 1, documents)
            async with engine.begin() as connection:
                await connection.execute(text(LOAD), {**params, "first": first, "last": last})
        facts_seconds = time.perf_counter() - started
        started = time.perf_counter()
        async with engine.begin() as connection:  # indexes built after: minutes faster
            for statement in DROP_COUNTER_INDEXES:
                await connection.execute(text(statement))
            await connection.execute(text(backfill_sql("postgresql")))
            for statement in ADD_COUNTER_INDEXES:
                await connection.execute(text(statement))
            counters = (
                await connection.execute(text("SELECT count(*) FROM report_counts"))
            ).scalar_one()
        counters_seconds = time.perf_counter() - started
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("VACUUM ANALYZE report_facts"))
            await connection.execute(text("VACUUM ANALYZE report_counts"))
    finally:
        await engine.dispose()
    return facts_seconds, counters_seconds, int(counters)


async def _median(
    sessions: Any, flt: ReportFilter, group: Grouping, runs: int, from_facts: bool
) -> tuple[float, dict[str, Any]]:
    """The median latency of `runs` reports, and the report."""
    timings, result = [], {}
    for _ in range(runs):
        async with sessions() as session:
            started = time.perf_counter()
            report = await compliance_report(session, flt, group, from_facts=from_facts)
            timings.append(time.perf_counter() - started)
            result = report.as_dict()
    return statistics.median(timings), result


async def _time(url: str, runs: int) -> list[tuple[str, float, float, int, bool]]:
    """Per variant: latency from the facts, from the counters, documents, whether equal."""
    engine = create_engine(url)
    sessions = session_factory(engine)
    cases: list[tuple[str, ReportFilter, Grouping]] = [
        ("all senders", ReportFilter(), Grouping.SENDER),
        ("sent to the Government Office", ReportFilter(recipient=GOVERNMENT_OFFICE), Grouping.SENDER),  # noqa: E501
        ("one province's subtree", ReportFilter(sender=PROVINCE), Grouping.SENDER),
        ("roll-up by parent", ReportFilter(), Grouping.PARENT),
        ("daily trend", ReportFilter(), Grouping.DAY),
        ("the last 30 days", ReportFilter(since=date(2025, 12, 2), until=date(2025, 12, 31)), Grouping.SENDER),  # noqa: E501
        ("a province's daily trend", ReportFilter(sender=PROVINCE), Grouping.DAY),
    ]  # fmt: skip
    results = []
    try:
        for name, flt, group in cases:
            before, from_facts = await _median(sessions, flt, group, runs, True)
            after, from_counters = await _median(sessions, flt, group, runs, False)
            documents = from_counters["total"]["documents"]
            results.append((name, before, after, documents, from_facts == from_counters))
    finally:
        await engine.dispose()
    return results


async def _bench(base_url: str, documents: int, runs: int) -> None:
    admin = await asyncpg.connect(f"{base_url}/postgres")
    await admin.execute("CREATE DATABASE bench_reports")
    await admin.close()
    url = "postgresql+asyncpg://" + base_url.split("://", 1)[1] + "/bench_reports"
    await migrate(url)
    await _members(url)
    facts, counting, counters = await _load(url, documents)
    print(f"loaded {documents:,} documents ({documents * 3:,} fact rows) in {facts:.1f} s")
    print(f"counted them into {counters:,} counters in {counting:.1f} s")
    print(f"compliance report (median of {runs})   from facts  from counters  documents")
    for name, before, after, documents, same in await _time(url, runs):
        flag = "" if same else "  MISMATCH: the reports differ"
        print(
            f"  {name:<32} {before * 1000:8.1f} ms  {after * 1000:10.1f} ms  {documents:>9,}{flag}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    with throwaway_cluster() as base_url:
        asyncio.run(_bench(base_url, args.documents, args.runs))


if __name__ == "__main__":
    main()
