"""The signature-compliance report: per sender (or roll-up, or day) counts and shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, and_, false, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.models import Document
from hub.reports.facts import VIOLATION_CODES, bit_of
from hub.reports.filters import Grouping, Hierarchy, ReportFilter, load_hierarchy, senders_of
from hub.reports.models import ALL_RECIPIENTS, Grain, ReportCount, ReportFact
from hub.reports.periods import Piece, split_window

AnySelect = Select[*tuple[Any, ...]]

COUNTS = (
    "documents",
    "signed",
    "personal_ok",
    "org_ok",
    "compliant",
    "signed_pdf",
    "signed_envelope",
    "signed_both",
)


@dataclass
class ComplianceRow:
    """One sender's (or unit's, or day's) figures."""

    key: str
    name: str = ""
    documents: int = 0
    signed: int = 0
    personal_ok: int = 0
    org_ok: int = 0
    compliant: int = 0
    signed_pdf: int = 0
    """Documents whose principal PDF carries a signature (those signed on the envelope too
    included); `signed_pdf_only` is without them."""
    signed_envelope: int = 0
    signed_both: int = 0
    violations: dict[str, int] = field(default_factory=lambda: dict.fromkeys(VIOLATION_CODES, 0))
    updates: int = 0
    """Documents that update an earlier one (edXML business type 2)."""
    replacements: int = 0
    """Documents that replace an earlier one (business type 3)."""

    def share(self, count: int) -> float:
        return round(count / self.documents, 4) if self.documents else 0.0

    @property
    def signed_pdf_only(self) -> int:
        return self.signed_pdf - self.signed_both

    @property
    def signed_envelope_only(self) -> int:
        return self.signed_envelope - self.signed_both

    def add(self, other: ComplianceRow) -> None:
        for name in (*COUNTS, "updates", "replacements"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for code, count in other.violations.items():
            if count:
                self.violations[code] += count

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "documents": self.documents,
            "signed": self.signed,
            "personal_ok": self.personal_ok,
            "org_ok": self.org_ok,
            "compliant": self.compliant,
            "signed_share": self.share(self.signed),
            "personal_ok_share": self.share(self.personal_ok),
            "org_ok_share": self.share(self.org_ok),
            "compliant_share": self.share(self.compliant),
            "signed_in": {
                "pdf_only": self.signed_pdf_only,
                "envelope_only": self.signed_envelope_only,
                "both": self.signed_both,
            },
            "signed_in_share": {
                "pdf_only": self.share(self.signed_pdf_only),
                "envelope_only": self.share(self.signed_envelope_only),
                "both": self.share(self.signed_both),
            },
            "signed_pdf_share": self.share(self.signed_pdf),
            "violations": dict(self.violations),
            "updates": self.updates,
            "replacements": self.replacements,
        }


@dataclass
class ComplianceReport:
    grouping: Grouping
    rows: list[ComplianceRow]
    total: ComplianceRow

    def as_dict(self) -> dict[str, Any]:
        return {
            "grouping": self.grouping.value,
            "rows": [row.as_dict() for row in self.rows],
            "total": self.total.as_dict(),
        }


def _key(table: type[ReportCount] | type[ReportFact], grouping: Grouping) -> Any:
    """What a row is grouped by. For the roll-up, the sender's top-level unit is read from
    its code (`000.00.12.H26` is under `000.00.00.H26`: the registry enforces that a
    parent is the one the code implies), so the database adds up a hundred groups
    instead of sending one per sender of the national tree."""
    if grouping is Grouping.DAY:
        return table.day
    if grouping is Grouping.PARENT:
        return literal("000.00.00.") + func.substr(table.sender, 11, 3)
    return table.sender


def counts_query(flt: ReportFilter, senders: set[str] | None, grouping: Grouping) -> AnySelect:
    """SELECT key, violation mask, counts: sums over the filtered counters.

    Without a recipient filter it reads the all-recipients counters (each
    document once); with one, that recipient's counters. Per sender, the
    window is read as whole years, whole months and days (`split_window`);
    the daily trend reads day counters, of every sender together when no
    sender is chosen.
    """
    c = ReportCount
    recipient = ALL_RECIPIENTS if flt.recipient is None else flt.recipient
    key = _key(c, grouping)
    query = select(
        key.label("key"),
        c.violations,
        func.sum(c.documents),
        func.sum(c.signed),
        func.sum(c.personal_ok),
        func.sum(c.org_ok),
        func.sum(c.compliant),
        func.sum(c.signed_pdf),
        func.sum(c.signed_envelope),
        func.sum(c.signed_both),
    ).where(c.recipient == recipient)
    if flt.recipient == ALL_RECIPIENTS:
        query = query.where(false())  # not a member: no document was sent to it
    if grouping is Grouping.DAY:
        everyone = senders is None and flt.only_member is None
        query = query.where(c.grain == (Grain.TREND if everyone else Grain.DAY).value)
        query = _in_window(query, c, flt.since, flt.until)
    else:
        query = query.where(
            or_(*[_piece(c, piece) for piece in split_window(flt.since, flt.until)])
        )
    return _restricted(query, c, flt, senders).group_by(key, c.violations)


