"""Finding documents as operators ask for them: by number and notation, words of the
subject, sender, recipient, type, Vietnam days, verdict and delivery state.

The header fields searched are columns of `documents` filled at acceptance
(migration 0011 filled them for older documents); a time window or a sender
narrows a search through the `received_at` indexes. Words of the subject are
looked up in a full-text index of `subject_words` (migration 0014; PostgreSQL's
built-in text search, SQLite's FTS5), each as the start of a word, so a
word typed without diacritics finds every spelling (`hub.db.words`). A page
comes with how many documents match, counted exactly up to a cap so that a
broad search costs no more than reading that many index entries. Every list
that names a document takes its number, notation, subject and attachment names
from `describe_documents`.
"""

from __future__ import annotations

import json
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import Select, exists, func, literal_column, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement, TextClause

from hub.db.models import SQLITE_WORD_INDEX, Delivery, Document
from hub.db.sql import json_text, lowered
from hub.db.words import words_of
from hub.protocol import DeliveryState

__all__ = [
    "COUNT_CAP",
    "SORT_COLUMNS",
    "VERDICTS",
    "DocumentListing",
    "DocumentPage",
    "DocumentQuery",
    "RecipientLine",
    "count_documents",
    "describe_documents",
    "find_documents",
    "search_documents",
]

VIETNAM = timezone(timedelta(hours=7))
COUNT_CAP = 10_000
"""A search counts its documents exactly up to this many; past it, it says "more than"."""
VERDICTS = ("compliant", "noncompliant")
"""Besides these, a verdict filter may name one violation code (`UNSIGNED`)."""


@dataclass(frozen=True)
class DocumentQuery:
    """Every field narrows the search; None (or empty) means no restriction."""

    words: str | None = None
    """Words that must all begin words of the subject (case-insensitive, in any order;
    a word without diacritics matches with or without them)."""
    number: str | None = None
    """Part of `number/notation`, e.g. `274` or `QĐ-UBND` or `274/QĐ-UBND`."""
    sender: str | None = None
    recipient: str | None = None
    doc_type: str | None = None
    since: date | None = None
    """First Vietnam day (inclusive)."""
    until: date | None = None
    """Last Vietnam day (inclusive)."""
    verdict: str | None = None
    """`compliant`, `noncompliant`, or a violation code."""
    state: DeliveryState | None = None
    """A recipient (the one named by `recipient`, if any) in this state."""


@dataclass(frozen=True)
class RecipientLine:
    recipient: str
    state: str
    outcome: str


@dataclass(frozen=True)
class DocumentListing:
    """What a list shows of a document: enough to recognise it without its id."""

    id: str
    received_at: datetime
    sender: str
    number: str
    notation: str
    subject: str
    doc_type: str
    attachments: list[str]
    compliant: bool
    violations: list[str]
    recipients: list[RecipientLine] = field(default_factory=list)

    @property
    def code(self) -> str:
        """`274/QĐ-UBND`, as the document is cited."""
        return "/".join(part for part in (self.number, self.notation) if part)


def _cited() -> ColumnElement[str]:
    """`number/notation` as the document is cited."""
    return func.coalesce(Document.number, "") + "/" + func.coalesce(Document.notation, "")


def _sort_keys(dialect: str) -> dict[str, list[Any]]:
    first_recipient = (
        select(func.min(Delivery.recipient))
        .where(Delivery.document_id == Document.id)
        .scalar_subquery()
    )
    return {
        "received_at": [Document.received_at],
        "code": [_cited()],
        "subject": [Document.subject],
        "attachments": [json_text(dialect, Document.package, "attachments", 0, "name")],
        "sender": [Document.sender],
        "recipients": [first_recipient],
        "doc_type": [Document.doc_type],
        "verdict": [Document.compliant, Document.violations],
    }


SORT_COLUMNS = tuple(_sort_keys("sqlite"))
"""The columns a search may be sorted by (`-column`: descending)."""


def _vietnam_midnight(day: date, days_later: int = 0) -> datetime | None:
    """The UTC moment a Vietnam day starts; None past the calendar's ends (no bound)."""
    try:
        return datetime.combine(day + timedelta(days=days_later), time(0), VIETNAM).astimezone(UTC)
    except OverflowError:
        return None


def _subject_has(words: list[str], dialect: str) -> ColumnElement[bool] | TextClause:
    """Every word begins a word of the subject, through the full-text index."""
    if dialect == "postgresql":
        simple: ColumnElement[Any] = literal_column("'simple'::regconfig")
        tsquery = func.to_tsquery(simple, " & ".join(f"{w}:*" for w in words))
        return func.to_tsvector(simple, Document.subject_words).bool_op("@@")(tsquery)
    match = " AND ".join(f'"{w}"*' for w in words)
    index = SQLITE_WORD_INDEX
    return text(
        f"documents.rowid IN (SELECT rowid FROM {index} WHERE {index} MATCH :words)"
    ).bindparams(words=match)


