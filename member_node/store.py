"""The node's own small SQLite: what it received, what it sent, what it heard back.

Deliberately plain `sqlite3` with its own tables (not the hub's schema): a
node is one agency's process, its writes are tiny, and the package id is the
deduplication key the hub asks members to use (DESIGN section 5).

The records it hands out are in `member_node.records` (re-exported here).

The `feed` table is what the DMS pages through: one row per newly received
document and per status heard from the hub, numbered by an AUTOINCREMENT
sequence in the same transaction as the row it announces. Numbers only grow,
are never reused, and are committed in order (one writer, under the lock), so a
reader that saw N never later finds a smaller number appear: `after=N` is a
stable cursor.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from member_node.records import (
    FeedEntry,
    ReceivedDocument,
    StatusRecord,
    received_of,
    signature_summary,
    signed_in,
    status_of,
)

__all__ = [
    "FeedEntry",
    "NodeStore",
    "ReceivedDocument",
    "StatusRecord",
    "signature_summary",
    "signed_in",
]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS received (
    package_id TEXT PRIMARY KEY,
    sender TEXT NOT NULL,
    subject TEXT NOT NULL,
    package TEXT NOT NULL,
    hub_verdict TEXT,
    local_verdict TEXT NOT NULL,
    delivery_receipt TEXT NOT NULL,
    via TEXT NOT NULL,
    received_at TEXT NOT NULL,
    recalled_at TEXT,
    edxml TEXT
);
CREATE TABLE IF NOT EXISTS sent (
    package_id TEXT PRIMARY KEY,
    recipients TEXT NOT NULL,
    subject TEXT NOT NULL,
    receipt TEXT NOT NULL,
    submitted_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS statuses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id TEXT NOT NULL,
    member TEXT NOT NULL,
    code TEXT NOT NULL,
    reason TEXT,
    at TEXT NOT NULL,
    direction TEXT NOT NULL,
    UNIQUE (document_id, member, code, at, direction)
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feed (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    document_id TEXT NOT NULL,
    status_id INTEGER,
    at TEXT NOT NULL
);
"""
_MIGRATIONS = (
    ("received", "taken_at", "ALTER TABLE received ADD COLUMN taken_at TEXT"),
    ("received", "edxml", "ALTER TABLE received ADD COLUMN edxml TEXT"),
)
"""Columns added since the first node databases were written: (table, column, statement)."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class NodeStore:
    """Thread-safe access to the node's database file (`:memory:` for tests)."""

    def __init__(self, path: str | Path, *, flush_each_commit: bool = True) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={'FULL' if flush_each_commit else 'NORMAL'}")
            self._db.executescript(_SCHEMA)
            for table, column, statement in _MIGRATIONS:
                columns = {r["name"] for r in self._db.execute(f"PRAGMA table_info({table})")}
                if column not in columns:
                    self._db.execute(statement)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row["value"]) if row is not None else None

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    # -- received ----------------------------------------------------------------

    def add_received(
        self,
        package: dict[str, Any],
        *,
        hub_verdict: dict[str, Any] | None,
        local_verdict: dict[str, Any],
        delivery_receipt: str,
        via: str,
        edxml: str | None = None,
    ) -> tuple[ReceivedDocument, bool]:
        """Store a package once (with its edXML, for an edXML member); return the stored
        row and whether it was new."""
        with self._lock, self._transaction():
            cur = self._db.execute(
                "INSERT OR IGNORE INTO received (package_id, sender, subject, package,"
                " hub_verdict, local_verdict, delivery_receipt, via, received_at, edxml)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    package["id"],
                    package["sender"],
                    str(package.get("header", {}).get("subject", "")),
                    json.dumps(package, ensure_ascii=False),
                    json.dumps(hub_verdict) if hub_verdict is not None else None,
                    json.dumps(local_verdict),
                    delivery_receipt,
                    via,
                    _now(),
                    edxml,
                ),
            )
            created = cur.rowcount == 1
            if created:
                self._announce("document", package["id"], None)
        stored = self.received(package["id"])
        assert stored is not None
        return stored, created

    def received(self, package_id: str) -> ReceivedDocument | None:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM received WHERE package_id = ?", (package_id,)
            ).fetchone()
        return received_of(row) if row is not None else None

    def inbox(
        self, limit: int = 100, *, include_recalled: bool = False, taken: bool | None = None
    ) -> list[ReceivedDocument]:
        """The newest received documents first; recalled ones are deleted from view.

        `taken` False lists only what the DMS has not taken yet, True only what it has.
        """
        conditions = [] if include_recalled else ["recalled_at IS NULL"]
        if taken is not None:
            conditions.append("taken_at IS NOT NULL" if taken else "taken_at IS NULL")
        where = ("WHERE " + " AND ".join(conditions)) if conditions else ""
        with self._lock:
            rows = self._db.execute(
                f"SELECT * FROM received {where} ORDER BY received_at DESC, package_id LIMIT ?",
                (limit,),
            ).fetchall()
        return [received_of(r) for r in rows]

    def mark_recalled(self, package_id: str) -> bool:
        """Delete a recalled document from the inbox (Decree 30); False if unknown."""
        with self._lock:
            cur = self._db.execute(
                "UPDATE received SET recalled_at = ?, package = '{}', edxml = NULL"
                " WHERE package_id = ? AND recalled_at IS NULL",
                (_now(), package_id),
            )
        return cur.rowcount == 1

    # -- sent --------------------------------------------------------------------

    def add_sent(
        self, package_id: str, recipients: list[str], subject: str, receipt: dict[str, Any]
    ) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO sent VALUES (?, ?, ?, ?, ?)",
                (package_id, json.dumps(recipients), subject, json.dumps(receipt), _now()),
            )

    def sent(self, package_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM sent WHERE package_id = ?", (package_id,)
            ).fetchone()
        if row is None:
            return None
        return {
            "id": row["package_id"],
            "recipients": json.loads(row["recipients"]),
            "subject": row["subject"],
            "receipt": json.loads(row["receipt"]),
            "submitted_at": row["submitted_at"],
        }

    # -- statuses ----------------------------------------------------------------

    def add_status(
        self,
        document_id: str,
        member: str,
        code: str,
        at: str,
        *,
        reason: str | None = None,
        direction: str = "in",
    ) -> bool:
        """Record a status heard (`in`) or posted (`out`); False if already known.

        A new status heard from the hub is announced in the feed.
        """
        with self._lock, self._transaction():
            cur = self._db.execute(
                "INSERT OR IGNORE INTO statuses (document_id, member, code, reason, at, direction)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (document_id, member, code, reason, at, direction),
            )
            created = cur.rowcount == 1
            if created and direction == "in":
                self._announce("status", document_id, cur.lastrowid)
        return created

    def statuses(self, document_id: str) -> list[StatusRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM statuses WHERE document_id = ? ORDER BY id", (document_id,)
            ).fetchall()
        # Pushes of one document's statuses travel concurrently and may land in any
        # order; the poster's time is the order a reader expects.
        rows.sort(key=lambda r: (datetime.fromisoformat(r["at"]), r["id"]))
        return [status_of(r) for r in rows]

    # -- what the DMS takes --------------------------------------------------------

    def mark_taken(self, package_id: str) -> ReceivedDocument | None:
        """Record that the DMS took the document (the first time counts); None if unknown."""
        with self._lock:
            self._db.execute(
                "UPDATE received SET taken_at = ? WHERE package_id = ? AND taken_at IS NULL",
                (_now(), package_id),
            )
        return self.received(package_id)

    def feed(self, after: int = 0, limit: int = 100) -> list[FeedEntry]:
        """Feed entries numbered above `after`, oldest first, at most `limit`."""
        with self._lock:
            rows = self._db.execute(
                "SELECT f.seq, f.kind, f.document_id, f.at, s.id AS s_id, s.member, s.code,"
                " s.reason, s.at AS s_at, s.direction, s.document_id AS s_document_id"
                " FROM feed f LEFT JOIN statuses s ON s.id = f.status_id"
                " WHERE f.seq > ? ORDER BY f.seq LIMIT ?",
                (after, limit),
            ).fetchall()
        entries = []
        for r in rows:
            status = None
            if r["s_id"] is not None:
                status = StatusRecord(
                    r["s_id"], r["s_document_id"], r["member"], r["code"], r["reason"],
                    r["s_at"], r["direction"],
                )  # fmt: skip
            document = self.received(r["document_id"]) if r["kind"] == "document" else None
            entries.append(
                FeedEntry(r["seq"], r["kind"], r["document_id"], r["at"], document, status)
            )
        return entries

    def last_feed_seq(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT COALESCE(MAX(seq), 0) AS seq FROM feed").fetchone()
        return int(row["seq"])

    # -- internals -------------------------------------------------------------------

    def _announce(self, kind: str, document_id: str, status_id: int | None) -> None:
        self._db.execute(
            "INSERT INTO feed (kind, document_id, status_id, at) VALUES (?, ?, ?, ?)",
            (kind, document_id, status_id, _now()),
        )

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """One transaction (the connection autocommits otherwise); call under the lock."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
