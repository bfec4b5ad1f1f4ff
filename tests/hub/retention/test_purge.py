"""The retention policy: old bodies purged (trace, verdict, facts and counters kept, the
event log records it and still verifies), bodies other documents need kept, then old
metadata and statistics removed."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from hub.db.models import AttachmentBlob, Document
from hub.eventlog.chain import EventLogEntry
from hub.eventlog.export import export_log
from hub.eventlog.sealer import hub_sealer
from hub.eventlog.verify import verify_export
from hub.reports.models import Grain, ReportCount, ReportFact
from hub.retention.purge import purge
from registry.db import utcnow
from signing.pades.document import make_pdf
from tests.hub.conftest import Hub
from tests.hub.helpers import Agency

SENDER, TAKER, SLOW = "000.00.00.H26", "000.00.00.G22", "000.00.00.H49"
SHARED = ("chung.pdf", "application/pdf", make_pdf(title="shared", pages=1))
OWN = ("rieng.pdf", "application/pdf", make_pdf(title="own", pages=1))


async def _submit(hub: Hub, sender: Agency, recipient: str, files: Any) -> str:
    pkg = sender.package([recipient], files=[files])
    response = await hub.submit(sender, pkg)
    assert response.status_code == 202, response.text
    return pkg.id


async def _take_all(hub: Hub, member: Agency) -> None:
    response = await hub.client.get("/v1/inbox?limit=100", headers=member.headers)
    for item in response.json()["deliveries"]:
        ack = await hub.client.post(
            f"/v1/inbox/{item['delivery_id']}/ack", json={}, headers=member.headers
        )
        assert ack.status_code == 200, ack.text


async def _age(hub: Hub, days: int) -> None:
    """Everything stored so far was received `days` ago."""
    then = utcnow() - timedelta(days=days)
    async with hub.context.sessions.begin() as session:
        await session.execute(update(Document).values(received_at=then))
        await session.execute(update(AttachmentBlob).values(stored_at=then))


async def _verified_log(hub: Hub) -> list[dict[str, Any]]:
    sealer = hub_sealer(hub.context.sessions, hub.context.identity, hub.settings)
    await sealer.seal_all()
    await sealer.seal_once(force_head=True)
    out = io.StringIO()
    await export_log(hub.context.sessions, hub.context.identity.chain, out)
    result = verify_export(out.getvalue().splitlines(), hub.context.identity.roots)
    assert result.problem is None, result.problem
    async with hub.context.sessions() as session:
        rows = (await session.scalars(select(EventLogEntry).order_by(EventLogEntry.id))).all()
    return [{"kind": r.kind, "subject": r.subject} for r in rows]


async def test_old_bodies_go_and_everything_else_stays(hub: Hub) -> None:
    sender = await hub.add(SENDER)
    taker = await hub.add(TAKER)
    await hub.add(SLOW)
    shared_old = await _submit(hub, sender, TAKER, SHARED)
    own_old = await _submit(hub, sender, TAKER, OWN)
    pending_old = await _submit(hub, sender, SLOW, ("cho.pdf", "application/pdf", b"%PDF-1.4 x"))
    await _take_all(hub, taker)
    await _age(hub, 40)
    recent = await _submit(hub, sender, TAKER, SHARED)  # carries the shared body again
    before = (await hub.trace(sender, shared_old)).json()
    compliance_before = (
        await hub.client.get("/v1/reports/signature-compliance", headers=hub.admin)
    ).json()["total"]

    result = await purge(hub.context.sessions, body_days=30, metadata_days=None)

    assert (result.documents_purged, result.bodies_removed) == (2, 1)
    assert result.bytes_removed == len(OWN[2])
    async with hub.context.sessions() as session:
        purged = dict((await session.execute(select(Document.id, Document.purged_at))).all())
        bodies = set((await session.scalars(select(AttachmentBlob.sha256))).all())
    assert purged[shared_old] and purged[own_old]
    assert purged[pending_old] is None and purged[recent] is None  # pending, or recent
    assert len(bodies) == 2  # the shared one (a recent document needs it) and the pending one
    trace = (await hub.trace(sender, own_old)).json()
    assert trace["purged_at"] is not None
    after = (await hub.trace(sender, shared_old)).json()
    assert {k: v for k, v in after.items() if k != "purged_at"} == {
        k: v for k, v in before.items() if k != "purged_at"
    }
    compliance_after = (
        await hub.client.get("/v1/reports/signature-compliance", headers=hub.admin)
    ).json()["total"]
    assert compliance_after == compliance_before  # facts and counters untouched
    # the recent document is still delivered whole, its body shared with a purged one
    response = await hub.client.get("/v1/inbox", headers=taker.headers)
    [item] = response.json()["deliveries"]
    assert item["document_id"] == recent and item["package"]["attachments"][0]["content"]
    entries = await _verified_log(hub)
    assert sorted(e["subject"] for e in entries if e["kind"] == "document.purged") == sorted(
        [shared_old, own_old]
    )
    # a second run finds nothing more to do
    again = await purge(hub.context.sessions, body_days=30, metadata_days=None)
    assert (again.documents_purged, again.bodies_removed) == (0, 0)


async def test_old_metadata_and_statistics_go_and_the_log_still_verifies(hub: Hub) -> None:
    sender = await hub.add(SENDER)
    taker = await hub.add(TAKER)
    old = await _submit(hub, sender, TAKER, OWN)
    await _take_all(hub, taker)
    await _age(hub, 400)
    async with hub.context.sessions.begin() as session:  # counted 400 days ago, too
        old_day = (utcnow() - timedelta(days=400)).date()
        await session.execute(
            update(ReportFact).where(ReportFact.document_id == old).values(day=old_day)
        )
        await session.execute(update(ReportCount).values(day=old_day.replace(month=1, day=1)))
    recent = await _submit(hub, sender, TAKER, SHARED)

    result = await purge(hub.context.sessions, body_days=30, metadata_days=365)

    assert result.documents_removed == 1
    assert (await hub.trace(sender, old)).status_code == 404
    assert (await hub.trace(sender, recent)).status_code == 200
    async with hub.context.sessions() as session:
        facts = (await session.scalars(select(ReportFact.document_id))).all()
        days = (
            await session.scalars(select(ReportCount.day).where(ReportCount.grain == Grain.DAY))
        ).all()
    assert facts == [recent]
    assert old_day not in days and days  # the old day's counters went, today's stay
    entries = await _verified_log(hub)
    kinds = [e["kind"] for e in entries]
    assert "retention.metadata_purged" in kinds
    assert any(e["subject"] == old and e["kind"] == "document.accepted" for e in entries)
