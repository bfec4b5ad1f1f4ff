"""The exchanges the hub's OpenAPI examples come from, played against a real hub.

The sender is the published test vector's agency (docs/vectors: its CA, its
organisation key, its signed package), so the documented submission is a real,
verifiable one. `play` returns every exchange keyed by `METHOD path STATUS`;
`tests/hub/api/test_examples.py` replays it and compares with the examples in
`hub/api/openapi_examples.json`. To write that file again after a change:

    .venv/bin/python -m tests.hub.api.openapi_scenario
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from hub.api.examples import EXAMPLES_FILE
from hub.delivery.worker import DeliveryWorker
from hub.eventlog.sealer import hub_sealer
from hub.protocol import CURSOR_HEADER, DELIVERY_ID_HEADER
from signing.certs import cert_to_pem, load_certificate
from signing.edxml import (
    DocumentRef,
    EdxmlStatus,
    package_id_for,
    package_to_edxml,
    sign_envelope,
    status_to_edxml,
)
from signing.jose import mint_token, sign_compact
from signing.keys import load_private_key
from signing.package import Package
from signing.pki import CertificateAuthority, IssuedCertificate
from tests.hub.api.scenario_hub import (
    HUB_ID,
    VECTORS,
    Recorder,
    running_hub,
    write_examples,
)

DOCUMENT_ID = "3f0c5b6e-2c1a-4e8b-9a57-0d2f6c1b7e42"
"""The test vector package's id."""
EDXML_DOCUMENT_ID = "000.00.00.H26,2026/03/12,274/QĐ-UBND"
"""The edXML envelope's DocumentId, as the SDKs write it; the hub's id is its uuid5."""
EDXML_PACKAGE_ID = package_id_for("000.00.00.H26", EDXML_DOCUMENT_ID)
EDXML_SENT_AT = dt.datetime(2026, 3, 12, 14, 5, tzinfo=dt.timezone(dt.timedelta(hours=7)))
SENDER, PUSHED, PULLED, SPARE = "000.00.00.H26", "000.00.00.G22", "000.00.00.H49", "000.00.01.H49"
EDXML_PULLED = "000.00.02.H49"
"""A pull member that receives edXML: it collects the bare edXML answers."""
XML = "application/xml"


def _token(key: Any, cert: Any, code: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(key, cert, iss=code, aud=HUB_ID)}"}


async def play(
    client: httpx.AsyncClient,
    app: Any,
    admin: dict[str, str],
    ca: Any,
    documented: dict[str, dict[str, Any]] | None = None,
) -> Recorder:
    """Every documented exchange, in an order where each has what it needs.

    With `documented` (the recorded examples), the XML bodies sent are the documented
    ones, byte for byte, so that replaying shows the hub accepts exactly what the
    documentation shows (a new envelope would carry a new signature value)."""
    rec = Recorder(client)
    org_cert = load_certificate(VECTORS / "org-es256.crt")
    sender = _token(load_private_key(VECTORS / "org-es256.key"), org_cert, SENDER)
    await rec.call(
        "POST",
        "/v1/admin/members",
        "/v1/admin/members",
        headers=admin,
        json_body={"code": SENDER, "name": "UBND tỉnh Hưng Yên", "kind": "province"},
    )
    await rec.call(
        "POST",
        f"/v1/admin/members/{SENDER}/certificates",
        "/v1/admin/members/{code}/certificates",
        headers=admin,
        json_body={"certificate": cert_to_pem(org_cert).decode()},
    )
    members: dict[str, IssuedCertificate] = {}
    for code, body in (
        (PUSHED, {"delivery_mode": "push", "endpoint": "https://dms.vpcp.example/lienthong"}),
        (PULLED, {}),
        (SPARE, {}),
        (EDXML_PULLED, {"wire_format": "edxml"}),
    ):
        created = await rec.call(
            "POST",
            "/v1/admin/members",
            "",
            headers=admin,
            record=False,
            json_body={"code": code, "name": f"Agency {code}", **body},
        )
        assert created.status_code == 201, created.text
        members[code] = ca.issue("organization", code, f"Agency {code}")
        added = await client.post(
            f"/v1/admin/members/{code}/certificates",
            json={"certificate": cert_to_pem(members[code].cert).decode()},
            headers=admin,
        )
        assert added.status_code == 201, added.text
    pulled = _token(members[PULLED].key, members[PULLED].cert, PULLED)
    await _registry(rec, admin, ca)
    package = json.loads((VECTORS / "package-signed-es256.json").read_text())
    submitted = await rec.call(
        "POST", "/v1/documents", "/v1/documents", headers=sender, json_body=package
    )
    assert submitted.status_code == 202, submitted.text
    again = await rec.call(
        "POST", "/v1/documents", "/v1/documents", headers=sender, json_body=package
    )
    assert again.status_code == 200, again.text
    document = package["id"]
    doc_path = "/v1/documents/{document_id}"
    await rec.call("GET", f"/v1/documents/{document}", doc_path, headers=sender)
    batch = await rec.call("GET", "/v1/inbox", "/v1/inbox", headers=pulled, params={"limit": 10})
    delivery = batch.json()["deliveries"][0]["delivery_id"]
    receipt = sign_compact(
        {"iss": PULLED, "document_id": document, "delivery_id": delivery},
        members[PULLED].key,
        [members[PULLED].cert],
    )
    await rec.call(
        "POST",
        f"/v1/inbox/{delivery}/ack",
        "/v1/inbox/{delivery_id}/ack",
        headers=pulled,
        json_body={"receipt": receipt},
    )
    await rec.call(
        "POST",
        f"/v1/documents/{document}/status",
        doc_path + "/status",
        headers=pulled,
        json_body={"code": "01", "at": "2026-03-12T10:05:00+07:00"},
    )
    await rec.call("GET", "/v1/status-updates", "/v1/status-updates", headers=sender)
    edxml_pulled = _token(members[EDXML_PULLED].key, members[EDXML_PULLED].cert, EDXML_PULLED)
    await _edxml(rec, sender, pulled, documented or {})
    await _edxml_pull(rec, sender, edxml_pulled)
    await rec.call("GET", "/v1/directory", "/v1/directory", headers=sender)
    await _fail_the_push(app)
    await _operators(rec, admin, app)
    await rec.call("POST", f"/v1/documents/{document}/recall", doc_path + "/recall", headers=sender)
    return rec


