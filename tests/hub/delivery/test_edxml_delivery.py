"""edXML out: members whose wire format is edXML receive hub-signed edXML by push and by
pull, and statuses as edXML status messages; edXML status messages in, with the JSON rules."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from hub.db.models import StatusUpdateRow
from signing.edxml import (
    DocumentRef,
    EdxmlStatus,
    parse_status,
    read_hub_export,
    status_to_edxml,
)
from signing.package import manifest_digest
from signing.workdays import VIETNAM_TZ
from tests.hub.conftest import Hub
from tests.hub.edxml_helpers import XML, envelope, post_edxml, sdk_document_id
from tests.hub.helpers import Agency

JSON_SENDER, EDXML_PULL, EDXML_PUSH, STRANGER = (
    "000.00.00.H26",
    "000.00.00.G22",
    "000.00.00.H49",
    "000.00.00.K01",
)


@pytest.fixture
async def sender(hub: Hub) -> Agency:
    return await hub.add(JSON_SENDER)


@pytest.fixture
async def puller(hub: Hub) -> Agency:
    return await hub.add(EDXML_PULL, wire_format="edxml")


@pytest.fixture
async def pushed(hub: Hub) -> Agency:
    return await hub.add(EDXML_PUSH, mode="push", wire_format="edxml")


def status_message(
    reporter: Agency, sender: str, document_id: str, code: str, description: str | None = None
) -> bytes:
    return status_to_edxml(
        EdxmlStatus(
            document=DocumentRef(organ_id=sender, document_id=document_id, code="274/QĐ-UBND"),
            organ_id=reporter.code,
            code=code,  # type: ignore[arg-type]
            description=description,
            timestamp=dt.datetime.now(VIETNAM_TZ).replace(microsecond=0).isoformat(),
        )
    )


async def post_status(hub: Hub, who: Agency, document_id: str, data: bytes) -> dict[str, object]:
    response = await hub.client.post(
        f"/v1/documents/{document_id}/status", content=data, headers={**who.headers, **XML}
    )
    return {"status": response.status_code, **response.json()}


async def test_pull_as_edxml_items_and_bare(hub: Hub, sender: Agency, puller: Agency) -> None:
    pkgs = [sender.package([EDXML_PULL]) for _ in range(2)]
    for pkg in pkgs:
        assert (await hub.submit(sender, pkg)).status_code == 202
    hub_cert = hub.context.identity.certificate

    bare = await hub.client.get(
        "/v1/inbox", params={"limit": 1}, headers={**puller.headers, "Accept": "application/xml"}
    )
    assert bare.status_code == 200 and bare.headers["content-type"].startswith("application/xml")
    delivery_id = bare.headers["lienthong-delivery-id"]
    read = read_hub_export(bare.content, hub_cert)
    assert read.hub_signature_valid
    assert bare.headers["lienthong-document-id"] == read.package.id == pkgs[0].id
    assert manifest_digest(read.package) == manifest_digest(pkgs[0])
    acked = await hub.client.post(f"/v1/inbox/{delivery_id}/ack", headers=puller.headers)
    assert acked.status_code == 200 and acked.json()["state"] == "delivered"

    batch = (await hub.client.get("/v1/inbox", headers=puller.headers)).json()
    (item,) = batch["deliveries"]
    assert "package" not in item and item["document_id"] == pkgs[1].id
    read = read_hub_export(item["edxml"].encode(), hub_cert)
    assert read.hub_signature_valid and manifest_digest(read.package) == manifest_digest(pkgs[1])
    assert item["verdict"]["compliant"] is True and item["receipt"]

    nothing = await hub.client.get(
        "/v1/inbox", params={"limit": 1}, headers={**puller.headers, "Accept": "application/xml"}
    )
    assert nothing.status_code == 204


async def test_push_as_edxml(hub: Hub, sender: Agency, pushed: Agency) -> None:
    pkg = sender.package([EDXML_PUSH])
    assert (await hub.submit(sender, pkg)).status_code == 202
    await hub.worker().run_once()
    (body,) = hub.members.of(EDXML_PUSH)
    assert body["lienthong-document-id"] == pkg.id
    assert body["lienthong-compliant"] == "true" and body["lienthong-violations"] == ""
    read = read_hub_export(body["edxml"].encode(), hub.context.identity.certificate)
    assert read.hub_signature_valid and manifest_digest(read.package) == manifest_digest(pkg)
    trace = (await hub.trace(sender, pkg.id)).json()
    (line,) = trace["deliveries"]
    assert line["state"] == "delivered" and line["delivery_id"] == body["delivery_id"]


async def test_edxml_statuses_in_and_out(
    hub: Hub, sender: Agency, puller: Agency, pushed: Agency
) -> None:
    # an edXML member sends an edXML document to another edXML member (push) and a JSON one
    document_id = sdk_document_id(puller)
    data = envelope(puller, [EDXML_PUSH, JSON_SENDER], document_id=document_id)
    doc = (await post_edxml(hub.client, puller, data)).json()["document_id"]

    # the JSON recipient answers in JSON, the edXML one in edXML: same rules
    assert (await hub.status(sender, doc, "01")).status_code == 200
    arrived = await post_status(
        hub, pushed, doc, status_message(pushed, EDXML_PULL, document_id, "01")
    )
    assert arrived["status"] == 200 and arrived["code"] == "01"
    # 02 needs a reason, as in JSON
    no_reason = await post_status(
        hub, pushed, doc, status_message(pushed, EDXML_PULL, document_id, "02")
    )
    assert (no_reason["status"], no_reason["code"]) == (422, "reason_required")
    # ResponseFor may name the document by its package id too
    accepted = await post_status(hub, pushed, doc, status_message(pushed, EDXML_PULL, doc, "03"))
    assert accepted["status"] == 200

    # the edXML sender hears both as edXML status messages
    page = (await hub.client.get("/v1/status-updates", headers=puller.headers)).json()
    codes = [(u["recipient"], u["code"]) for u in page["updates"]]
    assert codes == [(JSON_SENDER, "01"), (EDXML_PUSH, "01"), (EDXML_PUSH, "03")]
    for update in page["updates"]:
        status = parse_status(update["edxml"].encode())
        assert status.code == update["code"] and status.organ_id == update["recipient"]
        assert status.document.organ_id == EDXML_PULL
        assert status.document.document_id == document_id
        assert status.document.package_id == doc
    bare = await hub.client.get(
        "/v1/status-updates",
        params={"after": 1, "limit": 1},
        headers={**puller.headers, "Accept": "application/xml"},
    )
    assert bare.status_code == 200 and bare.headers["lienthong-cursor"] == "2"
    assert parse_status(bare.content).organ_id == EDXML_PUSH

    # a recall reaches the edXML push member as an edXML status 13, From the sender
    assert (
        await hub.client.post(f"/v1/documents/{doc}/recall", headers=puller.headers)
    ).status_code == 200
    await hub.worker().run_once()
    (pushed_status,) = hub.members.of(EDXML_PUSH, "status")
    recall = parse_status(pushed_status["edxml"].encode())
    assert recall.code == "13" and recall.organ_id == EDXML_PULL
    assert pushed_status["lienthong-recipient"] == EDXML_PUSH


async def test_bad_status_messages(
    hub: Hub, sender: Agency, puller: Agency, pushed: Agency
) -> None:
    document_id = sdk_document_id(puller)
    data = envelope(puller, [EDXML_PUSH], document_id=document_id)
    doc = (await post_edxml(hub.client, puller, data)).json()["document_id"]
    stranger = await hub.add(STRANGER)

    async def count() -> int:
        async with hub.context.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(StatusUpdateRow)) or 0)

    cases = [
        # a status message for another organisation's document
        (
            stranger,
            status_message(stranger, EDXML_PULL, document_id, "01"),
            404,
            "document_not_found",
        ),
        # From someone else than the caller
        (
            pushed,
            status_message(stranger, EDXML_PULL, document_id, "01"),
            403,
            "status_from_mismatch",
        ),
        # naming another document than the URL's
        (
            pushed,
            status_message(pushed, EDXML_PULL, "other", "01"),
            422,
            "status_document_mismatch",
        ),
        (pushed, status_message(pushed, EDXML_PULL, document_id, "13"), 422, "status_not_allowed"),
        (pushed, b"<edXML><unclosed>", 400, "edxml_not_well_formed"),
        (pushed, data, 422, "edxml_not_status"),
        (pushed, b"<!DOCTYPE edXML [<!ELEMENT edXML ANY>]><edXML/>", 422, "edxml_dtd_forbidden"),
        (
            pushed,
            status_message(pushed, EDXML_PULL, "LONG", "01").replace(b"LONG", b"x" * 300),
            422,
            "edxml_invalid_value",
        ),
    ]
    for who, body, status, code in cases:
        answer = await post_status(hub, who, doc, body)
        assert (answer["status"], answer["code"]) == (status, code), answer
    assert await count() == 0
    # a status before arrival keeps the JSON rule
    early = await post_status(
        hub, pushed, doc, status_message(pushed, EDXML_PULL, document_id, "03")
    )
    assert (early["status"], early["code"]) == (409, "status_before_arrival")


async def test_the_registry_keeps_the_wire_format(hub: Hub, puller: Agency) -> None:
    member = (await hub.client.get(f"/v1/admin/members/{EDXML_PULL}", headers=hub.admin)).json()
    assert member["wire_format"] == "edxml"
    changed = await hub.client.patch(
        f"/v1/admin/members/{EDXML_PULL}", json={"wire_format": "json"}, headers=hub.admin
    )
    assert changed.status_code == 200 and changed.json()["wire_format"] == "json"
    bad = await hub.client.patch(
        f"/v1/admin/members/{EDXML_PULL}", json={"wire_format": "xml"}, headers=hub.admin
    )
    assert bad.status_code == 422
    directory = await hub.client.get("/v1/directory", headers=puller.headers)
    assert directory.status_code == 200
    from signing.jose import unverified_claims

    token = directory.text.strip()
    if directory.headers["content-type"].startswith("application/json"):
        token = directory.json()["directory"]
    claims = unverified_claims(token)
    (entry,) = [m for m in claims["members"] if m["code"] == EDXML_PULL]
    assert entry["wire_format"] == "json"


async def test_a_package_xml_cannot_carry(
    hub: Hub, sender: Agency, puller: Agency, pushed: Agency
) -> None:
    from tests.hub.helpers import HEADER

    pkg = sender.package([EDXML_PULL, EDXML_PUSH], header={**HEADER, "subject": "Về việc\x01"})
    response = await hub.submit(sender, pkg)
    if response.status_code != 202:
        pytest.skip("the JSON package refuses control characters itself")
    # pulled: the JSON item rather than nothing
    (item,) = (await hub.client.get("/v1/inbox", headers=puller.headers)).json()["deliveries"]
    assert item["package"]["id"] == pkg.id and "edxml" not in item
    # pushed: the attempt fails with the reason, for an operator to see
    await hub.worker().run_once()
    trace = (await hub.trace(sender, pkg.id)).json()
    (line,) = [d for d in trace["deliveries"] if d["recipient"] == EDXML_PUSH]
    assert "edxml_unmappable" in line["attempt_log"][0]["detail"]
    exported = await hub.client.get(f"/v1/documents/{pkg.id}/edxml", headers=sender.headers)
    assert exported.status_code == 422 and exported.json()["code"] == "edxml_unmappable"
