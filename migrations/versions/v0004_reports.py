"""The reports' facts table (one narrow row per document and recipient).

Revision ID: 0004_reports
Revises: 0003_eventlog
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_reports"
down_revision: str | None = "0003_eventlog"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "report_facts",
        sa.Column("document_id", sa.String(36), nullable=False),
        sa.Column("recipient", sa.String(13), nullable=False),
        sa.Column("sender", sa.String(13), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("doc_type", sa.String(16), nullable=False),
        sa.Column("lead", sa.SmallInteger(), nullable=False),
        sa.Column("signed", sa.SmallInteger(), nullable=False),
        sa.Column("personal_ok", sa.SmallInteger(), nullable=False),
        sa.Column("org_ok", sa.SmallInteger(), nullable=False),
        sa.Column("compliant", sa.SmallInteger(), nullable=False),
        sa.Column("violations", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("document_id", "recipient", name="pk_report_facts"),
    )
    op.create_index("ix_report_facts_day_sender", "report_facts", ["day", "sender"])
    op.create_index("ix_report_facts_recipient_day", "report_facts", ["recipient", "day"])
    op.create_index("ix_report_facts_sender_day", "report_facts", ["sender", "day"])


def downgrade() -> None:
    op.drop_index("ix_report_facts_sender_day", table_name="report_facts")
    op.drop_index("ix_report_facts_recipient_day", table_name="report_facts")
    op.drop_index("ix_report_facts_day_sender", table_name="report_facts")
    op.drop_table("report_facts")
