"""The hub's messaging tables: documents, attachment blobs, deliveries, attempts, statuses.

Revision ID: 0002_hub
Revises: 0001_registry
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_hub"
down_revision: str | None = "0001_registry"
branch_labels: str | None = None
depends_on: str | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("sender", sa.String(13), nullable=False),
        sa.Column("manifest_digest", sa.String(64), nullable=False),
        sa.Column("package", sa.Text(), nullable=False),
        sa.Column("verdict", sa.Text(), nullable=False),
        sa.Column("compliant", sa.Boolean(), nullable=False),
        sa.Column("violations", sa.String(1000), nullable=False),
        sa.Column("received_at", _utc(), nullable=False),
        sa.Column("receipt", sa.Text(), nullable=False),
        sa.Column("recalled_at", _utc(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_documents"),
    )
    op.create_index("ix_documents_sender_received_at", "documents", ["sender", "received_at"])
    op.create_table(
        "attachment_blobs",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("stored_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name="pk_attachment_blobs"),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("document_id", sa.String(36), nullable=False),
        sa.Column("recipient", sa.String(13), nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("outcome", sa.String(24), nullable=False),
        sa.Column("reasons", sa.String(1000), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("status_rank", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("next_attempt_at", _utc(), nullable=False),
        sa.Column("leased_until", _utc(), nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("last_error", sa.String(1000), nullable=True),
        sa.Column("delivered_at", _utc(), nullable=True),
        sa.Column("member_receipt", sa.Text(), nullable=True),
        sa.Column("recall_pending", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name="fk_deliveries_document_id_documents"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_deliveries"),
        sa.UniqueConstraint("document_id", "recipient", name="uq_deliveries_document_id"),
    )
    op.create_index(
        "ix_deliveries_state_next_attempt_at", "deliveries", ["state", "next_attempt_at"]
    )
    op.create_index("ix_deliveries_recipient_state", "deliveries", ["recipient", "state"])
    op.create_table(
        "delivery_attempts",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("delivery_id", sa.String(36), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("started_at", _utc(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("detail", sa.String(1000), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name="fk_delivery_attempts_delivery_id_deliveries",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_delivery_attempts"),
    )
    op.create_index("ix_delivery_attempts_delivery_id", "delivery_attempts", ["delivery_id"])
    op.create_table(
        "status_updates",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("delivery_id", sa.String(36), nullable=False),
        sa.Column("document_id", sa.String(36), nullable=False),
        sa.Column("recipient", sa.String(13), nullable=False),
        sa.Column("audience", sa.String(13), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(2), nullable=False),
        sa.Column("reason", sa.String(2000), nullable=True),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("recorded_at", _utc(), nullable=False),
        sa.Column("push_state", sa.String(8), nullable=False),
        sa.Column("push_attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _utc(), nullable=True),
        sa.Column("leased_until", _utc(), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name="fk_status_updates_delivery_id_deliveries",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_status_updates"),
        sa.UniqueConstraint("audience", "seq", name="uq_status_updates_audience"),
    )
    op.create_index("ix_status_updates_delivery_id", "status_updates", ["delivery_id"])
    op.create_index(
        "ix_status_updates_push_state_next_attempt_at",
        "status_updates",
        ["push_state", "next_attempt_at"],
    )
    op.create_table(
        "status_counters",
        sa.Column("audience", sa.String(13), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("audience", name="pk_status_counters"),
    )


def downgrade() -> None:
    op.drop_table("status_counters")
    op.drop_index("ix_status_updates_push_state_next_attempt_at", table_name="status_updates")
    op.drop_index("ix_status_updates_delivery_id", table_name="status_updates")
    op.drop_table("status_updates")
    op.drop_index("ix_delivery_attempts_delivery_id", table_name="delivery_attempts")
    op.drop_table("delivery_attempts")
    op.drop_index("ix_deliveries_recipient_state", table_name="deliveries")
    op.drop_index("ix_deliveries_state_next_attempt_at", table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_table("attachment_blobs")
    op.drop_index("ix_documents_sender_received_at", table_name="documents")
    op.drop_table("documents")
