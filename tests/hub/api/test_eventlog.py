"""`/v1/eventlog`: the signed head and inclusion proofs, checked with other libraries
(jwcrypto for the JWS, pymerkle for the RFC 9162 tree), and every refusal's code."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
import pytest
import rfc8785
from jwcrypto import jwk, jws
from pymerkle import InmemoryTree

from hub.eventlog.sealer import HEAD_TYP, Sealer, hub_sealer
from registry.operators import create_operator
from signing.certs import cert_to_pem
from signing.jose import sign_compact
from tests.hub.conftest import Hub
from tests.hub.helpers import Agency

SENDER, RECIPIENT, OTHER_RECIPIENT, STRANGER = (
    "000.00.00.H26",
    "000.00.00.G22",
    "000.00.00.H49",
    "000.00.00.H62",
)


async def _seal(hub: Hub, *, head: bool = True) -> None:
    sealer = hub_sealer(hub.context.sessions, hub.context.identity, hub.settings)
    await sealer.seal_all()
    if head:
        await sealer.seal_once(force_head=True)


def _jwcrypto_claims(token: str, hub: Hub) -> dict[str, Any]:
    """The head's claims as jwcrypto reads them with the hub certificate's key."""
    key = jwk.JWK.from_pem(cert_to_pem(hub.context.identity.chain[0]))
    signed = jws.JWS()
    signed.deserialize(token)
    signed.verify(key)
    claims: dict[str, Any] = json.loads(signed.payload)
    return claims


def _entry_hash(entry: dict[str, Any]) -> str:
    content = {k: entry[k] for k in ("seq", "at", "kind", "subject", "data")}
    return hashlib.sha256(bytes.fromhex(entry["prev"]) + rfc8785.dumps(content)).hexdigest()


async def _proof(hub: Hub, n: int | str, headers: dict[str, str]) -> httpx.Response:
    return await hub.client.get(f"/v1/eventlog/entries/{n}/proof", headers=headers)


async def _sent(hub: Hub) -> tuple[Agency, Agency, Agency, str]:
    sender = await hub.add(SENDER)
    recipient = await hub.add(RECIPIENT)
    other = await hub.add(OTHER_RECIPIENT)
    answer = await hub.submit(sender, sender.package([RECIPIENT, OTHER_RECIPIENT]))
    assert answer.status_code == 202, answer.text
    return sender, recipient, other, answer.json()["document_id"]


async def _entries(hub: Hub) -> list[dict[str, Any]]:
    """Every sealed entry, as an auditor's proofs show them."""
    head = (await hub.client.get("/v1/eventlog/head", headers=hub.admin)).json()
    found = []
    for n in range(1, head["seq"] + 1):
        answer = await _proof(hub, n, hub.admin)
        assert answer.status_code == 200, answer.text
        found.append(answer.json())
    return found


async def test_no_head_before_the_hub_signs_one(hub: Hub) -> None:
    member = await hub.add(SENDER)
    for headers in (member.headers, hub.admin):
        answer = await hub.client.get("/v1/eventlog/head", headers=headers)
        assert answer.status_code == 404
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["code"] == "eventlog_no_head"
    assert (await hub.client.get("/v1/eventlog/head")).json()["code"] == "operator_token_missing"


async def test_the_head_is_signed_by_the_hub_and_covers_every_sealed_entry(hub: Hub) -> None:
    sender, *_ = await _sent(hub)
    await _seal(hub)
    answer = await hub.client.get("/v1/eventlog/head", headers=sender.headers)
    assert answer.status_code == 200, answer.text
    head = answer.json()
    claims = _jwcrypto_claims(head["jws"], hub)
    assert claims["iss"] == hub.settings.hub_id
    assert {k: head[k] for k in ("seq", "hash", "first_seq", "entries_root")} == {
        k: claims[k] for k in ("seq", "hash", "first_seq", "entries_root")
    }
    entries = await _entries(hub)
    assert [p["entry"]["seq"] for p in entries] == list(range(1, head["seq"] + 1))
    assert {p["entry"]["kind"] for p in entries} >= {"document.accepted", "registry.create"}
    assert entries[-1]["entry"]["hash"] == claims["hash"]


async def test_a_proof_checks_out_with_an_independent_merkle_tree(hub: Hub) -> None:
    sender, *_, document_id = await _sent(hub)
    await _seal(hub)
    entries = await _entries(hub)
    tree = InmemoryTree(algorithm="sha256")
    for proof in entries:
        entry = proof["entry"]
        assert _entry_hash(entry) == entry["hash"]
        tree.append_entry(bytes.fromhex(entry["hash"]))
    head = entries[-1]["head"]
    assert head["first_seq"] == 1
    assert tree.get_root(len(entries)).hex() == head["entries_root"]
    accepted = next(p for p in entries if p["entry"]["kind"] == "document.accepted")
    answer = await _proof(hub, accepted["entry"]["seq"], sender.headers)
    assert answer.status_code == 200, answer.text
    proof = answer.json()
    assert proof["entry"]["subject"] == document_id
    expected = tree.prove_inclusion(proof["leaf_index"] + 1, proof["tree_size"])
    # pymerkle's path starts with the leaf's own hash; RFC 9162's is the siblings only
    siblings = expected.serialize()["path"][1:]
    assert proof["path"] == siblings
    assert proof["tree_size"] == len(entries)


