"""Where documents are signed: in the principal PDF, on the envelope, or both.

`report_facts` and `report_counts` gain `signed_pdf`, `signed_envelope` and
`signed_both` (flags per fact, sums per counter). Before this revision the hub
recorded no fact of a PDF signature in the reports, so every document already
counted as signed was signed on its envelope: the facts and the counters
recorded so far get `signed_envelope = signed`, and the counters stay the sums
of the facts.

Revision ID: 0009_pades
Revises: 0007_lz4_compression
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_pades"
down_revision: str | None = "0008_edxml"
branch_labels: str | None = None
depends_on: str | None = None

COLUMNS = ("signed_pdf", "signed_envelope", "signed_both")
TABLES = {"report_facts": sa.SmallInteger, "report_counts": sa.Integer}


def upgrade() -> None:
    for table, kind in TABLES.items():
        with op.batch_alter_table(table) as batch:
            for column in COLUMNS:
                batch.add_column(
                    sa.Column(column, kind(), nullable=False, server_default=sa.text("0"))
                )
        op.execute(f"UPDATE {table} SET signed_envelope = signed")


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            for column in reversed(COLUMNS):
                batch.drop_column(column)
