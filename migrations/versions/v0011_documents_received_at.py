"""Documents by arrival time: the dashboard's document list and per-hour chart read
`documents` newest first or within a time window, whoever sent them.

Revision ID: 0011_documents_received_at
Revises: 0010_retention
"""

from __future__ import annotations

from alembic import op

revision = "0011_documents_received_at"
down_revision: str | None = "0010_retention"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index("ix_documents_received_at", "documents", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_documents_received_at", table_name="documents")