def _piece(c: type[ReportCount], piece: Piece) -> Any:
    bounds = [c.grain == piece.grain.value]
    if piece.first is not None:
        bounds.append(c.day >= piece.first)
    if piece.last is not None:
        bounds.append(c.day <= piece.last)
    return and_(*bounds)


def _in_window(
    query: AnySelect, table: type[ReportCount] | type[ReportFact], since: Any, until: Any
) -> AnySelect:
    if since is not None:
        query = query.where(table.day >= since)
    if until is not None:
        query = query.where(table.day <= until)
    return query


def facts_query(flt: ReportFilter, senders: set[str] | None, grouping: Grouping) -> AnySelect:
    """The same groups counted from the raw facts: the reference the counters must equal."""
    f = ReportFact
    key = _key(f, grouping)
    query = select(
        key.label("key"),
        f.violations,
        func.count().label("documents"),
        func.sum(f.signed),
        func.sum(f.personal_ok),
        func.sum(f.org_ok),
        func.sum(f.compliant),
        func.sum(f.signed_pdf),
        func.sum(f.signed_envelope),
        func.sum(f.signed_both),
    )
    if flt.recipient is not None:
        query = query.where(f.recipient == flt.recipient)
    else:
        query = query.where(f.lead == 1)
    query = _in_window(query, f, flt.since, flt.until)
    return _restricted(query, f, flt, senders).group_by(key, f.violations)


def _restricted(
    query: AnySelect,
    table: type[ReportCount] | type[ReportFact],
    flt: ReportFilter,
    senders: set[str] | None,
) -> AnySelect:
    """The document type and sender conditions, on either table."""
    if flt.doc_type is not None:
        query = query.where(table.doc_type == flt.doc_type)
    if flt.only_member is not None:
        query = query.where(table.sender == flt.only_member)
    if senders is not None:
        query = query.where(table.sender.in_(sorted(senders)))
    return query


_CODE_BITS = tuple((code, bit_of(code)) for code in VIOLATION_CODES)


def _rows(groups: Any) -> list[ComplianceRow]:
    """Fold (key, mask) groups into one row per key (16,000 groups or more for every
    sender of the national tree: the loop does no work for a zero)."""
    rows: dict[str, ComplianceRow] = {}
    for key, mask, *sums in groups:
        text = str(key)
        row = rows.get(text)
        if row is None:
            row = rows[text] = ComplianceRow(key=text)
        for name, value in zip(COUNTS, sums, strict=True):
            if value:
                setattr(row, name, getattr(row, name) + int(value))
        bits = int(mask)
        if bits:
            documents = int(sums[0])
            for code, bit in _CODE_BITS:
                if bits & bit:
                    row.violations[code] += documents
    return list(rows.values())


def linked_query(flt: ReportFilter, senders: set[str] | None, grouping: Grouping) -> AnySelect:
    """SELECT key, business type, count: updates (2) and replacements (3) in the window.

    Counted from the documents' lead fact rows (or the recipient's) joined to
    their business type, so every filter means what it means for the counts.
    """
    f = ReportFact
    key = _key(f, grouping)
    query = (
        select(key.label("key"), Document.business_type, func.count())
        .join(Document, Document.id == f.document_id)
        .where(Document.business_type.in_((2, 3)))
    )
    if flt.recipient is not None:
        query = query.where(f.recipient == flt.recipient)
    else:
        query = query.where(f.lead == 1)
    query = _in_window(query, f, flt.since, flt.until)
    return _restricted(query, f, flt, senders).group_by(key, Document.business_type)


async def _count_linked(
    session: AsyncSession,
    rows: list[ComplianceRow],
    flt: ReportFilter,
    senders: set[str] | None,
    grouping: Grouping,
) -> None:
    by_key = {row.key: row for row in rows}
    for key, business_type, count in await session.execute(linked_query(flt, senders, grouping)):
        row = by_key.get(str(key))
        if row is None:  # the counters had none in this window: show the row anyway
            row = by_key[str(key)] = ComplianceRow(key=str(key))
            rows.append(row)
        if int(business_type) == 2:
            row.updates += int(count)
        else:
            row.replacements += int(count)


async def compliance_report(
    session: AsyncSession,
    flt: ReportFilter,
    grouping: Grouping = Grouping.SENDER,
    hierarchy: Hierarchy | None = None,
    *,
    from_facts: bool = False,
) -> ComplianceReport:
    """The report as sums over the counters; a roll-up folds per-sender rows.

    `from_facts` counts the raw facts instead: slower, the reference that the
    counters are checked against (tests, `bench/reports.py`).
    """
    flt.check()
    hierarchy = hierarchy or await load_hierarchy(session)
    senders = senders_of(flt, hierarchy)
    query = (facts_query if from_facts else counts_query)(flt, senders, grouping)
    rows = _rows((await session.execute(query)).all())
    await _count_linked(session, rows, flt, senders, grouping)
    if grouping is Grouping.PARENT:
        units: dict[str, ComplianceRow] = {}
        for row in rows:
            top = hierarchy.top(row.key)
            units.setdefault(top, ComplianceRow(key=top)).add(row)
        rows = list(units.values())
    total = ComplianceRow(key="total", name="Tổng cộng")
    for row in rows:
        total.add(row)
        if grouping is not Grouping.DAY:
            row.name = hierarchy.names.get(row.key, "")
    rows.sort(key=lambda r: r.key)
    return ComplianceReport(grouping, rows, total)