def _envelope() -> bytes:
    """The test vector's document as a new edXML envelope to the pull members, with a
    DocumentId of the SDKs' form, sealed by the vector's organisation key."""
    package = Package.model_validate_json((VECTORS / "package-unsigned.json").read_bytes())
    package = package.model_copy(
        update={"id": EDXML_PACKAGE_ID, "recipients": [PULLED, EDXML_PULLED]}
    )
    data = package_to_edxml(package, document_id=EDXML_DOCUMENT_ID, timestamp=EDXML_SENT_AT)
    chain = [load_certificate(VECTORS / "org-es256.crt")]
    return sign_envelope(data, load_private_key(VECTORS / "org-es256.key"), chain)


def _status_message() -> bytes:
    """The pull member's 01 about the edXML document, as an edXML status message."""
    ref = DocumentRef(
        organ_id=SENDER,
        document_id=EDXML_DOCUMENT_ID,
        code="274/QĐ-UBND",
        promulgation_date="2026-03-12",
    )
    status = EdxmlStatus(
        document=ref,
        organ_id=PULLED,
        code="01",
        timestamp="2026/03/12 14:20:00",
        organ_name=f"Agency {PULLED}",
    )
    return status_to_edxml(status)


async def _edxml(
    rec: Recorder, sender: dict[str, str], pulled: dict[str, str], documented: dict[str, Any]
) -> None:
    """A DMS speaking edXML: an envelope submitted (answered in XML), sent again under the
    other media type, its export, and the recipient's edXML status message."""

    def body(key: str, make: Callable[[], bytes]) -> bytes:
        found = documented.get(key)
        return found["request"].encode() if found is not None else make()

    envelope = body("POST /v1/documents 202 edxml", _envelope)
    xml = {"Content-Type": "application/xml", "Accept": "application/xml"}
    for media_type, status in (("application/xml", 202), ("application/edxml+xml", 200)):
        answer = await rec.call(
            "POST",
            "/v1/documents",
            "/v1/documents",
            headers={**sender, **xml, "Content-Type": media_type},
            content=envelope,
            label="edxml",
        )
        assert answer.status_code == status, answer.text
        assert f"<DocumentId>{EDXML_PACKAGE_ID}</DocumentId>" in answer.text, answer.text
    document = EDXML_PACKAGE_ID
    doc_path = "/v1/documents/{document_id}"
    await rec.call("GET", f"/v1/documents/{document}/edxml", doc_path + "/edxml", headers=pulled)
    message = body(f"POST {doc_path}/status 200 edxml", _status_message)
    posted = await rec.call(
        "POST",
        f"/v1/documents/{document}/status",
        doc_path + "/status",
        headers={**pulled, "Content-Type": "application/xml"},
        content=message,
        label="edxml",
    )
    assert posted.status_code == 200, posted.text


async def _edxml_pull(rec: Recorder, sender: dict[str, str], member: dict[str, str]) -> None:
    """An edXML member pulling one at a time in XML: the envelope (then nothing pending),
    and, once the sender recalls it, the recall's status message (then nothing new)."""
    bare = {**member, "Accept": XML}
    one = {"limit": 1}
    pulled = await rec.call(
        "GET", "/v1/inbox", "/v1/inbox", headers=bare, params=one, label="edxml"
    )
    assert pulled.headers["content-type"].startswith(XML), pulled.text
    delivery = pulled.headers[DELIVERY_ID_HEADER]
    acked = await rec.client.post(f"/v1/inbox/{delivery}/ack", headers=member)
    assert acked.status_code == 200, acked.text
    empty = await rec.call("GET", "/v1/inbox", "/v1/inbox", headers=bare, params=one)
    assert empty.status_code == 204, empty.text
    recalled = await rec.client.post(f"/v1/documents/{EDXML_PACKAGE_ID}/recall", headers=sender)
    assert recalled.status_code == 200, recalled.text
    updates = "/v1/status-updates"
    status = await rec.call("GET", updates, updates, headers=bare, params=one, label="edxml")
    assert status.headers["content-type"].startswith(XML), status.text
    after = {**one, "after": int(status.headers[CURSOR_HEADER])}
    none = await rec.call("GET", updates, updates, headers=bare, params=after)
    assert none.status_code == 204, none.text


