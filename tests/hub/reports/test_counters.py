"""`report_counts` kept at ingest equals the facts it counts, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import importlib.util
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from hub.reports.compliance import compliance_report
from hub.reports.counters import COUNTED, backfill_sql, counter_rows
from hub.reports.facts import record_facts
from hub.reports.filters import Grouping, ReportFilter
from hub.reports.models import ALL_RECIPIENTS, ALL_SENDERS, ReportCount, ReportFact
from registry.db import create_engine, downgrade, migrate, session_factory
from signing.package import new_package
from signing.sign import sign_package
from tests.hub.conftest import Hub
from tests.hub.helpers import HEADER, PDF, Agency, body_of
from tests.hub.reports.scenario import DEPT, G22, H26, H49, Scenario, load_scenario

Key = tuple[str, str, date, str, str, int]


async def _submit(hub: Hub, agency: Agency, body: bytes) -> None:
    response = await hub.client.post(
        "/v1/documents",
        content=body,
        headers={**agency.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 202, response.text


@pytest.fixture
async def mixed(hub: Hub) -> Scenario:
    """The report scenario plus documents to several recipients, of several types and faults."""
    scenario = await load_scenario(hub.client, hub.agencies)
    a = scenario.agencies
    personal_only = sign_package(
        new_package(DEPT, [H26, G22], {**HEADER, "type": "TB"}, [PDF]),
        a[DEPT].official.key,
        a[DEPT].official.full_chain,
        "personal",
    )
    for agency, body in [
        (a[H49], body_of(a[H49].package([G22, H26, DEPT]))),
        (a[H49], body_of(a[H49].package([DEPT, G22], header={**HEADER, "type": "CV"}))),
        (a[H26], body_of(a[H26].package([H49, G22], signed=False, header={**HEADER, "type": "TB"}))),  # noqa: E501
        (a[DEPT], body_of(personal_only)),
        (a[G22], body_of(a[G22].package([H26, H49, DEPT]))),
    ]:  # fmt: skip
        await _submit(hub, agency, body)
    return scenario


def _expected(facts: list[ReportFact]) -> dict[Key, list[int]]:
    """Counters computed here from the facts: per recipient and for all recipients, per
    sender by day, month and year, and for all senders by day."""
    counts: dict[Key, list[int]] = defaultdict(lambda: [0] * len(COUNTED))
    for f in facts:
        grains = [
            ("D", f.day, f.sender),
            ("M", date(f.day.year, f.day.month, 1), f.sender),
            ("Y", date(f.day.year, 1, 1), f.sender),
            ("T", f.day, ALL_SENDERS),
        ]
        for recipient in [f.recipient, ALL_RECIPIENTS] if f.lead else [f.recipient]:
            for grain, first, sender in grains:
                row = counts[(recipient, grain, first, sender, f.doc_type, f.violations)]
                for i, name in enumerate(COUNTED):
                    row[i] += 1 if name == "documents" else getattr(f, name)
    return dict(counts)


def _stored(counters: list[ReportCount]) -> dict[Key, list[int]]:
    """The counters per key, their shards added up."""
    stored: dict[Key, list[int]] = defaultdict(lambda: [0] * len(COUNTED))
    for c in counters:
        row = stored[(c.recipient, c.grain, c.day, c.sender, c.doc_type, c.violations)]
        for i, name in enumerate(COUNTED):
            row[i] += getattr(c, name)
    return dict(stored)


async def _table(hub: Hub, model: Any) -> list[Any]:
    async with hub.context.sessions() as session:
        return list((await session.execute(select(model))).scalars())


async def test_counters_are_the_facts_added_up(hub: Hub, mixed: Scenario) -> None:
    facts = await _table(hub, ReportFact)
    assert len(facts) == 6 + 12
    expected = _expected(facts)
    assert _stored(await _table(hub, ReportCount)) == expected
    assert sum(n[0] for key, n in expected.items() if key[:2] == (ALL_RECIPIENTS, "Y")) == 10


FILTERS = [
    ReportFilter(),
    ReportFilter(recipient=G22),
    ReportFilter(recipient=H49),
    ReportFilter(recipient=DEPT, doc_type="CV"),
    ReportFilter(sender=H26),
    ReportFilter(doc_type="TB"),
    ReportFilter(since=date.today() - timedelta(days=1), until=date.today() + timedelta(days=1)),
    ReportFilter(since=date.today() + timedelta(days=2)),
    ReportFilter(only_member=H49),
    ReportFilter(recipient=ALL_RECIPIENTS),
    ReportFilter(recipient=""),
]


@pytest.mark.parametrize("grouping", list(Grouping))
async def test_every_report_from_the_counters_equals_the_one_from_the_facts(
    hub: Hub, mixed: Scenario, grouping: Grouping
) -> None:
    async with hub.context.sessions() as session:
        for flt in FILTERS:
            counted = await compliance_report(session, flt, grouping)
            reference = await compliance_report(session, flt, grouping, from_facts=True)
            assert counted.as_dict() == reference.as_dict(), flt
        everything = await compliance_report(session, ReportFilter(), grouping)
    assert everything.total.documents == 10
    assert everything.total.compliant == 6


async def test_a_recipient_named_like_the_all_recipients_key_gets_no_rows(
    hub: Hub, mixed: Scenario
) -> None:
    async with hub.context.sessions() as session:
        report = await compliance_report(session, ReportFilter(recipient=ALL_RECIPIENTS))
    assert report.rows == [] and report.total.documents == 0


async def test_concurrent_submissions_with_the_same_counters_count_every_document(
    hub: Hub, mixed: Scenario
) -> None:
    """Submissions sharing counters, recipients in both orders: no lost increment."""
    h49 = mixed.agencies[H49]
    before = _stored(await _table(hub, ReportCount))
    bodies = [body_of(h49.package([G22, DEPT] if i % 2 else [DEPT, G22])) for i in range(8)]
    await asyncio.gather(*(_submit(hub, h49, body) for body in bodies))
    after = _stored(await _table(hub, ReportCount))
    assert after == _expected(await _table(hub, ReportFact))
    added = {key: row[0] - before.get(key, [0])[0] for key, row in after.items()}
    by_recipient = {k[0]: n for k, n in added.items() if k[1] == "Y" and n}
    assert by_recipient == {G22: 8, DEPT: 8, ALL_RECIPIENTS: 8}


FACT = {
    "sender": H26, "doc_type": "QD", "signed": 1, "personal_ok": 1, "org_ok": 1,
    "signed_pdf": 1, "signed_envelope": 0, "signed_both": 0,
}  # fmt: skip
PADES = ("signed_pdf", "signed_envelope", "signed_both")


def _history() -> list[dict[str, Any]]:
    """Facts of 40 documents, one every 13 days from November 2024: months and years apart."""
    facts = []
    for i in range(40):
        recipients = [[G22, H49], [H49], [DEPT, G22, H49]][i % 3]
        in_pdf, on_envelope = int(i % 4 > 0 and i % 3 != 1), int(i % 4 > 0 and i % 3 != 0)
        flags = {
            "signed": int(i % 4 > 0), "personal_ok": int(i % 4 > 1), "signed_pdf": in_pdf,
            "signed_envelope": on_envelope, "signed_both": in_pdf & on_envelope,
        }  # fmt: skip
        for n, recipient in enumerate(recipients):
            facts.append({
                "document_id": f"doc-{i}", "recipient": recipient, "lead": int(n == 0),
                "sender": [H26, DEPT, H49, H26][i % 4], "doc_type": ["QD", "CV"][i % 2],
                "day": date(2024, 11, 20) + timedelta(days=13 * i), **flags,
                "org_ok": int(i % 4 > 1), "compliant": int(i % 4 == 3), "violations": i % 4,
            })  # fmt: skip
    return facts


WINDOWS = [
    (None, None),
    (date(2024, 12, 1), None),
    (None, date(2025, 6, 30)),
    (date(2024, 11, 25), date(2025, 12, 31)),
    (date(2025, 1, 1), date(2025, 12, 31)),
    (date(2025, 2, 10), date(2025, 2, 20)),
    (date(2024, 12, 15), date(2026, 1, 10)),
    (date(2025, 3, 1), date(2025, 5, 31)),
]


async def test_the_migration_counts_the_facts_already_recorded(empty_database_url: str) -> None:
    engine = create_engine(empty_database_url)
    try:
        await migrate(engine, "0004_reports")
        async with engine.begin() as connection:
            await connection.execute(
                insert(ReportFact.__table__),  # type: ignore[arg-type]
                [{k: v for k, v in fact.items() if k not in PADES} for fact in _history()],
            )
        await migrate(engine)
        async with session_factory(engine)() as session:
            counters = _stored(list((await session.execute(select(ReportCount))).scalars()))
            facts = list((await session.execute(select(ReportFact))).scalars())
            assert counters == _expected(facts)
            assert sum(n[0] for k, n in counters.items() if k[:2] == (ALL_RECIPIENTS, "Y")) == 40
        await downgrade(engine, "0004_reports")
        await migrate(engine)
    finally:
        await engine.dispose()


@pytest.mark.parametrize("grouping", list(Grouping))
async def test_windows_across_months_and_years_equal_the_facts(
    database_url: str, grouping: Grouping
) -> None:
    """Counters written by `record_facts` (as ingest does), read back window by window."""
    engine = create_engine(database_url)
    try:
        async with session_factory(engine).begin() as session:
            await record_facts(session, _history())
        async with session_factory(engine)() as session:
            for since, until in WINDOWS:
                for flt in [
                    ReportFilter(since=since, until=until),
                    ReportFilter(since=since, until=until, recipient=H49),
                    ReportFilter(since=since, until=until, only_member=H26, doc_type="QD"),
                ]:
                    counted = await compliance_report(session, flt, grouping)
                    reference = await compliance_report(session, flt, grouping, from_facts=True)
                    assert counted.as_dict() == reference.as_dict(), flt
            assert (
                await compliance_report(session, ReportFilter(), grouping)
            ).total.documents == 40
    finally:
        await engine.dispose()


def test_the_migration_backfills_as_the_code_counts() -> None:
    """The migration's frozen copy of the backfill SQL is the code's, when written."""
    path = Path(__file__).parents[3] / "migrations/versions/v0005_report_counters.py"
    spec = importlib.util.spec_from_file_location("v0005_report_counters", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    for dialect in ("postgresql", "sqlite"):
        assert " ".join(migration._backfill(dialect).split()) == " ".join(
            backfill_sql(dialect, COUNTED[:5]).split()
        )


def test_a_batch_increments_each_counter_once_in_key_order() -> None:
    day = date(2025, 3, 1)
    common = {**FACT, "day": day, "compliant": 1, "violations": 0}
    facts = [
        {**common, "document_id": "a", "recipient": G22, "lead": 1},
        {**common, "document_id": "a", "recipient": DEPT, "lead": 0},
        {**common, "document_id": "b", "recipient": DEPT, "lead": 1},
        {**common, "document_id": "b", "recipient": G22, "lead": 0},
    ]
    rows = counter_rows(facts)
    assert len(rows) == 3 * 4
    assert [
        (r["recipient"], r["documents"], r["compliant"]) for r in rows if r["grain"] == "Y"
    ] == [
        (ALL_RECIPIENTS, 2, 2),
        (G22, 2, 2),
        (DEPT, 2, 2),
    ]
    assert counter_rows(list(reversed(facts))) == rows
