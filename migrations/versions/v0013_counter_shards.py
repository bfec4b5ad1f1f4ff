"""Report counters split into shards: `report_counts.shard` joins the primary key.

Every accepted document adds to a few counters that every other document of
the day adds to as well (the all-recipients and all-senders ones), and a row
lock taken by an upsert is held until its transaction commits. With one row
per key, the ingest transactions of every hub process queued on those rows.
Each writing connection now adds to its own shard of a key (PostgreSQL: its
backend's pid modulo `hub.reports.counters.SHARDS`); reports sum the shards.
SQLite has one writer and keeps shard 0.

Revision ID: 0013_counter_shards
Revises: 0012_linked_documents
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_counter_shards"
down_revision: str | None = "0012_linked_documents"
branch_labels: str | None = None
depends_on: str | None = None

KEY = ["recipient", "grain", "day", "sender", "doc_type", "violations"]
COUNTED = [
    "documents", "signed", "personal_ok", "org_ok", "compliant",
    "signed_pdf", "signed_envelope", "signed_both",
]  # fmt: skip


def upgrade() -> None:
    with op.batch_alter_table("report_counts") as batch:
        batch.add_column(sa.Column("shard", sa.SmallInteger(), nullable=False, server_default="0"))
        batch.drop_constraint("pk_report_counts", type_="primary")
        batch.create_primary_key("pk_report_counts", [*KEY, "shard"])


def downgrade() -> None:
    """Fold the shards back into one row per key."""
    sums = ", ".join(f"CAST(sum({name}) AS INTEGER) AS {name}" for name in COUNTED)
    keys = ", ".join(KEY)
    op.execute(
        f"CREATE TABLE report_counts_folded AS SELECT {keys}, {sums} "
        f"FROM report_counts GROUP BY {keys}"
    )
    op.execute("DELETE FROM report_counts")
    with op.batch_alter_table("report_counts") as batch:
        batch.drop_constraint("pk_report_counts", type_="primary")
        batch.drop_column("shard")
        batch.create_primary_key("pk_report_counts", KEY)
    columns = ", ".join([*KEY, *COUNTED])
    op.execute(f"INSERT INTO report_counts ({columns}) SELECT {columns} FROM report_counts_folded")
    op.drop_table("report_counts_folded")
