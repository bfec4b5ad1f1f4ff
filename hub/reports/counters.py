"""Keeping `report_counts` up to date: one upsert per write, in the submission's transaction.

The counters are what the compliance report sums. Each fact adds 1 to its
recipient's counters (and, for the document's lead fact, to the
`ALL_RECIPIENTS` ones) at every `Grain`, with a single
`INSERT … ON CONFLICT … DO UPDATE SET n = n + excluded.n`: on PostgreSQL
worked out by the database from the facts it just inserted
(`COUNT_INSERTED_FACTS`), elsewhere summed here (`counter_rows`). Concurrent
submissions with the same key wait for each other's row lock until commit;
rows are sent in key order, so two writers never lock the same counters in
opposite orders (no deadlock). Every document adds to the all-recipients and
all-senders counters of its day, so on PostgreSQL each writing connection adds
to its own `shard` of a key (its backend's pid modulo `SHARDS`): concurrent
ingest transactions, of one hub process or several, then rarely wait for each
other's commit. Reports sum the shards.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert

from hub.reports.models import ALL_RECIPIENTS, ALL_SENDERS, Grain, ReportCount

KEY = ("recipient", "grain", "day", "sender", "doc_type", "violations")
SHARDS = 16
"""Rows a counter's key may be split into (PostgreSQL; SQLite's one writer uses shard 0)."""
CONFLICT = (*KEY, "shard")
COUNTED = (
    "documents",
    "signed",
    "personal_ok",
    "org_ok",
    "compliant",
    "signed_pdf",
    "signed_envelope",
    "signed_both",
)


def periods(day: date, sender: str) -> list[tuple[Grain, date, str]]:
    """The (grain, first day, sender) of every counter a fact on `day` from `sender` adds to."""
    return [
        (Grain.DAY, day, sender),
        (Grain.MONTH, day.replace(day=1), sender),
        (Grain.YEAR, date(day.year, 1, 1), sender),
        (Grain.TREND, day, ALL_SENDERS),
    ]


def counter_rows(facts: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The counter increments of some fact rows, one per key, in key order."""
    sums: dict[tuple[Any, ...], list[int]] = {}
    for fact in facts:
        counted = [1, *(int(fact[name]) for name in COUNTED[1:])]
        recipients = (fact["recipient"], ALL_RECIPIENTS) if fact["lead"] else (fact["recipient"],)
        for grain, first, sender in _periods(fact["day"], fact["sender"]):
            for recipient in recipients:
                key = (recipient, grain, first, sender, fact["doc_type"], fact["violations"])
                total = sums.get(key)
                if total is None:
                    sums[key] = counted.copy()
                else:
                    for i, n in enumerate(counted):
                        total[i] += n
    return [
        {**dict(zip(KEY + COUNTED, (*key, *sums[key]), strict=True)), "shard": 0}
        for key in sorted(sums)
    ]


@functools.lru_cache(maxsize=1024)
def _periods(day: date, sender: str) -> tuple[tuple[str, date, str], ...]:
    """`periods` with plain grain codes, worked out once per (day, sender)."""
    return tuple((grain.value, first, who) for grain, first, who in periods(day, sender))


@functools.cache
def upsert_counters(dialect: str) -> Insert:
    """`INSERT … ON CONFLICT (key) DO UPDATE SET count = count + excluded.count`.

    Without inline values, so it is compiled once and run as an executemany
    (rows in key order, so the row locks are still taken in key order).
    """
    table: Table = ReportCount.__table__  # type: ignore[assignment]
    if dialect == "postgresql":
        on_pg = postgresql.insert(table)
        return on_pg.on_conflict_do_update(
            index_elements=list(CONFLICT), set_=_added(on_pg.excluded)
        )
    on_sqlite = sqlite.insert(table)
    return on_sqlite.on_conflict_do_update(
        index_elements=list(CONFLICT), set_=_added(on_sqlite.excluded)
    )


def _added(excluded: Any) -> dict[str, Any]:
    return {name: ReportCount.__table__.c[name] + excluded[name] for name in COUNTED}


