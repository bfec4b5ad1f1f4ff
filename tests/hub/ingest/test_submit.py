"""`POST /v1/documents`: durable acceptance, receipts, idempotency and every refusal."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from hub.ingest.receipts import verify_receipt
from signing.pades.document import make_pdf
from tests.hub.conftest import Hub
from tests.hub.helpers import Agency, body_of, tampered, with_attachment

SENDER, RECIPIENT, OTHER = "000.00.00.H26", "000.00.00.G22", "000.00.00.H49"


@pytest.fixture
async def sender(hub: Hub) -> Agency:
    return await hub.add(SENDER)


@pytest.fixture
async def recipient(hub: Hub) -> Agency:
    return await hub.add(RECIPIENT)


async def _deliveries(hub: Hub, sender: Agency, document_id: str) -> list[dict[str, Any]]:
    response = await hub.trace(sender, document_id)
    assert response.status_code == 200, response.text
    deliveries: list[dict[str, Any]] = response.json()["deliveries"]
    return deliveries


async def test_a_signed_package_is_accepted_with_a_verifiable_receipt(
    hub: Hub, sender: Agency, recipient: Agency
) -> None:
    pkg = sender.package([RECIPIENT])
    response = await hub.submit(sender, pkg)
    assert response.status_code == 202, response.text
    result = response.json()
    claims = verify_receipt(result["receipt"], hub.context.identity.certificate)
    assert claims.document_id == pkg.id
    assert claims.sub == SENDER
    assert claims.verdict.compliant, claims.verdict.violations
    assert claims.manifest_digest == result["manifest_digest"]
    assert [(r.recipient, r.outcome.value) for r in claims.recipients] == [(RECIPIENT, "accepted")]
    deliveries = await _deliveries(hub, sender, pkg.id)
    assert [(d["recipient"], d["state"]) for d in deliveries] == [(RECIPIENT, "queued")]


async def test_a_large_package_is_checked_off_the_event_loop_and_accepted(
    hub: Hub, sender: Agency, recipient: Agency
) -> None:
    """Bodies past `INLINE_CHECK_BYTES` are checked in a thread: same answers either way."""
    from hub.ingest.service import INLINE_CHECK_BYTES

    content = make_pdf(pages=1, padding_bytes=INLINE_CHECK_BYTES)
    pkg = sender.package([RECIPIENT], files=[("scan.pdf", "application/pdf", content)])
    response = await hub.submit(sender, pkg)
    assert response.status_code == 202, response.text
    assert response.json()["verdict"]["compliant"]
    altered = with_attachment(pkg, content=os.urandom(INLINE_CHECK_BYTES))
    refused = await hub.submit(sender, altered)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "attachment_digest_mismatch"


async def test_the_same_package_again_gets_200_and_the_same_receipt(
    hub: Hub, sender: Agency, recipient: Agency
) -> None:
    pkg = sender.package([RECIPIENT])
    first = await hub.submit(sender, pkg)
    again = await hub.submit(sender, pkg)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json() == first.json()
    assert len(await _deliveries(hub, sender, pkg.id)) == 1


async def test_the_same_id_with_another_manifest_is_409(
    hub: Hub, sender: Agency, recipient: Agency
) -> None:
    pkg = sender.package([RECIPIENT])
    assert (await hub.submit(sender, pkg)).status_code == 202
    other = sender.package([RECIPIENT], id=pkg.id, files=[("b.txt", "text/plain", b"other")])
    response = await hub.submit(sender, other)
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "document_id_conflict"


async def test_attachments_are_stored_once_per_digest(
    hub: Hub, sender: Agency, recipient: Agency
) -> None:
    from sqlalchemy import func, select

    from hub.db.models import AttachmentBlob

    for _ in range(3):
        assert (await hub.submit(sender, sender.package([RECIPIENT]))).status_code == 202
    async with hub.context.sessions() as session:
        count = await session.scalar(select(func.count()).select_from(AttachmentBlob))
    assert count == 1


async def test_a_sender_other_than_the_caller_is_403(
    hub: Hub, sender: Agency, recipient: Agency
) -> None:
    pkg = sender.package([OTHER])
    response = await hub.submit(recipient, pkg)
    assert response.status_code == 403
    assert response.json()["code"] == "sender_mismatch"


async def test_no_token_is_401(hub: Hub, sender: Agency, recipient: Agency) -> None:
    response = await hub.client.post("/v1/documents", content=body_of(sender.package([RECIPIENT])))
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def _recipients(pkg_json: bytes, recipients: list[str]) -> bytes:
    data = json.loads(pkg_json)
    data["recipients"] = recipients
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    ("recipients", "code"),
    [
        ([], "no_recipients"),
        ([RECIPIENT, RECIPIENT], "duplicate_recipient"),
        ([RECIPIENT, SENDER], "sender_among_recipients"),
        ([RECIPIENT, "000.00.00.K99"], "unknown_recipient"),
    ],
)
async def test_bad_recipient_lists_are_refused_and_nothing_is_stored(
    hub: Hub, sender: Agency, recipient: Agency, recipients: list[str], code: str
) -> None:
    pkg = sender.package([RECIPIENT])
    response = await hub.submit(sender, _recipients(body_of(pkg), recipients))
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code
    assert (await hub.trace(sender, pkg.id)).status_code == 404


async def test_an_attachment_that_does_not_match_its_digest_is_refused(
    hub: Hub, sender: Agency, recipient: Agency
) -> None:
    pkg = sender.package([RECIPIENT])
    response = await hub.submit(sender, with_attachment(pkg, content=b"%PDF-1.7 altered!!!!!!!"))
    assert response.status_code == 422
    assert response.json()["code"] == "attachment_digest_mismatch"
    assert response.json()["errors"][0]["field"] == "attachments.0.content"
    assert (await hub.trace(sender, pkg.id)).status_code == 404


@pytest.mark.parametrize("name", ["../etc/passwd", "a/b.pdf", "a\\b.pdf", "bad\nname.pdf", ".."])
async def test_attachment_names_must_be_plain_file_names(
    hub: Hub, sender: Agency, recipient: Agency, name: str
) -> None:
    pkg = sender.package([RECIPIENT], files=[(name, "application/pdf", b"x")])
    response = await hub.submit(sender, pkg)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_attachment_name"


async def test_a_body_that_is_not_json_is_400(hub: Hub, sender: Agency) -> None:
    response = await hub.submit(sender, b"{not json")
    assert response.status_code == 400
    assert response.json()["code"] == "not_json"


async def test_a_body_that_is_not_a_package_is_422_with_fields(hub: Hub, sender: Agency) -> None:
    response = await hub.submit(sender, b'{"id": "x"}')
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "invalid_package"
    assert problem["errors"]


@pytest.mark.parametrize("hub_overrides", [{"max_package_bytes": 2048}])
async def test_a_body_over_the_limit_is_413(hub: Hub, sender: Agency, recipient: Agency) -> None:
    pkg = sender.package([RECIPIENT], files=[("big.pdf", "application/pdf", b"x" * 4096)])
    response = await hub.submit(sender, pkg)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"

    async def chunks() -> Any:  # no Content-Length: the limit holds while streaming
        body = body_of(pkg)
        for start in range(0, len(body), 500):
            yield body[start : start + 500]

    response = await hub.client.post("/v1/documents", content=chunks(), headers={**sender.headers})
    assert response.status_code == 413
    assert (await hub.trace(sender, pkg.id)).status_code == 404


async def test_reject_invalid_refuses_a_forged_package_for_that_recipient_only(
    hub: Hub, sender: Agency
) -> None:
    await hub.add(RECIPIENT, policy="reject_invalid")
    await hub.add(OTHER)
    pkg = sender.package([RECIPIENT, OTHER])
    response = await hub.submit(sender, tampered(pkg, subject="altered after signing"))
    assert response.status_code == 202, response.text
    result = response.json()
    assert "BAD_SIGNATURE" in result["verdict"]["violations"]
    outcomes = {r["recipient"]: (r["outcome"], r["reasons"]) for r in result["recipients"]}
    assert outcomes == {
        RECIPIENT: ("refused_by_policy", ["BAD_SIGNATURE"]),
        OTHER: ("accepted", []),
    }
    states = {d["recipient"]: d["state"] for d in await _deliveries(hub, sender, pkg.id)}
    assert states == {RECIPIENT: "refused", OTHER: "queued"}


async def test_reject_invalid_accepts_an_unsigned_package_but_require_compliant_does_not(
    hub: Hub, sender: Agency
) -> None:
    await hub.add(RECIPIENT, policy="reject_invalid")
    await hub.add(OTHER, policy="require_compliant")
    pkg = sender.package([RECIPIENT, OTHER], signed=False)
    result = (await hub.submit(sender, pkg)).json()
    outcomes = {r["recipient"]: (r["outcome"], r["reasons"]) for r in result["recipients"]}
    assert outcomes == {
        RECIPIENT: ("accepted", []),
        OTHER: ("refused_by_policy", ["UNSIGNED"]),
    }


async def test_a_suspended_recipient_is_refused_as_inactive(
    hub: Hub, sender: Agency, recipient: Agency
) -> None:
    await hub.add(OTHER)
    await hub.agencies.change(OTHER, "suspend")
    result = (await hub.submit(sender, sender.package([RECIPIENT, OTHER]))).json()
    outcomes = {r["recipient"]: (r["outcome"], r["reasons"]) for r in result["recipients"]}
    assert outcomes == {
        RECIPIENT: ("accepted", []),
        OTHER: ("recipient_inactive", ["suspended"]),
    }
