"""The compliance report's counters (days, months, years), filled from the facts recorded.

Revision ID: 0005_report_counters
Revises: 0004_reports
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_report_counters"
down_revision: str | None = "0004_reports"
branch_labels: str | None = None
depends_on: str | None = None

# What ingest would have counted (a frozen copy of hub.reports.counters.backfill_sql):
# per recipient, and '*' (all recipients) for each document's lead fact; per sender at
# the D, M and Y grains (day, month, year), and '*' (all senders) per day at grain T.
_PART = """
SELECT {recipient}, '{grain}', {first}, {sender}, doc_type, violations,
       count(*), sum(signed), sum(personal_ok), sum(org_ok), sum(compliant)
FROM report_facts {where} GROUP BY {group}doc_type, violations"""
_FIRST_DAY = {
    "postgresql": (
        "CAST(date_trunc('month', day) AS date)",
        "CAST(date_trunc('year', day) AS date)",
    ),
    "sqlite": ("date(day, 'start of month')", "date(day, 'start of year')"),
}
_COLUMNS = (
    "recipient, grain, day, sender, doc_type, violations,"
    " documents, signed, personal_ok, org_ok, compliant"
)


def _backfill(dialect: str) -> str:
    month, year = _FIRST_DAY["postgresql" if dialect == "postgresql" else "sqlite"]
    parts = []
    for lead in (False, True):
        for grain, first in (("D", "day"), ("M", month), ("Y", year), ("T", "day")):
            sender = "'*'" if grain == "T" else "sender"
            parts.append(
                _PART.format(
                    recipient="'*'" if lead else "recipient",
                    grain=grain,
                    first=first,
                    sender=sender,
                    where="WHERE lead = 1" if lead else "",
                    group=("" if lead else "recipient, ")
                    + f"{first}, "
                    + ("" if grain == "T" else "sender, "),
                )
            )
    return f"INSERT INTO report_counts ({_COLUMNS})" + "\nUNION ALL".join(parts)


def upgrade() -> None:
    op.create_table(
        "report_counts",
        sa.Column("recipient", sa.String(13), nullable=False),
        sa.Column("grain", sa.String(1), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("sender", sa.String(13), nullable=False),
        sa.Column("doc_type", sa.String(16), nullable=False),
        sa.Column("violations", sa.Integer(), nullable=False),
        sa.Column("documents", sa.Integer(), nullable=False),
        sa.Column("signed", sa.Integer(), nullable=False),
        sa.Column("personal_ok", sa.Integer(), nullable=False),
        sa.Column("org_ok", sa.Integer(), nullable=False),
        sa.Column("compliant", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "recipient", "grain", "day", "sender", "doc_type", "violations",
            name="pk_report_counts",
        ),
    )  # fmt: skip
    op.create_index(
        "ix_report_counts_sender", "report_counts", ["recipient", "grain", "sender", "day"]
    )
    op.execute(_backfill(op.get_bind().dialect.name))


def downgrade() -> None:
    op.drop_index("ix_report_counts_sender", table_name="report_counts")
    op.drop_table("report_counts")
