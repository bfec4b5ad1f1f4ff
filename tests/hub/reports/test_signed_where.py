"""The split "signed in the PDF / on the envelope / both" per sender: API, CSV, CLI, dashboard,
and the migration that adds it, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from typing import Any

import anyio.to_thread
import pytest
from sqlalchemy import insert, inspect, select, text
from typer.testing import CliRunner

from hub.reports.models import ReportCount, ReportFact
from lienthong.cli import app
from registry.db import create_engine, downgrade, migrate, session_factory
from signing.pades.document import make_pdf
from signing.pades.sign import VIETNAM, PdfSigner, sign_pdf_twice
from tests.hub.conftest import Hub
from tests.hub.helpers import Agency
from tests.hub.ui.test_ui import _login

SENDER, OTHER, RECIPIENT = "000.00.00.H26", "000.00.00.H49", "000.00.00.G22"
COMPLIANCE = "/v1/reports/signature-compliance"


def _pdf(agency: Agency, *, official: bool = True, seal: bool = True) -> bytes:
    return sign_pdf_twice(
        make_pdf(pages=2),
        PdfSigner(agency.official.key, agency.official.full_chain) if official else None,
        PdfSigner(agency.org.key, agency.org.full_chain) if seal else None,
        signing_time=dt.datetime.now(VIETNAM).replace(microsecond=0),
    )


async def _send(hub: Hub, agency: Agency, pdf: bytes, *, envelope: bool) -> None:
    pkg = agency.package([RECIPIENT], files=[("qd.pdf", "application/pdf", pdf)], signed=envelope)
    response = await hub.submit(agency, pkg)
    assert response.status_code == 202, response.text


@pytest.fixture
async def sent(hub: Hub) -> None:
    """H26: 2 signed in the PDF only, 1 on the envelope only, 1 both, 1 unsigned;
    H49: 1 scanned paper sealed by the organisation only, in the PDF."""
    await hub.add(RECIPIENT)
    h26, h49 = await hub.add(SENDER), await hub.add(OTHER)
    plain = make_pdf(pages=1)
    await _send(hub, h26, _pdf(h26), envelope=False)
    await _send(hub, h26, _pdf(h26), envelope=False)
    await _send(hub, h26, plain, envelope=True)
    await _send(hub, h26, _pdf(h26), envelope=True)
    await _send(hub, h26, plain, envelope=False)
    await _send(hub, h49, _pdf(h49, official=False), envelope=False)


async def test_the_api_splits_signed_documents_by_where(hub: Hub, sent: None) -> None:
    report = (await hub.client.get(COMPLIANCE, headers=hub.admin)).json()
    rows = {row["key"]: row for row in report["rows"]}
    h26 = rows[SENDER]
    assert (h26["documents"], h26["signed"], h26["compliant"]) == (5, 4, 4)
    assert h26["signed_in"] == {"pdf_only": 2, "envelope_only": 1, "both": 1}
    assert h26["signed_in_share"] == {"pdf_only": 0.4, "envelope_only": 0.2, "both": 0.2}
    assert h26["signed_pdf_share"] == 0.6
    h49 = rows[OTHER]
    assert h49["signed_in"] == {"pdf_only": 1, "envelope_only": 0, "both": 0}
    assert h49["violations"]["NO_PERSONAL_SIGNATURE"] == 1
    assert report["total"]["signed_in"] == {"pdf_only": 3, "envelope_only": 1, "both": 1}


async def test_csv_cli_and_dashboard_show_the_split(
    hub: Hub, sent: None, database_url: str
) -> None:
    response = await hub.client.get(COMPLIANCE, params={"format": "csv"}, headers=hub.admin)
    # the CSV starts with a BOM (Excel), which the text must not keep in the first header
    text = response.content.decode("utf-8-sig")
    rows = {r["key"]: r for r in csv.DictReader(io.StringIO(text))}
    assert (rows[SENDER]["signed_pdf_only"], rows[SENDER]["signed_envelope_only"]) == ("2", "1")
    assert (rows[SENDER]["signed_both"], rows[SENDER]["signed_pdf_only_share"]) == ("1", "0.4")
    assert rows["total"]["signed_pdf_only"] == "3"

    db = ["--database-url", database_url]

    def run(*args: str) -> Any:
        return CliRunner().invoke(app, ["report", "compliance", *args, *db])

    as_json = await anyio.to_thread.run_sync(lambda: run("--format", "json"))
    assert as_json.exit_code == 0, as_json.output
    assert (
        json.loads(as_json.output) == (await hub.client.get(COMPLIANCE, headers=hub.admin)).json()
    )
    table = await anyio.to_thread.run_sync(run)
    assert table.exit_code == 0, table.output
    header, _, *lines = table.output.splitlines()
    columns = re.split(r"\s{2,}", header)
    h26 = re.split(r"\s{2,}", next(line for line in lines if line.startswith(SENDER)))
    cells = dict(zip(columns, h26, strict=True))
    assert (cells["pdf only"], cells["envelope only"], cells["both"]) == ("2", "1", "1")

    token = hub.admin["Authorization"].removeprefix("Bearer ")
    assert (await _login(hub, token)).status_code == 303
    page = await hub.client.get("/ui/compliance")
    assert page.status_code == 200
    assert 'data-field="signed_pdf_only">2<' in page.text
    assert 'data-field="signed_envelope_only">1<' in page.text
    assert 'data-field="signed_both">1<' in page.text


FACT: dict[str, Any] = {
    "sender": SENDER, "doc_type": "QD", "day": dt.date(2025, 3, 1), "personal_ok": 1,
    "org_ok": 1, "compliant": 1, "violations": 0,
}  # fmt: skip


async def test_the_migration_counts_what_came_before_as_signed_on_the_envelope(
    empty_database_url: str,
) -> None:
    engine = create_engine(empty_database_url)
    try:
        await migrate(engine, "0008_edxml")
        async with session_factory(engine).begin() as session:
            rows = [
                {**FACT, "document_id": f"d{i}", "recipient": RECIPIENT, "lead": 1,
                 "signed": int(i < 3)}
                for i in range(4)
            ]  # fmt: skip
            await session.execute(insert(ReportFact.__table__).values(rows))
            await session.execute(
                text(
                    "INSERT INTO report_counts (recipient, grain, day, sender, doc_type, "
                    "violations, documents, signed, personal_ok, org_ok, compliant) VALUES "
                    f"('{RECIPIENT}', 'D', '2025-03-01', '{SENDER}', 'QD', 0, 4, 3, 4, 4, 4)"
                )
            )
        await migrate(engine)
        async with session_factory(engine)() as session:
            facts = list((await session.execute(select(ReportFact))).scalars())
            assert [(f.signed, f.signed_envelope, f.signed_pdf, f.signed_both) for f in facts] == [
                (1, 1, 0, 0), (1, 1, 0, 0), (1, 1, 0, 0), (0, 0, 0, 0)
            ]  # fmt: skip
            counter = (await session.execute(select(ReportCount))).scalar_one()
            assert (counter.signed_envelope, counter.signed_pdf, counter.signed_both) == (3, 0, 0)
        await downgrade(engine, "0008_edxml")
        async with engine.connect() as connection:
            columns = await connection.run_sync(
                lambda c: {column["name"] for column in inspect(c).get_columns("report_facts")}
            )
            assert "signed_pdf" not in columns and "signed" in columns
        await migrate(engine)
    finally:
        await engine.dispose()


async def test_the_trace_page_has_a_signature_panel(hub: Hub) -> None:
    await hub.add(RECIPIENT)
    h26 = await hub.add(SENDER)
    pkg = h26.package([RECIPIENT], files=[("qd.pdf", "application/pdf", _pdf(h26, seal=False))])
    assert (await hub.submit(h26, pkg)).status_code == 202
    broken = h26.package([RECIPIENT], files=[("qd.pdf", "application/pdf", b"%PDF-1.7 no")])
    assert (await hub.submit(h26, broken)).status_code == 202
    token = hub.admin["Authorization"].removeprefix("Bearer ")
    assert (await _login(hub, token)).status_code == 303

    page = (await hub.client.get(f"/ui/documents/{pkg.id}")).text
    entries = re.findall(r'<div class="signature (ok|bad)" data-number="(\d)"', page)
    assert entries == [("ok", "1"), ("ok", "2"), ("ok", "3")]
    places = re.findall(r'data-field="where">([^<]+)<', page)
    assert places == [
        "gói tin (envelope, JWS)",
        "gói tin (envelope, JWS)",
        "PDF, tệp đính kèm #0, bản sửa đổi (revision) 1 (PAdES)",
    ]
    assert re.findall(r'data-field="kind">([^<]+)<', page) == [
        "Cá nhân (official)", "Tổ chức (organisation seal)", "Cá nhân (official)"
    ]  # fmt: skip
    assert "Nguyễn Văn A" in page and "hợp lệ (valid)" in page

    unreadable = (await hub.client.get(f"/ui/documents/{broken.id}")).text
    assert "Không đọc được PDF" in unreadable
