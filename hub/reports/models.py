"""The reports' facts table: one narrow row per (document, recipient), written at ingest.

Reports aggregate these rows with GROUP BY and never parse a verdict: the
flags and the violation bitmask say everything the compliance report counts.
`lead` marks one row per document (its first recipient), so a report without
a recipient filter counts each document once; with a recipient filter every
row for that recipient is one document sent to it.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Index, Integer, SmallInteger, String
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