async def add_to_counters(session: AsyncSession, facts: Iterable[Mapping[str, Any]]) -> None:
    """Count some new facts in the caller's transaction: one executemany, in key order.

    The way for databases without arrays; on PostgreSQL `record_facts` lets the
    database count the facts it inserts (`COUNT_INSERTED_FACTS`).
    """
    rows = counter_rows(facts)
    if rows:
        await session.execute(upsert_counters(session.get_bind().dialect.name), rows)


_FIRST_DAY = {
    "postgresql": {
        Grain.DAY: "{day}",
        Grain.MONTH: "CAST(date_trunc('month', {day}) AS date)",
        Grain.YEAR: "CAST(date_trunc('year', {day}) AS date)",
        Grain.TREND: "{day}",
    },
    "sqlite": {
        Grain.DAY: "{day}",
        Grain.MONTH: "date({day}, 'start of month')",
        Grain.YEAR: "date({day}, 'start of year')",
        Grain.TREND: "{day}",
    },
}
"""SQL of the first day of each grain's period holding `{day}`, per database."""


def _period_sender(grain: Grain, sender: str) -> str:
    """The counter's sender: the fact's, or every sender's for the trend."""
    return f"'{ALL_SENDERS}'" if grain is Grain.TREND else sender


_ADDED_SQL = ", ".join(f"{name} = report_counts.{name} + excluded.{name}" for name in COUNTED)
_PERIODS_OF_F = ",\n           ".join(
    f"('{grain.value}', {_FIRST_DAY['postgresql'][grain].format(day='f.day')}, "
    f"{_period_sender(grain, 'f.sender')})"
    for grain in Grain
)
COUNT_INSERTED_FACTS = f"""
INSERT INTO report_counts ({", ".join(KEY + COUNTED)}, shard)
SELECT r.recipient, p.grain, p.first, p.sender, f.doc_type, f.violations,
       count(*), sum(f.signed), sum(f.personal_ok), sum(f.org_ok), sum(f.compliant),
       sum(f.signed_pdf), sum(f.signed_envelope), sum(f.signed_both),
       CAST(pg_backend_pid() % {SHARDS} AS smallint)
FROM inserted AS f
CROSS JOIN LATERAL (
    VALUES (f.recipient), (CASE WHEN f.lead = 1 THEN '{ALL_RECIPIENTS}' END)
) AS r(recipient)
CROSS JOIN LATERAL (
    VALUES {_PERIODS_OF_F}
) AS p(grain, first, sender)
WHERE r.recipient IS NOT NULL
GROUP BY 1, 2, 3, 4, 5, 6
ORDER BY 1, 2, 3, 4, 5, 6
ON CONFLICT ({", ".join(CONFLICT)}) DO UPDATE SET {_ADDED_SQL}"""
"""`counter_rows` done by PostgreSQL over facts just inserted (`hub.db.bulk.insert_all`'s
`then`): the same keys and sums, upserted in key order into this connection's shard."""


_BACKFILL_PART = """
SELECT {recipient}, '{grain}', {first}, {sender}, doc_type, violations,
       count(*), {sums}
FROM report_facts {where} GROUP BY {group}doc_type, violations"""


def backfill_sql(dialect: str, counted: tuple[str, ...] = COUNTED) -> str:
    """INSERT … SELECT of the counters of every fact recorded so far (migration, bench).

    `counted`: the counted columns (`documents` first), for a schema that had fewer.
    """
    sums = ", ".join(f"sum({name})" for name in counted[1:])
    parts = []
    for lead in (False, True):
        for grain in Grain:
            first = _FIRST_DAY[dialect][grain].format(day="day")
            sender = _period_sender(grain, "sender")
            group_sender = "" if grain is Grain.TREND else "sender, "
            parts.append(
                _BACKFILL_PART.format(
                    recipient=f"'{ALL_RECIPIENTS}'" if lead else "recipient",
                    sums=sums,
                    grain=grain.value,
                    first=first,
                    sender=sender,
                    where="WHERE lead = 1" if lead else "",
                    group=("" if lead else "recipient, ") + f"{first}, " + group_sender,
                )
            )
    columns = ", ".join(KEY + counted)
    return f"INSERT INTO report_counts ({columns})" + "\nUNION ALL".join(parts)
