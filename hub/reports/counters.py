"""Keeping `report_counts` up to date: one upsert per submission, in its transaction.

The counters are what the compliance report sums. A submission adds its
document to the counter of each recipient and to the all-recipients counter
of its key with a single `INSERT … ON CONFLICT … DO UPDATE SET n = n + excluded.n`
(the same SQL on PostgreSQL and SQLite). Concurrent submissions with the same
key wait for each other's row lock until commit; rows are sent in key order so
two submissions never lock the same counters in opposite orders (no deadlock).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert

from hub.reports.models import ALL_RECIPIENTS, ReportCount

KEY = ("recipient", "day", "sender", "doc_type", "violations")
COUNTED = ("documents", "signed", "personal_ok", "org_ok", "compliant")

BACKFILL = """
INSERT INTO report_counts (recipient, day, sender, doc_type, violations,
                           documents, signed, personal_ok, org_ok, compliant)
SELECT recipient, day, sender, doc_type, violations,
       count(*), sum(signed), sum(personal_ok), sum(org_ok), sum(compliant)
FROM report_facts GROUP BY recipient, day, sender, doc_type, violations
UNION ALL
SELECT '*', day, sender, doc_type, violations,
       count(*), sum(signed), sum(personal_ok), sum(org_ok), sum(compliant)
FROM report_facts WHERE lead = 1 GROUP BY day, sender, doc_type, violations
"""
"""Counters from existing facts: what ingest would have written (migration, bench)."""


def counter_rows(facts: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The counter increments of some fact rows, one per key, in key order."""
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for fact in facts:
        recipients = [fact["recipient"]] + ([ALL_RECIPIENTS] if fact["lead"] else [])
        for recipient in recipients:
            key = (recipient, *(fact[name] for name in KEY[1:]))
            row = merged.setdefault(
                key, {**dict(zip(KEY, key, strict=True)), **dict.fromkeys(COUNTED, 0)}
            )
            row["documents"] += 1
            for name in COUNTED[1:]:
                row[name] += int(fact[name])
    return [merged[key] for key in sorted(merged)]


def upsert_counters(session: AsyncSession, rows: list[dict[str, Any]]) -> Insert:
    """`INSERT … ON CONFLICT (key) DO UPDATE SET count = count + excluded.count`."""
    if session.get_bind().dialect.name == "postgresql":
        on_pg = postgresql.insert(ReportCount).values(rows)
        return on_pg.on_conflict_do_update(index_elements=list(KEY), set_=_added(on_pg.excluded))
    on_sqlite = sqlite.insert(ReportCount).values(rows)
    return on_sqlite.on_conflict_do_update(
        index_elements=list(KEY), set_=_added(on_sqlite.excluded)
    )


def _added(excluded: Any) -> dict[str, Any]:
    return {name: getattr(ReportCount, name) + excluded[name] for name in COUNTED}


async def add_to_counters(session: AsyncSession, facts: Iterable[Mapping[str, Any]]) -> None:
    """Count some new facts in the caller's transaction: one statement."""
    rows = counter_rows(facts)
    if rows:
        await session.execute(upsert_counters(session, rows))
