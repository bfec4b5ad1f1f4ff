"""A partial index of the documents that update or replace an earlier one.

The compliance report counts updates and replacements (business types 2 and 3)
per sender by joining the senders' facts to those documents. Without an index
on the business type that join read every document: with 1,000,000 documents
it was most of the time of one province's report. The index holds only the
linked documents (a few in a hundred), so it is small and costs ingest little.

Revision ID: 0012_linked_documents
Revises: 0011_document_search
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_linked_documents"
down_revision: str | None = "0011_document_search"
branch_labels: str | None = None
depends_on: str | None = None

LINKED = sa.text("business_type IN (2, 3)")


def upgrade() -> None:
    op.create_index(
        "ix_documents_linked",
        "documents",
        ["id", "business_type"],
        postgresql_where=LINKED,
        sqlite_where=LINKED,
    )


def downgrade() -> None:
    op.drop_index("ix_documents_linked", table_name="documents")
