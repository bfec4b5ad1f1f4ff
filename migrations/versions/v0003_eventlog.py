"""The hash-chained event log: entries, signed heads and the chain's tip.

Revision ID: 0003_eventlog
Revises: 0002_hub
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_eventlog"
down_revision: str | None = "0002_hub"
branch_labels: str | None = None
depends_on: str | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "event_log",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("recorded_at", _utc(), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("registry_change_id", sa.Integer(), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=True),
        sa.Column("hash", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_event_log"),
        sa.UniqueConstraint("seq", name="uq_event_log_seq"),
        sa.UniqueConstraint("registry_change_id", name="uq_event_log_registry_change_id"),
    )
    op.create_index(
        "ix_event_log_unsealed",
        "event_log",
        ["id"],
        postgresql_where=sa.text("seq IS NULL"),
        sqlite_where=sa.text("seq IS NULL"),
    )
    op.create_index("ix_event_log_subject", "event_log", ["subject"])
    op.create_table(
        "event_log_heads",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("signed_at", _utc(), nullable=False),
        sa.Column("jws", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_event_log_heads"),
    )
    state = op.create_table(
        "event_log_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.Column("last_head_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_head_at", _utc(), nullable=True),
        sa.Column("registry_change_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_event_log_state"),
    )
    op.bulk_insert(
        state,
        [
            {
                "id": 1,
                "last_seq": 0,
                "last_hash": "0" * 64,
                "last_head_seq": 0,
                "last_head_at": None,
                "registry_change_id": 0,
            }
        ],
    )


def downgrade() -> None:
    op.drop_table("event_log_state")
    op.drop_table("event_log_heads")
    op.drop_index("ix_event_log_subject", table_name="event_log")
    op.drop_index("ix_event_log_unsealed", table_name="event_log")
    op.drop_table("event_log")
