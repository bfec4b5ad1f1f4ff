"""Migration 0011 copies the header fields of documents accepted before it into the
columns the document search reads, so older documents are found like new ones."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import insert, inspect

from hub.db.models import Document
from hub.tracking.search import DocumentQuery, describe_documents, search_documents
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
