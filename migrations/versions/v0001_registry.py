"""The registry: members, their certificates, operators and the change log.

Revision ID: 0001_registry
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_registry"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "members",
        sa.Column("code", sa.String(13), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("parent_code", sa.String(13), nullable=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("delivery_mode", sa.String(8), nullable=False),
        sa.Column("endpoint", sa.String(2000), nullable=True),
        sa.Column("policy", sa.String(24), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_code"], ["members.code"], name="fk_members_parent_code_members"
        ),
        sa.PrimaryKeyConstraint("code", name="pk_members"),
    )
    op.create_index("ix_members_parent_code", "members", ["parent_code"])
    op.create_table(
        "member_certificates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("member_code", sa.String(13), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("pem", sa.Text(), nullable=False),
        sa.Column("serial", sa.String(64), nullable=False),
        sa.Column("signing", sa.Boolean(), nullable=False),
        sa.Column("auth", sa.Boolean(), nullable=False),
        sa.Column("not_before", _utc(), nullable=False),
        sa.Column("not_after", _utc(), nullable=False),
        sa.Column("added_at", _utc(), nullable=False),
        sa.Column("retired_at", _utc(), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_code"],
            ["members.code"],
            name="fk_member_certificates_member_code_members",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_member_certificates"),
        sa.UniqueConstraint("fingerprint", name="uq_member_certificates_fingerprint"),
    )
    op.create_index("ix_member_certificates_member_code", "member_certificates", ["member_code"])
    op.create_table(
        "operators",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(12), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("disabled_at", _utc(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_operators"),
        sa.UniqueConstraint("name", name="uq_operators_name"),
        sa.UniqueConstraint("token_hash", name="uq_operators_token_hash"),
    )
    op.create_table(
        "registry_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("member_code", sa.String(13), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_registry_changes"),
    )
    op.create_index("ix_registry_changes_member_code_id", "registry_changes", ["member_code", "id"])


def downgrade() -> None:
    op.drop_index("ix_registry_changes_member_code_id", table_name="registry_changes")
    op.drop_table("registry_changes")
    op.drop_table("operators")
    op.drop_index("ix_member_certificates_member_code", table_name="member_certificates")
    op.drop_table("member_certificates")
    op.drop_index("ix_members_parent_code", table_name="members")
    op.drop_table("members")
