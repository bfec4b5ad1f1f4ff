"""The compliance report's counters, filled from the facts already recorded.

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

# What ingest would have counted: each recipient's facts, and each document's
# lead fact under the all-recipients key '*' (see hub/reports/counters.py).
BACKFILL = """
INSERT INTO report_counts (recipient, day, sender, doc_type, violations,
                           documents, signed, personal_ok, org_ok, compliant)
SELECT recipient, day, sender, doc_type, violations,
       count(*), sum(signed), sum(personal_ok), sum(org_ok), sum(compliant)
FROM report_facts GROUP BY recipient, day, sender, doc_type, violations
UNION ALL
SELECT '*', day, sender, doc_type, violations,
       count(*), sum(signed), sum(personal_ok), sum(org_ok), sum(compliant)
FROM report_facts WHERE lead = 1 GROUP BY day, sender, doc_type, violations
"""


def upgrade() -> None:
    op.create_table(
        "report_counts",
        sa.Column("recipient", sa.String(13), nullable=False),
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
            "recipient", "day", "sender", "doc_type", "violations", name="pk_report_counts"
        ),
    )
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_table("report_counts")
