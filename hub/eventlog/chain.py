"""The hash-chained event log: what every writer calls, and the tables behind it.

Writers call `record(session, kind, subject, data)` inside their own
transaction; it only adds an unsealed row, so writers never wait on each other
for the chain. The sealer (`hub.eventlog.sealer`) later gives committed rows
their sequence numbers and hashes, and signs the head now and then.

An entry's hash is `SHA-256(prev_hash || JCS(entry))` where `prev_hash` is the
previous entry's hash as 32 raw bytes (32 zero bytes before the first entry)
and `entry` is `{"seq", "at", "kind", "subject", "data"}` serialised with the
JSON Canonicalization Scheme (RFC 8785).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any
from uuid import UUID

import rfc8785
from pydantic import BaseModel
from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import Base, UTCDateTime, utcnow

GENESIS_HASH = "0" * 64
"""The `prev` of the first entry: the hash of nothing."""

Id = BigInteger().with_variant(Integer(), "sqlite")


class EventLogEntry(Base):
    """One event. `seq`, `prev_hash` and `hash` stay NULL until the sealer chains it."""

    __tablename__ = "event_log"
    __table_args__ = (
        Index(
            "ix_event_log_unsealed",
            "id",
            postgresql_where="seq IS NULL",
            sqlite_where="seq IS NULL",
        ),
        Index("ix_event_log_subject", "subject"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    kind: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(200))
    data: Mapped[str] = mapped_column(Text)
    """The event's data as RFC 8785 JSON text, exactly the bytes that are hashed."""
    registry_change_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    """Set on entries copied from `registry_changes`, so each is taken once."""
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))


class EventLogHead(Base):
    """A signed statement by the hub: entry `seq` of the log has hash `hash`."""

    __tablename__ = "event_log_heads"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    jws: Mapped[str] = mapped_column(Text)


class EventLogState(Base):
    """The one row holding the chain's tip; sealers lock it to take turns."""

    __tablename__ = "event_log_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)
    last_head_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_head_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    registry_change_id: Mapped[int] = mapped_column(BigInteger, default=0)
    """Every registry change with an id up to this one is in the log."""


async def record(session: AsyncSession, kind: str, subject: str, data: dict[str, Any]) -> None:
    """Append an event to the log in the caller's transaction (sealed after commit).

    `kind` names what happened (`document.accepted`, `delivery.attempt`, ...),
    `subject` what it happened to (usually a document id). `data` must be
    JSON-like; datetimes, dates, UUIDs, enums and pydantic models are converted.
    """
    session.add(
        EventLogEntry(recorded_at=utcnow(), kind=kind, subject=subject, data=canonical_json(data))
    )


def canonical_json(value: Any) -> str:
    """RFC 8785 text of `value` after converting the common non-JSON types."""
    text: str = rfc8785.dumps(_plain(value)).decode()
    return text


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(item) for item in value]
    if isinstance(value, datetime):
        return format_time(value) if value.tzinfo is not None else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Enum):
        return _plain(value.value)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return value


def format_time(moment: datetime) -> str:
    """The one text form of a time in the log: UTC, microseconds, `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_bytes(seq: int, at: str, kind: str, subject: str, data_json: str) -> bytes:
    """JCS of the entry, built around `data_json`, which is already canonical."""
    return (
        b'{"at":'
        + rfc8785.dumps(at)
        + b',"data":'
        + data_json.encode()
        + b',"kind":'
        + rfc8785.dumps(kind)
        + b',"seq":'
        + str(seq).encode()
        + b',"subject":'
        + rfc8785.dumps(subject)
        + b"}"
    )


def chain_hash(prev_hash: str, canonical_entry: bytes) -> str:
    """`SHA-256(prev_hash || canonical_entry)` as lowercase hex."""
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical_entry).hexdigest()
