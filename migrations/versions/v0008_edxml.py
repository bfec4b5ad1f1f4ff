"""edXML: each member's wire format; an edXML-born document's envelope, id and links.

- `members.wire_format`: `json` (default) or `edxml`, the format in which the
  member receives pushes, inbox items and status updates.
- `documents.wire_format`: the format the sender submitted in;
  `edxml_document_id` the envelope's own DocumentId (statuses name it);
  `original_sha256` the envelope's bytes as received, stored once per SHA-256
  in `attachment_blobs` beside the attachment bodies;
  `business_type` (0 new, 1 revocation, 2 update, 3 replacement) and
  `earlier_id` the document it revokes, updates or replaces (indexed: the
  earlier document's trace lists the later ones).

Revision ID: 0008_edxml
Revises: 0007_lz4_compression
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_edxml"
down_revision: str | None = "0007_lz4_compression"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column(
        "members",
        sa.Column("wire_format", sa.String(8), nullable=False, server_default="json"),
    )
    op.add_column(
        "documents",
        sa.Column("wire_format", sa.String(8), nullable=False, server_default="json"),
    )
    op.add_column("documents", sa.Column("edxml_document_id", sa.String(256), nullable=True))
    op.add_column("documents", sa.Column("original_sha256", sa.String(64), nullable=True))
    op.add_column(
        "documents",
        sa.Column("business_type", sa.SmallInteger(), nullable=False, server_default="0"),
    )
    op.add_column("documents", sa.Column("earlier_id", sa.String(36), nullable=True))
    op.create_index("ix_documents_earlier_id", "documents", ["earlier_id"])


def downgrade() -> None:
    op.drop_index("ix_documents_earlier_id", table_name="documents")
    with op.batch_alter_table("documents") as batch:
        for column in (
            "earlier_id",
            "business_type",
            "original_sha256",
            "edxml_document_id",
            "wire_format",
        ):
            batch.drop_column(column)
    with op.batch_alter_table("members") as batch:
        batch.drop_column("wire_format")
