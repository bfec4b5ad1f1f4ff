"""The reports' tables, both written at ingest in the submission's transaction.

`report_facts`: one narrow row per (document, recipient). The flags and the
violation bitmask say everything the compliance report counts; `lead` marks
one row per document (its first recipient), so a count without a recipient
filter counts each document once. The delivery report and the dashboard's
per-document pages read it.

`report_counts`: the same facts already added up per (recipient, period,
sender, document type, violation mask), for days, months and years. The
compliance report sums these counters, so its cost follows the number of
distinct keys in the few periods it reads, not the number of documents.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from sqlalchemy import Date, Index, Integer, PrimaryKeyConstraint, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import Base


class ReportFact(Base):
    """What the compliance report needs to know about one document for one recipient."""

    __tablename__ = "report_facts"
    __table_args__ = (
        Index("ix_report_facts_day_sender", "day", "sender"),
        Index("ix_report_facts_recipient_day", "recipient", "day"),
        Index("ix_report_facts_sender_day", "sender", "day"),
    )

    document_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    recipient: Mapped[str] = mapped_column(String(13), primary_key=True)
    sender: Mapped[str] = mapped_column(String(13))
    day: Mapped[date] = mapped_column(Date)
    """The day the hub received the document, in Vietnam time."""
    doc_type: Mapped[str] = mapped_column(String(16))
    lead: Mapped[int] = mapped_column(SmallInteger)
    """1 on exactly one row per document (its first recipient), else 0."""
    signed: Mapped[int] = mapped_column(SmallInteger)
    personal_ok: Mapped[int] = mapped_column(SmallInteger)
    """1 when a personal signature of the sender's official verifies and is trusted and valid."""
    org_ok: Mapped[int] = mapped_column(SmallInteger)
    """1 when the sender's organisation signature verifies and is trusted and valid."""
    compliant: Mapped[int] = mapped_column(SmallInteger)
    violations: Mapped[int] = mapped_column(Integer)
    """Bit i set when `VIOLATION_CODES[i]` applies."""
    signed_pdf: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    """1 when the principal PDF carries a signature (PAdES), whatever its worth."""
    signed_envelope: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    """1 when the envelope carries a signature (JWS, or edXML's XML-DSig)."""
    signed_both: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    """1 when both do: `signed` = `signed_pdf` + `signed_envelope` - `signed_both`."""


ALL_RECIPIENTS = "*"
"""`ReportCount.recipient` of the counters that count each document once (its lead fact)."""
ALL_SENDERS = "*"
"""`ReportCount.sender` of the `TREND` counters, which add up every sender."""


class Grain(StrEnum):
    """How long a period one counter covers; `ReportCount.day` is the period's first day."""

    DAY = "D"
    MONTH = "M"
    YEAR = "Y"
    TREND = "T"
    """A day, every sender together (`ALL_SENDERS`): the daily trend without a sender filter."""


class ReportCount(Base):
    """How many documents share one key, and how many of them were signed, valid, compliant.

    Every accepted document adds 1 to the counters of each of its recipients and
    of `ALL_RECIPIENTS`, at each grain, in one upsert per submission. A report
    splits its window into whole years, whole months and single days, so it sums
    a few thousand counters whatever the number of documents. The primary key
    leads with (recipient, grain, day): each piece of the window is one index range;
    `ix_report_counts_sender` serves the same with a few chosen senders.
    """

    __tablename__ = "report_counts"
    __table_args__ = (
        PrimaryKeyConstraint(
            "recipient", "grain", "day", "sender", "doc_type", "violations", "shard",
            name="pk_report_counts",
        ),
        Index("ix_report_counts_sender", "recipient", "grain", "sender", "day"),
    )  # fmt: skip

    recipient: Mapped[str] = mapped_column(String(13))
    """A recipient's code, or `ALL_RECIPIENTS`."""
    grain: Mapped[str] = mapped_column(String(1))
    """A `Grain` value."""
    day: Mapped[date] = mapped_column(Date)
    """The first Vietnam day of the period counted."""
    sender: Mapped[str] = mapped_column(String(13))
    doc_type: Mapped[str] = mapped_column(String(16))
    violations: Mapped[int] = mapped_column(Integer)
    shard: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    """Which writer's part of the key's count (`hub.reports.counters.SHARDS`): reports sum
    them; concurrent ingest transactions add to different rows instead of queueing."""
    documents: Mapped[int] = mapped_column(Integer)
    signed: Mapped[int] = mapped_column(Integer)
    personal_ok: Mapped[int] = mapped_column(Integer)
    org_ok: Mapped[int] = mapped_column(Integer)
    compliant: Mapped[int] = mapped_column(Integer)
    signed_pdf: Mapped[int] = mapped_column(Integer, server_default="0")
    signed_envelope: Mapped[int] = mapped_column(Integer, server_default="0")
    signed_both: Mapped[int] = mapped_column(Integer, server_default="0")
