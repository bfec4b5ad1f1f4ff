"""PostgreSQL compresses the large values with lz4 where the server has it.

A stored package, its receipt and its attachment bodies are several kilobytes
each, so PostgreSQL compresses them on the way to disk. With its default (pglz)
that was a fifth of the database's CPU under a steady stream of submissions;
lz4 does the same job several times faster and gives up at once on data that
does not compress (most attachments). A server built without lz4 keeps pglz.
Only new values are affected; SQLite has nothing to change.

Revision ID: 0007_lz4_compression
Revises: 0006_status_push_redrive
"""

from __future__ import annotations

from alembic import op

revision = "0007_lz4_compression"
down_revision: str | None = "0006_status_push_redrive"
branch_labels: str | None = None
depends_on: str | None = None

COLUMNS = [
    ("documents", "package"),
    ("documents", "receipt"),
    ("attachment_blobs", "content"),
    ("deliveries", "member_receipt"),
]


def _set_compression(method: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    statements = " ".join(
        f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION {method};"
        for table, column in COLUMNS
    )
    # lz4 is a build option of PostgreSQL: without it the server keeps pglz
    op.execute(
        f"DO $$ BEGIN {statements} "
        "EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN NULL; END $$"
    )


def upgrade() -> None:
    _set_compression("lz4")


def downgrade() -> None:
    _set_compression("default")
