"""`insert_rows`: the same rows stored on both databases, conflicts and failures as SQLAlchemy's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError

from hub.db.bulk import Inserts, insert_all, insert_rows, update_rows
from hub.db.models import AttachmentBlob, Delivery, Document
from hub.ingest.writer import (
    _BLOBS,
    _BLOBS_ON_CONFLICT,
    _BLOBS_REFRESHING_DUPLICATES,
    _DELIVERIES,
    _DOCUMENTS,
)

ICT = timezone(timedelta(hours=7))


def _document(number: int, **changes: Any) -> dict[str, Any]:
    row = {
        "id": f"00000000-0000-4000-8000-{number:012d}",
        "sender": "000.00.00.H26",
        "manifest_digest": f"{number:064x}",
        "package": '{"subject":"Về việc ban hành quy chế — ổn định"}',
        "verdict": "{}",
        "compliant": number % 2 == 0,
        "violations": "" if number % 2 == 0 else "MISSING_ORG_SIGNATURE",
        "received_at": datetime(2026, 3, 12, 9, 30, tzinfo=ICT) + timedelta(seconds=number),
        "receipt": "receipt-" + "x" * 3000,
    }
    return {**row, **changes}


async def test_rows_come_back_as_given(db_sessions: Any) -> None:
    rows = [_document(n) for n in range(1, 40)]
    async with db_sessions() as session:
        await insert_rows(session, _DOCUMENTS, rows)  # the first statement: opens the transaction
        await session.commit()
    async with db_sessions() as session:
        stored = (await session.scalars(select(Document).order_by(Document.id))).all()
    assert [(d.id, d.compliant, d.violations, d.package, d.receipt) for d in stored] == [
        (r["id"], r["compliant"], r["violations"], r["package"], r["receipt"]) for r in rows
    ]
    assert [d.received_at for d in stored] == [r["received_at"] for r in rows]
    assert all(d.received_at.tzinfo is not None and d.recalled_at is None for d in stored)


async def test_no_rows_is_no_statement(db_sessions: Any) -> None:
    async with db_sessions() as session:
        await insert_rows(session, _DOCUMENTS, [])
        await session.commit()
        assert (await session.scalars(select(Document))).all() == []


async def test_on_conflict_keeps_the_first_body_and_refreshes_its_time(db_sessions: Any) -> None:
    now = datetime.now(UTC)
    first = {
        "sha256": "a" * 64,
        "size": 3,
        "content": b"\x00\x01\x02",
        "stored_at": now - timedelta(days=3),
    }
    async with db_sessions() as session:
        await insert_rows(session, _BLOBS, [first])
        await session.commit()
    again = [
        {**first, "content": b"other", "stored_at": now},
        {"sha256": "b" * 64, "size": 1, "content": b"\xff", "stored_at": now},
    ]
    async with db_sessions() as session:
        await insert_rows(
            session,
            _BLOBS,
            again,
            on_conflict=_BLOBS_ON_CONFLICT,
            fallback=_BLOBS_REFRESHING_DUPLICATES,
        )
        await session.commit()
    async with db_sessions() as session:
        blobs = (await session.scalars(select(AttachmentBlob).order_by("sha256"))).all()
    assert [(b.sha256, b.content, b.stored_at) for b in blobs] == [
        ("a" * 64, b"\x00\x01\x02", now),
        ("b" * 64, b"\xff", now),
    ]


async def test_a_duplicate_key_is_an_integrity_error_and_writes_nothing(db_sessions: Any) -> None:
    async with db_sessions() as session:
        await insert_rows(session, _DOCUMENTS, [_document(1)])
        await session.commit()
    async with db_sessions() as session:
        with pytest.raises(IntegrityError):
            await insert_rows(session, _DOCUMENTS, [_document(2), _document(1)])
        await session.rollback()
    async with db_sessions() as session:
        ids = (await session.scalars(select(Document.id))).all()
    assert ids == [_document(1)["id"]]


async def test_a_value_the_column_refuses_is_a_database_error(db_sessions: Any) -> None:
    async with db_sessions() as session:
        if session.get_bind().dialect.name == "sqlite":
            pytest.skip("SQLite does not enforce VARCHAR lengths")
        with pytest.raises(DBAPIError):
            await insert_rows(session, _DOCUMENTS, [_document(1, sender="x" * 100)])
        await session.rollback()


async def test_update_sets_the_other_columns_where_the_key_matches(db_sessions: Any) -> None:
    async with db_sessions() as session:
        await insert_rows(session, _DOCUMENTS, [_document(n) for n in range(1, 6)])
        await session.commit()
    changes = [
        {"id": _document(2)["id"], "violations": "LATE_DISPATCH", "compliant": False},
        {"id": _document(4)["id"], "violations": "", "compliant": True},
        {"id": _document(99)["id"], "violations": "NOBODY", "compliant": False},  # no such row
    ]
    async with db_sessions() as session:
        await update_rows(session, _DOCUMENTS, changes, key="id")
        await session.commit()
    async with db_sessions() as session:
        stored = (await session.execute(select(Document.id, Document.violations))).all()
    assert sorted(stored) == sorted(
        [(_document(n)["id"], _document(n)["violations"]) for n in (1, 3, 5)]
        + [(_document(2)["id"], "LATE_DISPATCH"), (_document(4)["id"], "")]
    )


async def test_update_refuses_a_value_too_long_and_changes_nothing(db_sessions: Any) -> None:
    async with db_sessions() as session:
        if session.get_bind().dialect.name == "sqlite":
            pytest.skip("SQLite does not enforce VARCHAR lengths")
        await insert_rows(session, _DOCUMENTS, [_document(1), _document(2)])
        await session.commit()
    async with db_sessions() as session:
        with pytest.raises(DBAPIError):
            await update_rows(
                session,
                _DOCUMENTS,
                [
                    {"id": _document(1)["id"], "sender": "000.00.00.G22"},
                    {"id": _document(2)["id"], "sender": "x" * 100},
                ],
                key="id",
            )
        await session.rollback()
    async with db_sessions() as session:
        senders = (await session.scalars(select(Document.sender))).all()
    assert senders == ["000.00.00.H26", "000.00.00.H26"]


def _delivery(number: int, document: int, recipient: str = "000.00.00.G22") -> dict[str, Any]:
    now = datetime(2026, 3, 12, 2, 30, tzinfo=UTC)
    return {
        "id": f"10000000-0000-4000-8000-{number:012d}",
        "document_id": _document(document)["id"],
        "recipient": recipient,
        "mode": "pull",
        "outcome": "accepted",
        "reasons": "",
        "state": "queued",
        "status_rank": 0,
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": now,
        "recall_pending": False,
    }


async def test_parents_and_children_go_in_one_call(db_sessions: Any) -> None:
    deliveries = [_delivery(1, 1), _delivery(2, 2), _delivery(3, 2, "000.00.00.G23")]
    async with db_sessions() as session:
        await insert_all(
            session,
            [
                Inserts(_DOCUMENTS, [_document(1), _document(2)]),
                Inserts(_BLOBS, []),  # nothing for a table: skipped
                Inserts(_DELIVERIES, deliveries),
            ],
        )
        await session.commit()
    async with db_sessions() as session:
        pairs = (await session.execute(select(Delivery.id, Delivery.document_id))).all()
    assert sorted(pairs) == sorted((d["id"], d["document_id"]) for d in deliveries)


async def test_a_child_without_its_parent_fails_the_whole_call(db_sessions: Any) -> None:
    async with db_sessions() as session:
        with pytest.raises(IntegrityError):
            await insert_all(
                session,
                [
                    Inserts(_DOCUMENTS, [_document(1)]),
                    Inserts(_DELIVERIES, [_delivery(1, 1), _delivery(2, 7)]),  # no document 7
                ],
            )
            await session.flush()
        await session.rollback()
    async with db_sessions() as session:
        assert (await session.scalars(select(Document.id))).all() == []
        assert (await session.scalars(select(Delivery.id))).all() == []
