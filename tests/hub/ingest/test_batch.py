"""Group commit of submissions: a batch with repeats, conflicts and bad items loses nothing.

The writer is driven directly with prepared submissions (so the batch is known),
and through HTTP with many concurrent submissions.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from hub.db.models import Delivery, Document
from hub.eventlog.chain import EventLogEntry, canonical_json
from hub.ingest.receipts import verify_receipt
from hub.ingest.service import Ingest, Submission, prepare
from hub.ingest.writer import Accepted, event_json
from hub.reports.models import ReportFact
from registry.db import utcnow
from registry.problems import Problem
from signing.package import Package
from tests.hub.conftest import Hub
from tests.hub.helpers import Agency, body_of

SENDER, RECIPIENT, OTHER, UNKNOWN = (
    "000.00.00.H26",
    "000.00.00.G22",
    "000.00.00.G23",
    "000.00.00.K99",
)


@pytest.fixture
async def sender(hub: Hub) -> Agency:
    await hub.add(RECIPIENT)
    await hub.add(OTHER)
    return await hub.add(SENDER)


def _service(hub: Hub) -> Ingest:
    context = hub.context
    return Ingest(context.sessions, context.identity, context.settings.hub_id)


def _prepared(hub: Hub, pkg: Package) -> Submission:
    return prepare(body_of(pkg), pkg.sender, hub.context.identity.trust, utcnow())


async def _stored(hub: Hub, document_id: str) -> dict[str, int]:
    """Rows of each table written for one document."""
    counts: dict[str, int] = {}
    async with hub.context.sessions() as session:
        for name, column in [
            ("documents", Document.id),
            ("deliveries", Delivery.document_id),
            ("events", EventLogEntry.subject),
            ("facts", ReportFact.document_id),
        ]:
            query = select(func.count()).where(column == document_id)
            counts[name] = (await session.execute(query)).scalar_one()
    return counts


def _written(recipients: int) -> dict[str, int]:
    return {"documents": 1, "deliveries": recipients, "events": 1, "facts": recipients}


NOTHING = {"documents": 0, "deliveries": 0, "events": 0, "facts": 0}


async def test_a_batch_answers_each_item_and_writes_only_the_good_ones(
    hub: Hub, sender: Agency
) -> None:
    stored = sender.package([RECIPIENT])
    assert (await hub.submit(sender, stored)).status_code == 202
    fresh = sender.package([RECIPIENT, OTHER])
    conflict = sender.package([RECIPIENT], id=stored.id, files=[("b.txt", "text/plain", b"b")])
    unknown = sender.package([RECIPIENT, UNKNOWN])
    last = sender.package([OTHER])
    items = [fresh, stored, conflict, unknown, last]

    outcomes = await _service(hub).writer.write_batch([_prepared(hub, pkg) for pkg in items])

    assert isinstance(outcomes[0], Accepted) and outcomes[0].created
    assert isinstance(outcomes[1], Accepted) and not outcomes[1].created
    assert isinstance(outcomes[2], Problem) and outcomes[2].code == "document_id_conflict"
    assert isinstance(outcomes[3], Problem) and outcomes[3].code == "unknown_recipient"
    assert isinstance(outcomes[4], Accepted) and outcomes[4].created
    claims = verify_receipt(outcomes[0].result.receipt, hub.context.identity.certificate)
    assert [r.recipient for r in claims.recipients] == [RECIPIENT, OTHER]
    assert await _stored(hub, fresh.id) == _written(2)
    assert await _stored(hub, stored.id) == _written(1)
    assert await _stored(hub, unknown.id) == NOTHING
    assert await _stored(hub, last.id) == _written(1)


async def test_a_batch_that_fails_to_commit_is_written_again_item_by_item(
    hub: Hub, sender: Agency
) -> None:
    first = sender.package([RECIPIENT])
    twin = sender.package([OTHER], id=first.id, files=[("b.txt", "text/plain", b"b")])
    other = sender.package([RECIPIENT, OTHER])
    # the same id twice in one batch: the multi-row INSERT fails on the primary key
    outcomes = await _service(hub).writer.write_batch(
        [_prepared(hub, pkg) for pkg in [first, twin, other]]
    )
    assert isinstance(outcomes[0], Accepted) and outcomes[0].created
    assert isinstance(outcomes[1], Problem) and outcomes[1].code == "document_id_conflict"
    assert isinstance(outcomes[2], Accepted) and outcomes[2].created
    assert await _stored(hub, first.id) == _written(1)
    assert await _stored(hub, other.id) == _written(2)
    trace = (await hub.trace(sender, first.id)).json()
    assert [d["recipient"] for d in trace["deliveries"]] == [RECIPIENT]


async def test_concurrent_submissions_with_repeats_and_bad_ones_lose_nothing(
    hub: Hub, sender: Agency
) -> None:
    good = [sender.package([RECIPIENT] if n % 2 else [RECIPIENT, OTHER]) for n in range(24)]
    repeated = good[3]
    conflict = sender.package([RECIPIENT], id=good[5].id, files=[("c.txt", "text/plain", b"c")])
    unknown = sender.package([UNKNOWN])
    bodies: list[Package] = [*good, repeated, unknown, conflict]

    responses = await asyncio.gather(*(hub.submit(sender, pkg) for pkg in bodies))

    statuses = [r.status_code for r in responses]
    assert [s for n, s in enumerate(statuses[:24]) if n not in (3, 5)] == [202] * 22
    assert sorted([statuses[3], statuses[24]]) == [200, 202]
    assert responses[3].json()["receipt"] == responses[24].json()["receipt"]
    assert (statuses[25], responses[25].json()["code"]) == (422, "unknown_recipient")
    # the conflict and the original raced: exactly one of them was stored
    assert sorted([statuses[5], statuses[26]]) == [202, 409]
    for n, pkg in enumerate(good):
        assert await _stored(hub, pkg.id) == _written(1 if n % 2 else 2)
    assert await _stored(hub, unknown.id) == NOTHING


async def test_submissions_through_http_answer_with_the_writers_receipt(
    hub: Hub, sender: Agency
) -> None:
    pkg = sender.package([RECIPIENT])
    response = await hub.submit(sender, pkg)
    body: dict[str, Any] = response.json()
    async with hub.context.sessions() as session:
        stored = (
            await session.execute(select(Document.receipt).where(Document.id == pkg.id))
        ).scalar_one()
    assert body["receipt"] == stored
    assert body["recipients"][0]["delivery_id"]


async def test_postgresql_keeps_two_batches_in_flight_and_sqlite_one(
    hub: Hub, sender: Agency
) -> None:
    responses = await asyncio.gather(
        *(hub.submit(sender, sender.package([RECIPIENT])) for _ in range(12))
    )
    assert [r.status_code for r in responses] == [202] * 12
    dialect = hub.context.engine.dialect.name
    assert hub.app.state.hub.ingest.commits.writers == (2 if dialect == "postgresql" else 1)


@pytest.mark.parametrize(
    "reasons",
    [[], ["suspended"], ["BAD_SIGNATURE", 'Lý do: "trích" \\ dòng\nmới\t\x01\x1f\x7f \u2028 😀']],
)
def test_event_json_is_the_event_logs_canonical_json(reasons: list[str]) -> None:
    data = {
        "sender": SENDER,
        "manifest_digest": "ab" * 32,
        "compliant": not reasons,
        "violations": reasons,
        "recipients": [
            {"recipient": RECIPIENT, "outcome": "accepted", "delivery_id": None, "reasons": []},
            {"recipient": OTHER, "outcome": "refused_by_policy", "reasons": reasons, "z": [{}]},
        ],
    }
    assert event_json(data) == canonical_json(data)
