"""Finding documents: how each is cited and what it is about, in columns of `documents`.

The dashboard and `GET /v1/admin/documents` search by number and notation,
words of the subject and type, and list documents newest first or within a
time window whoever sent them. The header fields were only inside the stored
package (JSON, several kilobytes with its signatures), which PostgreSQL had to
parse for every row searched; they are now copied at acceptance, and filled
here from the packages already stored.

Revision ID: 0011_document_search
Revises: 0010_retention
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_document_search"
down_revision: str | None = "0010_retention"
branch_labels: str | None = None
depends_on: str | None = None

_FIELDS = {
    "number": ("code", "number"),
    "notation": ("code", "notation"),
    "subject": ("subject",),
    "doc_type": ("type",),
}


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("number", sa.String(64), nullable=True))
        batch.add_column(sa.Column("notation", sa.String(128), nullable=True))
        batch.add_column(sa.Column("subject", sa.String(4096), nullable=True))
        batch.add_column(sa.Column("doc_type", sa.String(16), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        sets = ", ".join(
            f"{column} = package::jsonb #>> '{{header,{','.join(path)}}}'"
            for column, path in _FIELDS.items()
        )
    else:
        sets = ", ".join(
            f"{column} = json_extract(package, '$.header.{'.'.join(path)}')"
            for column, path in _FIELDS.items()
        )
    op.execute(f"UPDATE documents SET {sets}")
    op.create_index("ix_documents_received_at", "documents", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_documents_received_at", table_name="documents")
    with op.batch_alter_table("documents") as batch:
        for column in reversed(_FIELDS):
            batch.drop_column(column)
