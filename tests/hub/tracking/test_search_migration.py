"""Migrations 0011 and 0014 copy the header fields of documents accepted before them into
the columns the document search reads, and index the subject's words, so older documents
are found like new ones."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import delete, insert, inspect

from hub.db.models import Document
from hub.db.words import subject_words
from hub.tracking.search import (
    DocumentQuery,
    describe_documents,
    find_documents,
    search_documents,
)
from registry.db import create_engine, downgrade, migrate, session_factory

PACKAGE = {
    "header": {
        "code": {"number": "274", "notation": "QĐ-UBND"},
        "type": "QD",
        "subject": "Về việc ban hành Quy chế làm việc",
    },
    "attachments": [{"name": "qd274.pdf"}, {"name": "phu-luc.docx"}],
}
COLUMNS = ("number", "notation", "subject", "doc_type")


async def test_older_documents_are_found_after_the_migration(empty_database_url: str) -> None:
    engine = create_engine(empty_database_url)
    try:
        await migrate(engine, "0010_retention")
        row = {
            "id": "00000000-0000-4000-8000-000000000274", "sender": "000.00.00.H26",
            "manifest_digest": "0" * 64, "package": json.dumps(PACKAGE, ensure_ascii=False),
            "verdict": "{}", "compliant": True, "violations": "", "receipt": "",
            "received_at": datetime(2025, 3, 12, 2, 0, tzinfo=UTC), "wire_format": "json",
            "business_type": 0,
        }  # fmt: skip
        async with session_factory(engine).begin() as session:  # the columns 0010 has
            await session.execute(insert(Document.__table__).values(row))
        await migrate(engine)
        async with session_factory(engine)() as session:
            found = await search_documents(session, DocumentQuery(words="quy chế làm việc"))
            assert [d.id for d in found] == [row["id"]]
            cited = await search_documents(session, DocumentQuery(number="274/qđ"))
            assert [d.id for d in cited] == [row["id"]]
            listing = (await describe_documents(session, [row["id"]]))[row["id"]]
            assert (listing.code, listing.subject, listing.doc_type, listing.attachments) == (
                "274/QĐ-UBND",
                PACKAGE["header"]["subject"],
                "QD",
                ["qd274.pdf", "phu-luc.docx"],
            )
        await downgrade(engine, "0010_retention")
        async with engine.connect() as connection:
            columns = await connection.run_sync(
                lambda c: {column["name"] for column in inspect(c).get_columns("documents")}
            )
        assert not columns & set(COLUMNS) and "package" in columns
        await migrate(engine)
    finally:
        await engine.dispose()


async def test_migration_0014_indexes_the_words_of_older_subjects(empty_database_url: str) -> None:
    engine = create_engine(empty_database_url)
    older = 2001  # more than one batch of the backfill
    try:
        await migrate(engine, "0013_counter_shards")
        rows = [
            {
                "id": f"00000000-0000-4000-8000-{n:012d}", "sender": "000.00.00.H26",
                "manifest_digest": "0" * 64, "package": "{}", "verdict": "{}",
                "compliant": True, "violations": "", "receipt": "",
                "received_at": datetime(2025, 3, 12, 2, 0, tzinfo=UTC), "wire_format": "json",
                "business_type": 0, "number": str(n), "notation": "QĐ-UBND", "doc_type": "QD",
                "subject": "Hội nghị tổng kết" if n % 2 else "Về việc ban hành Quy chế làm việc",
            }
            for n in range(older)
        ]  # fmt: skip
        async with session_factory(engine).begin() as session:  # the columns 0013 has
            await session.execute(insert(Document.__table__), rows)
        await migrate(engine)
        async with session_factory(engine)() as session:
            for words, expected in (("quy che", 1001), ("HỘI nghị", 1000), ("hồi", 0)):
                found = await find_documents(session, DocumentQuery(words=words), cap=5000)
                assert (found.total, found.total_exact) == (expected, True), words
        await downgrade(engine, "0013_counter_shards")
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
            columns = await connection.run_sync(
                lambda c: {column["name"] for column in inspect(c).get_columns("documents")}
            )
        assert "subject_words" not in columns and "subject" in columns
        assert not {t for t in tables if t.startswith("documents_words")}
        await migrate(engine)
        last = rows[-1]  # `Quy chế`; SQLite gives its row number to the next row inserted
        newer = {**last, "subject": "Đề án chuyển đổi số"}
        newer["subject_words"] = subject_words(newer["subject"])
        async with session_factory(engine).begin() as session:  # the index follows the rows
            await session.execute(delete(Document).where(Document.id == last["id"]))
            await session.execute(insert(Document.__table__), [newer])
        async with session_factory(engine)() as session:
            for words, expected in (("quy che", 1000), ("chuyển đổi", 1)):
                found = await find_documents(session, DocumentQuery(words=words), cap=5000)
                assert found.total == expected, words
    finally:
        await engine.dispose()
