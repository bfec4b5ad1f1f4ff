"""Words of the subject are found through the full-text index, not by reading every document:
the plans of the statements the search runs, as each database explains them."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.db.models import Document
from hub.db.words import subject_words
from hub.tracking.search import DocumentQuery, find_documents
from registry.db import create_engine, session_factory

DOCUMENTS = 3000
COMMON = "Kế hoạch tổ chức hội nghị tổng kết công tác năm"
RARE = "Quyết định phê duyệt đề án chuyển đổi số"


def _row(number: int, now: datetime) -> dict[str, Any]:
    subject = RARE if number % 1000 == 7 else f"{COMMON} {number}"
    return {
        "id": str(uuid.UUID(int=number)), "sender": "000.00.00.H26",
        "manifest_digest": "0" * 64, "package": json.dumps({"header": {}}), "verdict": "{}",
        "compliant": True, "violations": "", "receipt": "",
        "received_at": now - timedelta(seconds=30 * number), "wire_format": "json",
        "business_type": 0, "number": str(number), "notation": "QĐ-UBND",
        "subject": subject, "subject_words": subject_words(subject), "doc_type": "QD",
    }  # fmt: skip


async def _fill(engine: AsyncEngine) -> None:
    now = datetime.now(UTC)
    async with session_factory(engine).begin() as session:
        await session.execute(insert(Document), [_row(n, now) for n in range(DOCUMENTS)])
    async with engine.begin() as connection:
        await connection.exec_driver_sql("ANALYZE")


async def _plans(engine: AsyncEngine, query: DocumentQuery) -> list[str]:
    """Each statement the search ran for `query`, explained by the database."""
    ran: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "to_tsquery" in statement or "MATCH" in statement:  # the words' statements
            ran.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        async with session_factory(engine)() as session:
            page = await find_documents(session, query, limit=20)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    assert (page.total, page.total_exact) == (3, True)
    explain = "EXPLAIN" if engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN"
    plans = []
    async with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            await connection.exec_driver_sql("SET enable_seqscan = off")
        for statement, parameters in ran:  # the page's ids, then the count
            rows = await connection.exec_driver_sql(f"{explain} {statement}", parameters)
            plans.append("\n".join(str(row[-1]) for row in rows))
    return plans


async def test_words_are_looked_up_in_the_index(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await _fill(engine)
        plans = await _plans(engine, DocumentQuery(words="chuyen doi so"))
        assert len(plans) == 2
        for plan in plans:
            if engine.dialect.name == "postgresql":
                assert "ix_documents_subject_words" in plan, plan
                assert "Seq Scan on documents" not in plan, plan
            else:
                assert "VIRTUAL TABLE INDEX" in plan and "documents_words" in plan, plan
                assert "SCAN documents" not in plan.replace("SCAN documents_words", ""), plan
    finally:
        await engine.dispose()