async def _registry(rec: Recorder, admin: dict[str, str], ca: CertificateAuthority) -> None:
    await rec.call("GET", "/v1/admin/members", "/v1/admin/members", headers=admin)
    code_path = "/v1/admin/members/{code}"
    await rec.call("GET", f"/v1/admin/members/{PULLED}", code_path, headers=admin)
    await rec.call(
        "PATCH",
        f"/v1/admin/members/{PULLED}",
        code_path,
        headers=admin,
        json_body={"policy": "reject_invalid"},
    )
    rotated = ca.issue("organization", PUSHED, f"Agency {PUSHED}")
    for action in ("suspend", "reinstate", "revoke"):
        await rec.call(
            "POST", f"/v1/admin/members/{SPARE}/{action}", f"{code_path}/{action}", headers=admin
        )
    await rec.call(
        "POST",
        f"/v1/admin/members/{PUSHED}/certificates/rotate",
        code_path + "/certificates/rotate",
        headers=admin,
        json_body={"certificate": cert_to_pem(rotated.cert).decode(), "signing": True},
    )


async def _fail_the_push(app: Any) -> None:
    """The push to the push member's endpoint fails for good (its endpoint answers 503)."""
    context = app.state.hub
    worker = DeliveryWorker(
        context.settings.model_copy(update={"push_max_attempts": 1}),
        context.sessions,
        context.identity,
        transport=httpx.MockTransport(lambda request: httpx.Response(503)),
    )
    try:
        assert await worker.run_once() == 1
    finally:
        await worker.stop()


async def _operators(rec: Recorder, admin: dict[str, str], app: Any) -> None:
    for path in ("/v1/reports/signature-compliance", "/v1/reports/delivery"):
        await rec.call("GET", path, path, headers=admin)
        await rec.call("GET", path, path, headers=admin, params={"format": "csv"}, label="csv")
    await rec.call("GET", "/metrics", "/metrics", headers={})
    await rec.call("GET", "/v1/admin/changes", "/v1/admin/changes", headers=admin)
    failed = await rec.call("GET", "/v1/admin/deliveries", "/v1/admin/deliveries", headers=admin)
    delivery = failed.json()["deliveries"][0]["delivery_id"]
    troubled = "/v1/admin/deliveries/troubled"
    await rec.call("GET", troubled, troubled, headers=admin)
    found = "/v1/admin/documents"
    await rec.call("GET", found, found, headers=admin, params={"q": "quy chế"})
    await rec.call("GET", f"{found}/{DOCUMENT_ID}", found + "/{document_id}", headers=admin)
    await rec.call(
        "POST",
        f"/v1/admin/deliveries/{delivery}/redrive",
        "/v1/admin/deliveries/{delivery_id}/redrive",
        headers=admin,
    )
    await _fail_the_push(app)  # failed again: the recipient's redrive finds it
    redrive = "/v1/admin/deliveries/redrive"
    await rec.call("POST", redrive, redrive, headers=admin, params={"recipient": PUSHED})
    await rec.call(
        "POST", "/v1/admin/status-pushes/redrive", "/v1/admin/status-pushes/redrive", headers=admin
    )
    await rec.call("GET", "/healthz", "/healthz", headers={})
    await rec.call("GET", "/readyz", "/readyz", headers={})
    context = app.state.hub
    kept = context.settings
    floor = 2 * shutil.disk_usage(kept.data_dir).free  # the disk is (nearly) full
    context.settings = kept.model_copy(update={"min_free_disk_bytes": floor})
    try:
        await rec.call("GET", "/readyz", "/readyz", headers={})
    finally:
        context.settings = kept
    sealer = hub_sealer(context.sessions, context.identity, context.settings)
    await sealer.seal_all()
    await sealer.seal_once(force_head=True)
    await rec.call("GET", "/v1/eventlog/head", "/v1/eventlog/head", headers=admin)
    found = await rec.call(
        "GET",
        "/v1/eventlog/entries",
        "/v1/eventlog/entries",
        headers=admin,
        params={"subject": DOCUMENT_ID},
    )
    accepted = found.json()["entries"][0]["seq"]
    await rec.call(
        "GET",
        f"/v1/eventlog/entries/{accepted}/proof",
        "/v1/eventlog/entries/{n}/proof",
        headers=admin,
    )


async def _write() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with running_hub(Path(tmp)) as (app, client, admin, ca):
            rec = await play(client, app, admin, ca)
    write_examples(rec.exchanges, EXAMPLES_FILE)


if __name__ == "__main__":
    asyncio.run(_write())
