"""The hub's tables: documents, attachments, deliveries, attempts and statuses.

The schema itself is written by `migrations/versions/v0002_hub.py`; these
classes must match it (a test compares them).

- A document is stored once, without its attachments' content; each attachment
  body is stored once per SHA-256 however many documents carry it.
- A delivery is the one job per (document, recipient): the outbox. Push workers
  and pull members claim it by setting a lease; a lease that runs out makes it
  claimable again, so a crashed worker's jobs are taken over.
- A status update is both a line of the trace and a message to one member
  (its `audience`): pushed to push members, read with a cursor by pull members.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import Base, UTCDateTime, utcnow

Id = BigInteger().with_variant(Integer(), "sqlite")

SQLITE_WORD_INDEX = "documents_words"
"""SQLite's FTS5 index of `documents.subject_words` (migration 0014): a virtual table and
its shadow tables `documents_words_*`, made by the migration rather than described here."""


class Document(Base):
    """One accepted package: its manifest and signatures, verdict and receipt."""

    __tablename__ = "documents"
    __table_args__ = (
        Index("ix_documents_sender_received_at", "sender", "received_at"),
        Index("ix_documents_received_at", "received_at"),
        Index("ix_documents_earlier_id", "earlier_id"),
        Index(
            "ix_documents_linked",
            "id",
            "business_type",
            postgresql_where=text("business_type IN (2, 3)"),
            sqlite_where=text("business_type IN (2, 3)"),
        ),
        Index(
            "ix_documents_subject_words",
            text("to_tsvector('simple'::regconfig, subject_words)"),
            postgresql_using="gin",
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    sender: Mapped[str] = mapped_column(String(13))
    manifest_digest: Mapped[str] = mapped_column(String(64))
    package: Mapped[str] = mapped_column(Text)
    """The package as JSON with every attachment's `content` removed."""
    verdict: Mapped[str] = mapped_column(Text)
    """The verification verdict as JSON."""
    compliant: Mapped[bool] = mapped_column(Boolean)
    violations: Mapped[str] = mapped_column(String(1000))
    """Space-separated violation codes, for reports that do not parse the verdict."""
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    receipt: Mapped[str] = mapped_column(Text)
    """The hub's JWS receipt, returned again for a repeated submission."""
    recalled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    wire_format: Mapped[str] = mapped_column(String(8), default="json")
    """`json` or `edxml`: how the sender submitted it."""
    edxml_document_id: Mapped[str | None] = mapped_column(String(256))
    """An edXML-born document's own DocumentId (status messages name the document by it)."""
    original_sha256: Mapped[str | None] = mapped_column(String(64))
    """An edXML-born document's envelope as received, in `attachment_blobs` under this digest."""
    business_type: Mapped[int] = mapped_column(SmallInteger, default=0)
    """0 new, 1 revocation, 2 update, 3 replacement (the package's `header.business.type`)."""
    earlier_id: Mapped[str | None] = mapped_column(String(36))
    """The document this one revokes, updates or replaces (`header.business.document_id`)."""
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """When the retention policy removed its attachment bodies (`hub.retention`)."""
    number: Mapped[str | None] = mapped_column(String(64))
    """The header's `code.number`, copied from the package for searching (`hub.tracking.search`)."""
    notation: Mapped[str | None] = mapped_column(String(128))
    """The header's `code.notation` (`QĐ-UBND`)."""
    subject: Mapped[str | None] = mapped_column(String(4096))
    """The header's `subject` (trích yếu)."""
    subject_words: Mapped[str | None] = mapped_column(Text)
    """The subject's words as the search index reads them (`hub.db.words`); PostgreSQL
    indexes them with a GIN index on `to_tsvector('simple', …)`, SQLite in the FTS5
    table `documents_words` that triggers keep (migration 0014)."""
    doc_type: Mapped[str | None] = mapped_column(String(16))
    """The header's `type` (`QD`, `CV`, …)."""


class AttachmentBlob(Base):
    """An attachment's bytes, stored once per SHA-256."""

    __tablename__ = "attachment_blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    """When a document carrying it was last accepted (refreshed on every reuse): the
    retention policy removes a body only once no document kept needs it."""


class Delivery(Base):
    """One document for one recipient; also the outbox job that carries it."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("document_id", "recipient", name="uq_deliveries_document_id"),
        Index("ix_deliveries_state_next_attempt_at", "state", "next_attempt_at"),
        Index("ix_deliveries_recipient_state", "recipient", "state"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    document_id: Mapped[str] = mapped_column(String(36), ForeignKey("documents.id"))
    recipient: Mapped[str] = mapped_column(String(13))
    mode: Mapped[str] = mapped_column(String(8))
    """`push` or `pull`, from the registry at submission; the worker pushes `push` only."""
    outcome: Mapped[str] = mapped_column(String(24))
    reasons: Mapped[str] = mapped_column(String(1000), default="")
    state: Mapped[str] = mapped_column(String(16))
    status_rank: Mapped[int] = mapped_column(Integer, default=0)
    """The furthest workflow status reached (01=1 … 06=6), so late statuses never regress."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(String(1000))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    member_receipt: Mapped[str | None] = mapped_column(Text)
    """The recipient's signed delivery receipt, proof that it received the package."""
    recall_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    """Recalled after the recipient accepted: it must answer 15 or 16."""


class DeliveryAttempt(Base):
    """One try at a delivery: a push and its result, a pull lease, an acknowledgement."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(String(36), ForeignKey("deliveries.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(String(1000))


class StatusUpdateRow(Base):
    """A status of one delivery, addressed to one member (the `audience`).

    Recipient statuses go to the sender; the hub's 13 (recall) goes to the
    recipient. `seq` numbers each audience's stream without gaps in commit
    order (see `StatusCounter`), so a pull cursor never skips a late commit.
    """

    __tablename__ = "status_updates"
    __table_args__ = (
        UniqueConstraint("audience", "seq", name="uq_status_updates_audience"),
        Index("ix_status_updates_push_state_next_attempt_at", "push_state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(String(36), ForeignKey("deliveries.id"), index=True)
    document_id: Mapped[str] = mapped_column(String(36))
    recipient: Mapped[str] = mapped_column(String(13))
    audience: Mapped[str] = mapped_column(String(13))
    seq: Mapped[int] = mapped_column(BigInteger)
    code: Mapped[str] = mapped_column(String(2))
    reason: Mapped[str | None] = mapped_column(String(2000))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    push_state: Mapped[str] = mapped_column(String(8))
    """`pending` (to push), `sent`, `failed`, or `pull` (read with the cursor)."""
    push_attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    push_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """When the current round of push attempts began: null for the first (`recorded_at`),
    set by a redrive so the age limit counts from then."""


class StatusCounter(Base):
    """The last `seq` of one audience's status stream.

    Incrementing it takes the row lock until commit, so an audience's updates
    commit in `seq` order and a reader's cursor is safe.
    """

    __tablename__ = "status_counters"

    audience: Mapped[str] = mapped_column(String(13), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)


class AlertRow(Base):
    """The last state of one alert the hub notified (`hub.alerts`): whichever hub process
    first moves it to a new state sends that change, the others see it done."""

    __tablename__ = "alerts"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    """The alert and what it is about, e.g. `endpoint_failing:000.00.00.G22`."""
    alert: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    """`firing` or `resolved`."""
    since: Mapped[datetime] = mapped_column(UTCDateTime())
    notified_at: Mapped[datetime] = mapped_column(UTCDateTime())
    summary: Mapped[str] = mapped_column(String(1000))
