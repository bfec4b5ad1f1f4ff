"""Words of the subject searched through an index, not by scanning every subject.

`documents.subject_words` holds the subject's words in lower case, each with
its diacritic-free form (`hub.db.words`), written at acceptance and filled here
for older documents in batches. PostgreSQL indexes it with a GIN index on
`to_tsvector('simple', subject_words)`: built in, no extension to install (the
`simple` configuration neither stems nor drops stop words, which suits
Vietnamese). SQLite indexes it in the FTS5 table `documents_words`, an
external-content index over `documents` kept by three triggers.

On SQLite, a later migration that rebuilds `documents` (Alembic's batch mode
copies the table) drops these triggers and renumbers the rows: it must create
them again and run `INSERT INTO documents_words(documents_words) VALUES
('rebuild')`, as `upgrade` here does.

Revision ID: 0014_subject_words
Revises: 0013_counter_shards
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hub.db.words import subject_words

revision = "0014_subject_words"
down_revision: str | None = "0013_counter_shards"
branch_labels: str | None = None
depends_on: str | None = None

BATCH = 2000
_DOCUMENTS = sa.table(
    "documents",
    sa.column("id", sa.String),
    sa.column("subject", sa.String),
    sa.column("subject_words", sa.Text),
)
_SQLITE_INDEX = [
    "CREATE VIRTUAL TABLE documents_words USING fts5(subject_words, content='documents',"
    " tokenize='unicode61 remove_diacritics 0')",
    "INSERT INTO documents_words(documents_words) VALUES ('rebuild')",
    "CREATE TRIGGER documents_words_insert AFTER INSERT ON documents BEGIN"
    " INSERT INTO documents_words(rowid, subject_words) VALUES (new.rowid, new.subject_words);"
    " END",
    "CREATE TRIGGER documents_words_delete AFTER DELETE ON documents BEGIN"
    " INSERT INTO documents_words(documents_words, rowid, subject_words)"
    " VALUES ('delete', old.rowid, old.subject_words); END",
    "CREATE TRIGGER documents_words_update AFTER UPDATE OF subject_words ON documents BEGIN"
    " INSERT INTO documents_words(documents_words, rowid, subject_words)"
    " VALUES ('delete', old.rowid, old.subject_words);"
    " INSERT INTO documents_words(rowid, subject_words) VALUES (new.rowid, new.subject_words);"
    " END",
]


def _backfill(bind: sa.Connection) -> None:
    """Fill the column of the documents already stored, `BATCH` at a time in id order."""
    update = (
        _DOCUMENTS.update()
        .where(_DOCUMENTS.c.id == sa.bindparam("document_id"))
        .values(subject_words=sa.bindparam("words"))
    )
    last = ""
    while True:
        rows = bind.execute(
            sa.select(_DOCUMENTS.c.id, _DOCUMENTS.c.subject)
            .where(_DOCUMENTS.c.id > last, _DOCUMENTS.c.subject.is_not(None))
            .order_by(_DOCUMENTS.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        bind.execute(
            update, [{"document_id": id_, "words": subject_words(subject)} for id_, subject in rows]
        )
        last = rows[-1].id


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("subject_words", sa.Text(), nullable=True))
    bind = op.get_bind()
    _backfill(bind)
    if bind.dialect.name == "postgresql":
        op.create_index(
            "ix_documents_subject_words",
            "documents",
            [sa.text("to_tsvector('simple'::regconfig, subject_words)")],
            postgresql_using="gin",
        )
    else:
        for statement in _SQLITE_INDEX:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_documents_subject_words", table_name="documents")
    else:
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER documents_words_{trigger}")
        op.execute("DROP TABLE documents_words")
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("subject_words")
