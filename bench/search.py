"""The document search's latency (`hub.tracking.search`, the dashboard and
`GET /v1/admin/documents`) over many documents, on SQLite and PostgreSQL: words of the
subject through the full-text index against the scan they replaced, in the same run.

Writes `--documents` rows straight into a migrated `documents` table (subjects of
ten words from a small Vietnamese vocabulary, one in a thousand about something
else, a 1 KB package each, one every 30 seconds back from now; the index is kept
as the rows go in, as at acceptance) and times, median of `--runs`, for each
search: the page of 51 newest as the hub runs it (`search_documents`) and as the
scan of the subject column did before migration 0014 (the baseline), the count
up to 10,000 (`count_documents`) against the same count by scan, and each ratio
baseline / indexed (above 1: the index is faster). The searches: words found
often, four words together, rare words, words found nowhere (the scan reads every subject), words
within the last two days, and a word typed without diacritics (no baseline: the
scan did not find it). A throwaway PostgreSQL cluster (`tests/postgres.py`) and
a temporary SQLite file are removed at the end; the load is printed before and
after.

Run: `.venv/bin/python -m bench.search [--documents 100000] [--runs 3]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
import unicodedata
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Select, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.common import uptime
from hub.db.models import Document
from hub.db.sql import lowered
from hub.db.words import subject_words
from hub.tracking.search import COUNT_CAP, DocumentQuery, count_documents, search_documents
from registry.db import create_engine, migrate, session_factory
from tests.postgres import throwaway_cluster

VOCABULARY = (
    "về việc ban hành quy chế kế hoạch tổ chức hội nghị tổng kết công tác năm thông báo "
    "lịch tiếp công dân tháng báo cáo tình hình Ủy ban nhân dân tỉnh Điều chỉnh"
)
WORDS = VOCABULARY.split(" ")
RARE = "Phê duyệt đề án chuyển đổi số"
BATCH = 5000
SEARCHES = {  # name: (words, since the last two days, a baseline)
    "words found often": ("hội nghị", False, True),
    "four words": ("hội nghị tổng kết", False, True),
    "rare words": ("chuyển đổi số", False, True),
    "words found nowhere": ("không có từ này", False, True),
    "words, last two days": ("hội nghị", True, True),
    "without diacritics": ("hoi nghi", False, False),
}


def _row(number: int, now: datetime, rng: random.Random) -> dict[str, object]:
    subject = " ".join(rng.choice(WORDS) for _ in range(10)).capitalize()
    if number % 1000 == 999:
        subject = f"{RARE} {number}"
    package = {
        "header": {"code": {"number": str(number), "notation": "QĐ-UBND"}, "subject": subject},
        "attachments": [{"name": f"van-ban-{number}.pdf"}],
        "signatures": ["x" * 1000],
    }
    return {
        "id": str(uuid.UUID(int=number)), "sender": "000.00.00.H26",
        "manifest_digest": "0" * 64, "package": json.dumps(package, ensure_ascii=False),
        "verdict": "{}", "compliant": True, "violations": "", "receipt": "",
        "received_at": now - timedelta(seconds=30 * number), "wire_format": "json",
        "business_type": 0, "number": str(number), "notation": "QĐ-UBND",
        "subject": subject, "subject_words": subject_words(subject), "doc_type": "QD",
    }  # fmt: skip


def _scan(dialect: str, words: str, since: datetime | None) -> Select[Any]:
    """The search of words as it was before the index: `LIKE` over the lowered subject."""
    stmt = select(Document.id)
    subject = lowered(dialect, Document.subject)
    for word in unicodedata.normalize("NFC", words).split():
        stmt = stmt.where(subject.contains(word.lower(), autoescape=True))
    return stmt.where(Document.received_at >= since) if since else stmt


async def _median(sessions: async_sessionmaker[AsyncSession], runs: int,
                  call: Callable[[AsyncSession], Awaitable[object]]) -> float:  # fmt: skip
    timings = []
    for _ in range(runs):
        async with sessions() as session:
            start = time.perf_counter()
            await call(session)
            timings.append(time.perf_counter() - start)
    return statistics.median(timings) * 1000


async def _time_search(
    sessions: async_sessionmaker[AsyncSession], dialect: str, runs: int, name: str,
    words: str, since: date | None, baseline: bool,
) -> None:  # fmt: skip
    query = DocumentQuery(words=words, since=since)
    page = await _median(sessions, runs, lambda s: search_documents(s, query, limit=51))
    count = await _median(sessions, runs, lambda s: count_documents(s, query))
    async with sessions() as session:
        total, exact = await count_documents(session, query)
    found = f"{'' if exact else '>'}{total:,}"
    line = f"  {name:<21} {found:>7} found  page {page:7.1f} ms  count {count:7.1f} ms"
    if baseline:
        start = datetime.combine(since, datetime.min.time(), UTC) if since else None
        stmt = _scan(dialect, words, start)
        ordered = stmt.order_by(Document.received_at.desc(), Document.id).limit(51)
        counted = select(func.count()).select_from(stmt.limit(COUNT_CAP + 1).subquery())
        scan_page = await _median(sessions, runs, lambda s: s.execute(ordered))
        scan_count = await _median(sessions, runs, lambda s: s.scalar(counted))
        line += (
            f"  | scan: page {scan_page:7.1f} ms ({scan_page / page:5.1f}x)"
            f"  count {scan_count:7.1f} ms ({scan_count / count:5.1f}x)"
        )
    print(line, flush=True)


async def _bench(url: str, documents: int, runs: int) -> None:
    await migrate(url)
    engine = create_engine(url)
    sessions = session_factory(engine)
    now, rng = datetime.now(UTC), random.Random(7)
    try:
        started = time.perf_counter()
        for first in range(0, documents, BATCH):
            rows = [_row(n, now, rng) for n in range(first, min(first + BATCH, documents))]
            async with sessions.begin() as session:
                await session.execute(insert(Document), rows)
        async with engine.begin() as connection:
            await connection.exec_driver_sql("ANALYZE")
        loaded = time.perf_counter() - started
        print(f"{engine.dialect.name}, {documents:,} documents written and indexed in "
              f"{loaded:.1f} s; median of {runs}, newest first", flush=True)  # fmt: skip
        two_days_ago = (now - timedelta(days=2)).date()
        for name, (words, recent, baseline) in SEARCHES.items():
            since = two_days_ago if recent else None
            await _time_search(sessions, engine.dialect.name, runs, name, words, since, baseline)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"before: {uptime()} (2 cores shared)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'search.db'}"
        asyncio.run(_bench(url, args.documents, args.runs))
    with throwaway_cluster() as base_url:
        url = "postgresql+asyncpg://" + base_url.split("://", 1)[1] + "/postgres"
        asyncio.run(_bench(url, args.documents, args.runs))
    print(f"after: {uptime()}")


if __name__ == "__main__":
    main()
