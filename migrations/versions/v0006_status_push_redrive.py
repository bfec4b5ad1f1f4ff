"""Status pushes can be redriven: when the current round of attempts began.

Revision ID: 0006_status_push_redrive
Revises: 0005_report_counters
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_status_push_redrive"
down_revision: str | None = "0005_report_counters"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    column = sa.Column("push_since", sa.DateTime(timezone=True), nullable=True)
    op.add_column("status_updates", column)


def downgrade() -> None:
    with op.batch_alter_table("status_updates") as batch:
        batch.drop_column("push_since")
