"""Retention and alerts: when a document's bodies were purged, and which alerts were sent.

`documents.purged_at` marks a document whose attachment bodies the retention
policy removed (its manifest, verdict, facts and trace stay). `alerts` holds
the last state of each alert the hub notified (firing or resolved), so that of
several hub processes evaluating the same conditions only one sends each change.

Revision ID: 0010_retention
Revises: 0009_pades
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_retention"
down_revision: str | None = "0009_pades"
branch_labels: str | None = None
depends_on: str | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("documents", sa.Column("purged_at", _utc(), nullable=True))
    op.create_table(
        "alerts",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("alert", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("since", _utc(), nullable=False),
        sa.Column("notified_at", _utc(), nullable=False),
        sa.Column("summary", sa.String(1000), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_alerts"),
    )


def downgrade() -> None:
    op.drop_table("alerts")
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("purged_at")