def _filtered(query: DocumentQuery, dialect: str) -> Select[Any]:
    stmt = select(Document.id)
    if query.words and (words := words_of(query.words)):
        stmt = stmt.where(_subject_has(words, dialect))
    if query.number:
        cited = lowered(dialect, _cited())
        number = unicodedata.normalize("NFC", query.number.strip()).lower()
        stmt = stmt.where(cited.contains(number, autoescape=True))
    if query.sender:
        stmt = stmt.where(Document.sender == query.sender)
    if query.doc_type:
        stmt = stmt.where(Document.doc_type == query.doc_type)
    if query.since and (start := _vietnam_midnight(query.since)):
        stmt = stmt.where(Document.received_at >= start)
    if query.until and (end := _vietnam_midnight(query.until, days_later=1)):
        stmt = stmt.where(Document.received_at < end)
    if query.verdict == "compliant":
        stmt = stmt.where(Document.compliant.is_(True))
    elif query.verdict == "noncompliant":
        stmt = stmt.where(Document.compliant.is_(False))
    elif query.verdict:
        padded = " " + Document.violations + " "
        stmt = stmt.where(padded.contains(f" {query.verdict} ", autoescape=True))
    if query.recipient or query.state:
        line = select(Delivery.id).where(Delivery.document_id == Document.id)
        if query.recipient:
            line = line.where(Delivery.recipient == query.recipient)
        if query.state:
            line = line.where(Delivery.state == query.state.value)
        stmt = stmt.where(exists(line))
    return stmt


async def search_documents(
    session: AsyncSession,
    query: DocumentQuery,
    *,
    sort: str = "-received_at",
    offset: int = 0,
    limit: int = 50,
) -> list[DocumentListing]:
    """One page of the documents matching `query`, in `sort` order (then by id)."""
    dialect = session.get_bind().dialect.name
    column, descending = (sort[1:], True) if sort.startswith("-") else (sort, False)
    keys = _sort_keys(dialect)[column]
    order = [k.desc() if descending else k.asc() for k in keys]
    stmt = _filtered(query, dialect).order_by(*order, Document.id).offset(offset).limit(limit)
    ids = list((await session.execute(stmt)).scalars())
    found = await describe_documents(session, ids)
    return [found[i] for i in ids if i in found]


async def count_documents(
    session: AsyncSession, query: DocumentQuery, *, cap: int = COUNT_CAP
) -> tuple[int, bool]:
    """How many documents match, and whether that is exact: past `cap` the answer is
    `(cap, False)`, "more than `cap`", having read no more than `cap + 1` of them."""
    dialect = session.get_bind().dialect.name
    matching = _filtered(query, dialect).limit(cap + 1).subquery()
    counted = await session.scalar(select(func.count()).select_from(matching)) or 0
    return (cap, False) if counted > cap else (counted, True)


@dataclass(frozen=True)
class DocumentPage:
    """One page of a search, with how many documents match it in all."""

    documents: list[DocumentListing]
    offset: int
    limit: int
    total: int
    total_exact: bool
    """False: more than `total` documents match (the count stopped at its cap)."""
    more: bool
    """Whether a page follows this one."""

    @property
    def next_offset(self) -> int | None:
        """The offset of the next page; None on the last one."""
        return self.offset + self.limit if self.more else None

    @property
    def number(self) -> int:
        """This page's number, from 1."""
        return self.offset // self.limit + 1

    @property
    def pages(self) -> int:
        """How many pages the counted documents fill (at least one)."""
        return max(1, -(-self.total // self.limit))


async def find_documents(
    session: AsyncSession,
    query: DocumentQuery,
    *,
    sort: str = "-received_at",
    offset: int = 0,
    limit: int = 50,
    cap: int = COUNT_CAP,
) -> DocumentPage:
    """A page of the documents matching `query` and their count (exact up to `cap`): what
    the console's search page and `GET /v1/admin/documents` answer."""
    found = await search_documents(session, query, sort=sort, offset=offset, limit=limit + 1)
    total, exact = await count_documents(session, query, cap=cap)
    return DocumentPage(
        documents=found[:limit], offset=offset, limit=limit, total=total, total_exact=exact,
        more=len(found) > limit,
    )  # fmt: skip


def _attachment_names(package: str) -> list[str]:
    try:
        data = json.loads(package)
    except ValueError:
        return []
    attachments = data.get("attachments") if isinstance(data, dict) else None
    return [str(a["name"]) for a in attachments or [] if isinstance(a, dict) and a.get("name")]


async def describe_documents(
    session: AsyncSession, ids: Sequence[str]
) -> dict[str, DocumentListing]:
    """Each document's number, notation, subject, attachments, verdict and recipients."""
    if not ids:
        return {}
    recipients: dict[str, list[RecipientLine]] = defaultdict(list)
    for document_id, recipient, state, outcome in await session.execute(
        select(Delivery.document_id, Delivery.recipient, Delivery.state, Delivery.outcome)
        .where(Delivery.document_id.in_(ids))
        .order_by(Delivery.recipient)
    ):
        recipients[document_id].append(RecipientLine(recipient, state, outcome))
    found: dict[str, DocumentListing] = {}
    for row in await session.execute(
        select(
            Document.id, Document.received_at, Document.sender, Document.package,
            Document.compliant, Document.violations, Document.number, Document.notation,
            Document.subject, Document.doc_type,
        ).where(Document.id.in_(ids))
    ):  # fmt: skip
        found[row.id] = DocumentListing(
            id=row.id,
            received_at=row.received_at,
            sender=row.sender,
            number=row.number or "",
            notation=row.notation or "",
            subject=row.subject or "",
            doc_type=row.doc_type or "",
            attachments=_attachment_names(row.package),
            compliant=row.compliant,
            violations=row.violations.split(),
            recipients=recipients[row.id],
        )
    return found
