"""The SDK reads the hub's signed event-log head and proves entries about its member,
trusting nothing but the pinned hub certificate."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from hub.eventlog.sealer import hub_sealer
from member_node.client import HubClient
from member_node.errors import NotFound, ProofError
from member_node.eventlog import verify_head, verify_inclusion
from member_node.sync_client import SyncHubClient
from signing.jose import sign_compact, unverified_claims
from signing.pades.document import make_pdf
from tests.conftest import HUB_ID, PKIFixture
from tests.member_node.conftest import HEADER, RECIPIENT, Agency, MakeAgency
from tests.member_node.test_client_messaging import LoopBridge

PDF = ("qd274.pdf", "application/pdf", make_pdf(pages=1))


async def _sealed(hub_app: Any) -> None:
    context = hub_app.state.hub
    sealer = hub_sealer(context.sessions, context.identity, context.settings)
    await sealer.seal_all()
    await sealer.seal_once(force_head=True)


async def test_the_sdk_proves_its_document_was_logged(
    sender_client: HubClient,
    make_agency: MakeAgency,
    connect: Callable[[Agency], HubClient],
    hub_app: Any,
    pki: PKIFixture,
) -> None:
    stranger = await make_agency("000.00.00.H62")
    await make_agency(RECIPIENT)
    result = await sender_client.send([RECIPIENT], HEADER, [PDF])
    await _sealed(hub_app)
    head = await sender_client.eventlog_head()
    assert head.entries_root is not None
    assert head.first_seq is not None and 1 <= head.first_seq <= head.seq
    found = await sender_client.eventlog_entries(result.document_id)
    [seq] = [e.seq for e in found.entries if e.kind == "document.accepted"]
    assert (
        await sender_client.eventlog_entries(result.document_id, found.next_after)
    ).entries == []
    proof = await sender_client.eventlog_proof(seq)
    assert proof.entry.subject == result.document_id
    assert proof.entry.data["sender"] == sender_client.code
    async with connect(stranger) as other:
        assert (await other.eventlog_entries(result.document_id)).entries == []
        with pytest.raises(NotFound) as refused:
            await other.eventlog_proof(seq)
        assert refused.value.code == "eventlog_entry_not_found"

    # what a hub (or anyone between) could change, the check catches
    cert = pki.hub.cert
    altered = proof.model_copy(deep=True)
    altered.entry.data["sender"] = "000.00.00.H62"
    with pytest.raises(ProofError) as caught:
        verify_inclusion(altered, cert, HUB_ID)
    assert caught.value.code == "entry_altered"
    longer = proof.model_copy(update={"path": [*proof.path, "00" * 32]})
    with pytest.raises(ProofError) as path_error:
        verify_inclusion(longer, cert, HUB_ID)
    assert path_error.value.code == "path_invalid"
    other_leaf = proof.model_copy(update={"leaf_index": 0, "entry": proof.entry})
    other_leaf.head = proof.head.model_copy(update={"first_seq": proof.entry.seq + 1})
    verify_inclusion(other_leaf, cert, HUB_ID)  # the unsigned copies of the claims are ignored
    forged_claims = unverified_claims(proof.head.jws)
    impostor = pki.issue_member("000.00.00.H62")
    forged = proof.head.model_copy(
        update={"jws": sign_compact(forged_claims, impostor.key, [impostor.cert])}
    )
    with pytest.raises(ProofError) as forged_error:
        verify_head(forged, cert, HUB_ID)
    assert forged_error.value.code == "head_signature_invalid"
    with pytest.raises(ProofError) as wrong_hub:
        verify_head(proof.head, cert, "another-hub")
    assert wrong_hub.value.code == "head_wrong_issuer"


async def test_the_sync_client_proves_the_same(
    sender: Agency,
    make_agency: MakeAgency,
    hub_transport: httpx.ASGITransport,
    hub_app: Any,
) -> None:
    await make_agency(RECIPIENT)
    bridge = LoopBridge(hub_transport, asyncio.get_running_loop())
    with SyncHubClient("http://hub", sender.identity, hub_id=HUB_ID, transport=bridge) as hub:
        result = await asyncio.to_thread(hub.send, [RECIPIENT], HEADER, [PDF])
        await _sealed(hub_app)
        head = await asyncio.to_thread(hub.eventlog_head)
        found = await asyncio.to_thread(hub.eventlog_entries, result.document_id)
        proofs = [await asyncio.to_thread(hub.eventlog_proof, e.seq) for e in found.entries]
    assert found.entries and [p.entry for p in proofs] == found.entries
    assert all(p.head.seq <= head.seq for p in proofs)
