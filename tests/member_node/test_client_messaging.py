"""Every member call of the wire contract, through the SDK, against a real hub app."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable

import httpx
import pytest

from hub.protocol import RecipientOutcome, StatusCode
from member_node.client import HubClient
from member_node.errors import BadRequest, Conflict, Forbidden, NotFound, SigningError
from member_node.sync_client import SyncHubClient
from signing.jose import verify_compact
from signing.package import manifest_digest
from signing.pades.document import make_pdf
from tests.conftest import HUB_ID, PKIFixture
from tests.member_node.conftest import HEADER, RECIPIENT, SENDER, Agency, MakeAgency

PDF = ("qd274.pdf", "application/pdf", make_pdf(pages=1))


async def test_send_trace_pull_ack_status_and_status_updates(
    sender_client: HubClient,
    make_agency: MakeAgency,
    connect: Callable[[Agency], HubClient],
    pki: PKIFixture,
) -> None:
    recipient = await make_agency(RECIPIENT)
    result = await sender_client.send([RECIPIENT], HEADER, [PDF])
    assert result.verdict.compliant, result.verdict.violations
    assert [r.outcome for r in result.recipients] == [RecipientOutcome.ACCEPTED]
    claims = verify_compact(result.receipt, pki.hub.cert)
    assert claims["document_id"] == result.document_id

    async with connect(recipient) as inbox_client:
        batch = await inbox_client.inbox()
        [delivery] = batch.deliveries
        assert delivery.document_id == result.document_id
        assert manifest_digest(delivery.package) == result.manifest_digest
        assert delivery.package.attachments[0].data == PDF[2]
        ref = await inbox_client.ack(delivery.delivery_id, "a-receipt")
        assert ref.delivery_id == delivery.delivery_id
        assert (await inbox_client.inbox(wait=0)).deliveries == []

        entry = await inbox_client.post_status(result.document_id, StatusCode.ARRIVED)
        assert entry.code == StatusCode.ARRIVED
        with pytest.raises(BadRequest) as missing_reason:
            await inbox_client.post_status(result.document_id, "02")
        assert missing_reason.value.status == 422

    trace = await sender_client.trace(result.document_id)
    assert [s.code for s in trace.deliveries[0].statuses] == [StatusCode.ARRIVED]
    page = await sender_client.status_updates()
    assert [(u.document_id, u.code) for u in page.updates] == [
        (result.document_id, StatusCode.ARRIVED)
    ]
    assert (await sender_client.status_updates(after=page.next_cursor, wait=0)).updates == []


async def test_the_sdk_long_polls_by_default(
    sender_client: HubClient, make_agency: MakeAgency, connect: Callable[[Agency], HubClient]
) -> None:
    """`inbox()` with nothing there waits for the hub's answer, which comes when a
    document is accepted; `status_updates()` the same for a status."""
    recipient = await make_agency(RECIPIENT)
    async with connect(recipient) as inbox_client:
        waiting = asyncio.create_task(inbox_client.inbox())
        await asyncio.sleep(0.3)
        assert not waiting.done()
        result = await sender_client.send([RECIPIENT], HEADER, [PDF])
        batch = await asyncio.wait_for(waiting, 30)  # a hang guard, not a timing
        assert [d.document_id for d in batch.deliveries] == [result.document_id]
        statuses = asyncio.create_task(sender_client.status_updates())
        await asyncio.sleep(0.3)
        assert not statuses.done()
        await inbox_client.post_status(result.document_id, StatusCode.ARRIVED)
        page = await asyncio.wait_for(statuses, 30)
        assert [u.code for u in page.updates] == [StatusCode.ARRIVED]


async def test_submission_is_idempotent_and_a_changed_manifest_conflicts(
    sender_client: HubClient, make_agency: MakeAgency
) -> None:
    await make_agency(RECIPIENT)
    package = sender_client.build_package([RECIPIENT], HEADER, [PDF])
    first = await sender_client.submit(package)
    again = await sender_client.submit(package)
    assert again.receipt == first.receipt
    changed = sender_client.build_package(
        [RECIPIENT], {**HEADER, "subject": "another subject"}, [PDF], package_id=package.id
    )
    with pytest.raises(Conflict) as caught:
        await sender_client.submit(changed)
    assert caught.value.status == 409 and caught.value.code


async def test_recall_reaches_the_recipient_as_13(
    sender_client: HubClient, make_agency: MakeAgency, connect: Callable[[Agency], HubClient]
) -> None:
    recipient = await make_agency(RECIPIENT)
    result = await sender_client.send([RECIPIENT], HEADER, [PDF])
    trace = await sender_client.recall(result.document_id)
    assert trace.recalled_at is not None
    async with connect(recipient) as client:
        page = await client.status_updates()
        assert (page.updates[-1].document_id, page.updates[-1].code) == (
            result.document_id,
            StatusCode.RECALLED,
        )
        with pytest.raises(Forbidden):
            await client.recall(result.document_id)  # only the sender recalls


async def test_unsigned_options_and_unknown_documents(
    sender_client: HubClient, make_agency: MakeAgency
) -> None:
    await make_agency(RECIPIENT)
    org_only = await sender_client.send([RECIPIENT], HEADER, [PDF], personal=False)
    assert "NO_PERSONAL_SIGNATURE" in org_only.verdict.violations
    unsigned = await sender_client.send(
        [RECIPIENT], HEADER, [PDF], personal=False, organization=False
    )
    assert "UNSIGNED" in unsigned.verdict.violations
    with pytest.raises(NotFound):
        await sender_client.trace("7d6b2c9e-0000-4000-8000-000000000000")
    with pytest.raises(SigningError) as bad:
        sender_client.build_package(["not a code"], HEADER)
    assert bad.value.code == "invalid_package"


async def test_a_node_without_an_official_key_cannot_sign_personally(
    sender: Agency, connect: Callable[[Agency], HubClient]
) -> None:
    (sender.keys / "official.key").unlink()
    (sender.keys / "official.crt").unlink()
    async with connect(sender) as client:
        with pytest.raises(SigningError) as caught:
            client.build_package([RECIPIENT], HEADER)
        assert caught.value.code == "no_official_key"
        assert client.build_package([RECIPIENT], HEADER, personal=False).signatures


async def test_the_sync_client_makes_the_same_calls(
    sender: Agency, make_agency: MakeAgency, hub_transport: httpx.ASGITransport
) -> None:
    await make_agency(RECIPIENT)
    bridge = LoopBridge(hub_transport, asyncio.get_running_loop())

    def blocking_dms() -> tuple[str, str, str]:
        with SyncHubClient("http://hub", sender.identity, hub_id=HUB_ID, transport=bridge) as hub:
            result = hub.send([RECIPIENT], HEADER, [PDF])
            return hub.trace(result.document_id).sender, hub.directory().hub_id, result.document_id

    traced_sender, hub_id, document_id = await asyncio.to_thread(blocking_dms)
    assert (traced_sender, hub_id) == (SENDER, HUB_ID)
    assert document_id


class LoopBridge(httpx.AsyncBaseTransport):
    """Carries a request from the sync client's private loop to the loop running the hub."""

    def __init__(self, inner: httpx.AsyncBaseTransport, loop: asyncio.AbstractEventLoop) -> None:
        self.inner = inner
        self.loop = loop

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        future = asyncio.run_coroutine_threadsafe(self._forward(request), self.loop)
        return await asyncio.wrap_future(future)

    async def _forward(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        content = b"".join([part async for part in response.stream])  # type: ignore[union-attr]
        return httpx.Response(response.status_code, headers=response.headers, content=content)


async def test_edxml_through_the_sdk(
    sender_client: HubClient,
    make_agency: MakeAgency,
    connect: Callable[[Agency], HubClient],
    pki: PKIFixture,
) -> None:
    from signing.edxml import (
        DocumentRef,
        EdxmlStatus,
        package_id_for,
        read_hub_export,
        status_to_edxml,
    )

    recipient = await make_agency(RECIPIENT, wire_format="edxml")
    document_id = f"{SENDER},2024/03/12,274/QĐ-UBND"
    envelope = sender_client.build_edxml([RECIPIENT], HEADER, [PDF], document_id=document_id)
    result = await sender_client.send_edxml(envelope)
    assert result.document_id == package_id_for(SENDER, document_id)
    assert result.verdict.violations == ["NO_PERSONAL_SIGNATURE"]
    assert (await sender_client.send_edxml(envelope)).receipt == result.receipt
    assert await sender_client.edxml(result.document_id, original=True) == envelope
    exported = await sender_client.edxml(result.document_id)
    assert read_hub_export(exported, pki.hub.cert).hub_signature_valid
    with pytest.raises(BadRequest) as bad:
        await sender_client.send_edxml(b"<edXML><unclosed>")
    assert bad.value.code == "edxml_not_well_formed"

    async with connect(recipient) as inbox_client:
        [delivery] = (await inbox_client.inbox()).deliveries
        assert delivery.package is None and delivery.edxml is not None
        read = read_hub_export(delivery.edxml.encode(), pki.hub.cert)
        assert read.hub_signature_valid
        assert manifest_digest(read.package) == result.manifest_digest
        await inbox_client.ack(delivery.delivery_id)
        message = status_to_edxml(
            EdxmlStatus(
                document=DocumentRef(organ_id=SENDER, document_id=document_id),
                organ_id=RECIPIENT,
                code="01",
                timestamp="2024/03/12 10:00:00",
            )
        )
        entry = await inbox_client.post_edxml_status(result.document_id, message)
        assert entry.code == StatusCode.ARRIVED
        # the SDKs' local time is Vietnam time
        assert entry.at == dt.datetime(2024, 3, 12, 3, 0, tzinfo=dt.UTC)

    page = await sender_client.status_updates()
    assert [u.code for u in page.updates] == [StatusCode.ARRIVED]
    assert page.updates[0].edxml is None  # the sender's format is JSON
