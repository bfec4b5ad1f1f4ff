"""The document search's latency (`hub.tracking.search`, the dashboard and
`GET /v1/admin/documents`) over many documents, on SQLite and PostgreSQL.

Writes `--documents` rows straight into a migrated `documents` table (subjects of
ten words from a small Vietnamese vocabulary, a 4 KB package each, one every 30
seconds back from now) and times, median of `--runs`: the newest page, words found
often, words found nowhere (the whole subject column scanned), words within the
last two days, and each of those sorted by subject. A throwaway PostgreSQL cluster
(`tests/postgres.py`) and a temporary SQLite file are removed at the end.

Run: `.venv/bin/python -m bench.search [--documents 50000] [--runs 3]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from hub.db.models import Document
from hub.tracking.search import DocumentQuery, search_documents
from registry.db import create_engine, migrate, session_factory
from tests.postgres import throwaway_cluster

VOCABULARY = (
    "về việc ban hành quy chế kế hoạch tổ chức hội nghị tổng kết công tác năm thông báo "
    "lịch tiếp công dân tháng báo cáo tình hình Ủy ban nhân dân tỉnh Điều chỉnh"
)
WORDS = VOCABULARY.split(" ")
BATCH = 5000


def _row(number: int, now: datetime, rng: random.Random) -> dict[str, object]:
    subject = " ".join(rng.choice(WORDS) for _ in range(10)).capitalize()
    package = {
        "header": {"code": {"number": str(number), "notation": "QĐ-UBND"}, "subject": subject},
        "attachments": [{"name": f"van-ban-{number}.pdf"}],
        "signatures": ["x" * 4000],
    }
    return {
        "id": str(uuid.UUID(int=number)), "sender": "000.00.00.H26",
        "manifest_digest": "0" * 64, "package": json.dumps(package, ensure_ascii=False),
        "verdict": "{}", "compliant": True, "violations": "", "receipt": "",
        "received_at": now - timedelta(seconds=30 * number), "wire_format": "json",
        "business_type": 0, "number": str(number), "notation": "QĐ-UBND",
        "subject": subject, "doc_type": "QD",
    }  # fmt: skip


async def _bench(url: str, documents: int, runs: int) -> None:
    await migrate(url)
    engine = create_engine(url)
    sessions = session_factory(engine)
    now, rng = datetime.now(UTC), random.Random(7)
    try:
        for first in range(0, documents, BATCH):
            rows = [_row(n, now, rng) for n in range(first, min(first + BATCH, documents))]
            async with sessions.begin() as session:
                await session.execute(insert(Document), rows)
        two_days_ago = (now - timedelta(days=2)).date()
        queries = {
            "newest page": DocumentQuery(),
            "words found often": DocumentQuery(words="hội nghị tổng kết"),
            "words found nowhere": DocumentQuery(words="không có từ này"),
            "words, last two days": DocumentQuery(words="hội nghị", since=two_days_ago),
        }
        print(f"{engine.dialect.name}, {documents:,} documents (median of {runs})")
        for name, query in queries.items():
            for sort in ("-received_at", "subject"):
                timings = []
                for _ in range(runs):
                    async with sessions() as session:
                        start = time.perf_counter()
                        await search_documents(session, query, sort=sort, limit=51)
                        timings.append(time.perf_counter() - start)
                print(f"  {name:<22} sort={sort:<13} {statistics.median(timings) * 1000:8.1f} ms")
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--documents", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'search.db'}"
        asyncio.run(_bench(url, args.documents, args.runs))
    with throwaway_cluster() as base_url:
        url = "postgresql+asyncpg://" + base_url.split("://", 1)[1] + "/postgres"
        asyncio.run(_bench(url, args.documents, args.runs))


if __name__ == "__main__":
    main()