async def test_members_prove_only_entries_about_themselves(hub: Hub) -> None:
    sender, recipient, other, document_id = await _sent(hub)
    stranger = await hub.add(STRANGER)
    await _seal(hub)
    entries = {p["entry"]["seq"]: p["entry"] for p in await _entries(hub)}
    about_document = [e for e in entries.values() if e["subject"] == document_id]
    assert about_document
    for entry in about_document:
        seq = entry["seq"]
        assert (await _proof(hub, seq, sender.headers)).status_code == 200
        refused = await _proof(hub, seq, stranger.headers)
        assert refused.status_code == 404
        assert refused.json()["code"] == "eventlog_entry_not_found"
        line_of = entry["data"].get("recipient")
        for member in (recipient, other):
            expected = 200 if line_of in (None, member.code) else 404
            assert (await _proof(hub, seq, member.headers)).status_code == expected, entry
    own = next(e for e in entries.values() if e["subject"] == STRANGER)
    assert (await _proof(hub, own["seq"], stranger.headers)).status_code == 200
    assert (await _proof(hub, own["seq"], sender.headers)).status_code == 404


async def test_members_find_the_entries_about_them(hub: Hub) -> None:
    sender, recipient, other, document_id = await _sent(hub)
    stranger = await hub.add(STRANGER)
    for member in (recipient, other):  # each recipient's own lines in the log
        [item] = (await hub.client.get("/v1/inbox", headers=member.headers)).json()["deliveries"]
        ack = await hub.client.post(
            f"/v1/inbox/{item['delivery_id']}/ack", json={}, headers=member.headers
        )
        assert ack.status_code == 200, ack.text
    await _seal(hub)

    async def listed(headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
        answer = await hub.client.get(
            "/v1/eventlog/entries", params={"subject": document_id, **params}, headers=headers
        )
        assert answer.status_code == 200, answer.text
        entries: list[dict[str, Any]] = answer.json()["entries"]
        return entries

    everything = await listed(hub.admin)
    assert everything and {e["subject"] for e in everything} == {document_id}
    assert await listed(sender.headers) == everything
    own = await listed(recipient.headers)
    assert own == [e for e in everything if e["data"].get("recipient") in (None, RECIPIENT)]
    assert own != everything  # the other recipient's lines are not shown
    assert await listed(stranger.headers) == []
    first, *rest = everything
    assert await listed(hub.admin, after=first["seq"]) == rest
    for entry in own:
        assert (await _proof(hub, entry["seq"], recipient.headers)).status_code == 200


@pytest.mark.parametrize(
    ("n", "status", "code"),
    [
        ("0", 422, "validation_error"),
        ("-1", 422, "validation_error"),
        ("abc", 422, "validation_error"),
        ("1.5", 422, "validation_error"),
        (str(2**63), 422, "validation_error"),
        ("999999", 404, "eventlog_entry_not_found"),
    ],
)
async def test_bad_entry_numbers_are_named_problems(
    hub: Hub, n: str, status: int, code: str
) -> None:
    await hub.add(SENDER)
    await _seal(hub)
    answer = await _proof(hub, n, hub.admin)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == code


async def test_a_sealed_entry_no_head_covers_yet_is_409_with_retry_after(hub: Hub) -> None:
    await hub.add(SENDER)
    await _seal(hub)
    head = (await hub.client.get("/v1/eventlog/head", headers=hub.admin)).json()
    await hub.add(RECIPIENT)
    await _seal(hub, head=False)
    answer = await _proof(hub, head["seq"] + 1, hub.admin)
    assert answer.status_code == 409, answer.text
    assert answer.json()["code"] == "eventlog_entry_unsigned"
    assert int(answer.headers["retry-after"]) >= 1
    assert (await _proof(hub, head["seq"], hub.admin)).status_code == 200


async def test_auditors_read_and_callers_without_credentials_do_not(hub: Hub) -> None:
    await hub.add(SENDER)
    await _seal(hub)
    async with hub.context.sessions.begin() as session:
        _, token = await create_operator(session, "auditor-1", "auditor")
    auditor = {"Authorization": f"Bearer {token}"}
    assert (await hub.client.get("/v1/eventlog/head", headers=auditor)).status_code == 200
    assert (await _proof(hub, 1, auditor)).status_code == 200
    anonymous = await _proof(hub, 1, {})
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "operator_token_missing"
    forged = {"Authorization": "Bearer not-a-token"}
    refused = await hub.client.get("/v1/eventlog/head", headers=forged)
    assert refused.status_code == 401
    assert refused.json()["code"] == "malformed_token"


async def test_an_entry_under_a_head_without_a_root_is_409_proof_unavailable(hub: Hub) -> None:
    """Heads signed before they carried `entries_root` still cover their entries; those
    entries are proved from an export instead."""
    await hub.add(SENDER)
    identity = hub.context.identity

    def sign_as_before(claims: dict[str, Any]) -> str:
        older = {k: v for k, v in claims.items() if k not in ("first_seq", "entries_root")}
        return sign_compact(older, identity.key, identity.chain, typ=HEAD_TYP)

    sealer = Sealer(hub.context.sessions, sign_as_before, issuer=hub.settings.hub_id)
    await sealer.seal_all()
    await sealer.seal_once(force_head=True)
    head = (await hub.client.get("/v1/eventlog/head", headers=hub.admin)).json()
    assert head["entries_root"] is None and head["first_seq"] is None
    answer = await _proof(hub, head["seq"], hub.admin)
    assert answer.status_code == 409, answer.text
    assert answer.json()["code"] == "eventlog_proof_unavailable"
