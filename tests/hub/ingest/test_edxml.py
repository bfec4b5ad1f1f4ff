"""edXML in: the same ingest path, ids a DMS can compute, the original kept, hostile input
refused with stable codes, the hub's export verified by xmlsec1, business types."""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import re
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import func, select

from hub.db.models import AttachmentBlob, Document
from hub.ingest.receipts import RECEIPT_XML_NAMESPACE
from signing.certs import cert_to_pem
from signing.edxml import package_id_for, read_hub_export
from signing.jose import verify_compact
from signing.workdays import VIETNAM_TZ
from tests.hub.conftest import Hub
from tests.hub.edxml_helpers import XML, envelope, post_edxml, sdk_document_id
from tests.hub.helpers import HEADER, Agency
from tests.signing.edxml.conftest import DS, needs_xmlsec1, xmlsec1_verify

SENDER, RECIPIENT, STRANGER = "000.00.00.H26", "000.00.00.G22", "000.00.00.K01"
NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"


@pytest.fixture
async def sender(hub: Hub) -> Agency:
    return await hub.add(SENDER)


@pytest.fixture
async def recipient(hub: Hub) -> Agency:
    return await hub.add(RECIPIENT)


async def _stored(hub: Hub) -> tuple[int, int]:
    async with hub.context.sessions() as session:
        documents = await session.scalar(select(func.count()).select_from(Document))
        blobs = await session.scalar(select(func.count()).select_from(AttachmentBlob))
    return int(documents or 0), int(blobs or 0)


async def test_an_envelope_takes_the_json_path(hub: Hub, sender: Agency, recipient: Agency) -> None:
    document_id = sdk_document_id(sender)
    data = envelope(sender, [RECIPIENT], document_id=document_id)
    response = await post_edxml(hub.client, sender, data)
    assert response.status_code == 202, response.text
    result = response.json()
    assert result["document_id"] == package_id_for(SENDER, document_id)
    (facts,) = [f for f in result["verdict"]["signatures"] if f["format"] == "xmldsig"]
    assert facts["kind"] == "organization" and facts["signature_valid"]
    assert facts["agency_code"] == SENDER
    # the official's signature belongs in the PDF (PAdES); this PDF has none
    assert result["verdict"]["violations"] == ["NO_PERSONAL_SIGNATURE"]
    assert [r["outcome"] for r in result["recipients"]] == ["accepted"]
    verify_compact(result["receipt"], hub.context.identity.certificate)

    # re-signed (ECDSA differs every time) or stamped anew: a resend, the same receipt
    again = envelope(sender, [RECIPIENT], document_id=document_id)
    assert again != data
    later = dt.datetime.now(VIETNAM_TZ).replace(microsecond=0) - dt.timedelta(seconds=1)
    restamped = envelope(sender, [RECIPIENT], document_id=document_id, timestamp=later)
    for resend in (again, restamped, data):
        repeated = await post_edxml(hub.client, sender, resend)
        assert repeated.status_code == 200, repeated.text
        assert repeated.json()["receipt"] == result["receipt"]

    # other content under the same DocumentId is a conflict
    changed = envelope(
        sender, [RECIPIENT], document_id=document_id, header={**HEADER, "subject": "Khác"}
    )
    conflict = await post_edxml(hub.client, sender, changed)
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "document_id_conflict"

    # the trace and the recipient's view are those of any document
    trace = (await hub.trace(recipient, result["document_id"])).json()
    assert trace["wire_format"] == "edxml"
    assert trace["manifest_digest"] == result["manifest_digest"]


async def test_json_and_edxml_of_one_package_are_one_document(
    hub: Hub, sender: Agency, recipient: Agency
) -> None:
    pkg = sender.package([RECIPIENT])
    first = await hub.submit(sender, pkg)
    assert first.status_code == 202
    # the package as edXML (its DocumentId is the package id) has the same manifest
    from signing.edxml import package_to_edxml, sign_envelope

    data = sign_envelope(package_to_edxml(pkg), sender.org.key, sender.org.full_chain)
    again = await post_edxml(hub.client, sender, data)
    assert again.status_code == 200, again.text
    assert again.json()["receipt"] == first.json()["receipt"]


async def test_the_receipt_as_xml(hub: Hub, sender: Agency, recipient: Agency) -> None:
    data = envelope(sender, [RECIPIENT], document_id=sdk_document_id(sender))
    response = await post_edxml(hub.client, sender, data, Accept="application/xml")
    assert response.status_code == 202
    assert response.headers["content-type"].startswith("application/xml")
    root = etree.fromstring(response.content)
    ns = {"r": RECEIPT_XML_NAMESPACE}
    token = root.findtext("r:Token", namespaces=ns)
    assert token is not None
    claims = verify_compact(token, hub.context.identity.certificate)
    assert root.findtext("r:DocumentId", namespaces=ns) == claims["document_id"]
    assert root.findtext("r:Recipients/r:Recipient/r:OrganId", namespaces=ns) == RECIPIENT
    repeated = await post_edxml(hub.client, sender, data, Accept="application/xml")
    assert repeated.status_code == 200
    assert etree.fromstring(repeated.content).findtext("r:Token", namespaces=ns) == token
    # JSON still answers JSON when asked
    plain = await post_edxml(hub.client, sender, data, Accept="application/json")
    assert plain.json()["receipt"] == token


async def test_original_and_export(
    hub: Hub, sender: Agency, recipient: Agency, tmp_path: Path
) -> None:
    hub.agencies.pki.ca  # noqa: B018
    data = envelope(sender, [RECIPIENT], document_id=sdk_document_id(sender))
    document_id = (await post_edxml(hub.client, sender, data)).json()["document_id"]
    for who in (sender, recipient):
        original = await hub.client.get(
            f"/v1/documents/{document_id}/edxml", params={"original": "1"}, headers=who.headers
        )
        assert original.status_code == 200
        assert original.content == data  # byte for byte
        exported = await hub.client.get(f"/v1/documents/{document_id}/edxml", headers=who.headers)
        assert exported.status_code == 200
        assert exported.headers["content-type"].startswith("application/xml")
        read = read_hub_export(exported.content, hub.context.identity.certificate)
        assert read.hub_signature_valid, read.errors
    stranger = await hub.add(STRANGER)
    hidden = await hub.client.get(f"/v1/documents/{document_id}/edxml", headers=stranger.headers)
    assert hidden.status_code == 404 and hidden.json()["code"] == "document_not_found"

    # a JSON-born document is exported too, but has no original envelope
    pkg = sender.package([RECIPIENT])
    assert (await hub.submit(sender, pkg)).status_code == 202
    exported = await hub.client.get(f"/v1/documents/{pkg.id}/edxml", headers=recipient.headers)
    assert exported.status_code == 200
    read = read_hub_export(exported.content, hub.context.identity.certificate)
    assert read.hub_signature_valid and read.package.id == pkg.id
    assert read.package.header.subject == pkg.header.subject
    missing = await hub.client.get(
        f"/v1/documents/{pkg.id}/edxml", params={"original": "1"}, headers=sender.headers
    )
    assert missing.status_code == 404 and missing.json()["code"] == "no_original_edxml"


@needs_xmlsec1
async def test_xmlsec1_verifies_the_export_as_served(
    hub: Hub, sender: Agency, recipient: Agency, tmp_path: Path
) -> None:
    data = envelope(sender, [RECIPIENT], document_id=sdk_document_id(sender))
    document_id = (await post_edxml(hub.client, sender, data)).json()["document_id"]
    pkg = sender.package([RECIPIENT])
    assert (await hub.submit(sender, pkg)).status_code == 202
    root_pem = tmp_path / "root.pem"
    root_pem.write_bytes(cert_to_pem(hub.agencies.pki.ca.certificate))
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    for doc in (document_id, pkg.id):
        exported = await hub.client.get(f"/v1/documents/{doc}/edxml", headers=recipient.headers)
        path = tmp_path / f"{doc}.xml"
        path.write_bytes(exported.content)
        result = xmlsec1_verify(path, root_pem, now)
        assert result.returncode == 0, result.stderr
        # one altered byte and it fails
        path.write_bytes(exported.content.replace(b"<edXML:Subject>", b"<edXML:Subject>X", 1))
        assert xmlsec1_verify(path, root_pem, now).returncode != 0


def _signed_tree(agency: Agency) -> etree._Element:
    return etree.fromstring(envelope(agency, [RECIPIENT], document_id=sdk_document_id(agency)))


def _bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _wrapped_reference(agency: Agency) -> bytes:
    root = _signed_tree(agency)
    next(root.iter(f"{{{NS}}}MessageHeader")).set("Id", "mh")
    next(root.iter(f"{{{DS}}}Reference")).set("URI", "#mh")
    return _bytes(root)


def _second_header(agency: Agency) -> bytes:
    root = _signed_tree(agency)
    message = next(root.iter(f"{{{NS}}}MessageHeader"))
    forged = copy.deepcopy(message)
    next(forged.iter(f"{{{NS}}}Subject")).text = "Forged"
    message.addprevious(forged)
    return _bytes(root)


def _not_base64(agency: Agency) -> bytes:
    data = envelope(agency, [RECIPIENT], signed=False)
    start = data.index(b"<edXML:ContentTransferEncoded>") + 30
    return data[:start] + b"*not base64*" + data[start:]


def _xsd_invalid(agency: Agency) -> bytes:
    data = envelope(agency, [RECIPIENT], signed=False)
    return data.replace(b"<edXML:edXMLHeader>", b"<edXML:edXMLHeader><edXML:Surprise/>")


_LAUGHS = "".join(
    ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
)
HOSTILE = {
    "not well-formed": (lambda a: b"<edXML><unclosed></edXML>", 400, "edxml_not_well_formed"),
    "entity bomb": (
        lambda a: (
            f"<?xml version='1.0'?><!DOCTYPE edXML [{_LAUGHS}]><edXML>&lol9;</edXML>".encode()
        ),
        422,
        "edxml_entity_forbidden",
    ),
    "xxe": (
        lambda a: (
            '<?xml version="1.0"?><!DOCTYPE edXML [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            f'<edXML xmlns="{NS}">&x;</edXML>'
        ).encode(),
        422,
        "edxml_entity_forbidden",
    ),
    "dtd": (
        lambda a: b"<!DOCTYPE edXML [<!ELEMENT edXML ANY>]><edXML/>",
        422,
        "edxml_dtd_forbidden",
    ),
    "30 MB text node": (
        lambda a: b"<edXML>" + b"A" * (30 * 1024 * 1024) + b"</edXML>",
        413,
        "edxml_too_large",
    ),
    "xsd": (_xsd_invalid, 422, "edxml_schema_invalid"),
    "signature wrapping": (_wrapped_reference, 422, "edxml_signature_wrapping"),
    "second MessageHeader": (_second_header, 422, "edxml_duplicate_header"),
    "not base64": (_not_base64, 422, "edxml_bad_base64"),
    "DocumentId too long": (
        lambda a: envelope(a, [RECIPIENT], document_id="x" * 300),
        422,
        "edxml_invalid_value",
    ),
}


@pytest.mark.parametrize("case", list(HOSTILE))
async def test_hostile_envelopes_are_refused_and_nothing_is_stored(
    hub: Hub, sender: Agency, recipient: Agency, case: str
) -> None:
    make, status, code = HOSTILE[case]
    for media_type in ("application/xml", "application/edxml+xml"):
        response = await hub.client.post(
            "/v1/documents",
            content=make(sender),
            headers={**sender.headers, "Content-Type": media_type},
        )
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        problem = response.json()
        assert problem["code"] == code
        assert "root:" not in problem["detail"]
    assert await _stored(hub) == (0, 0)


async def test_an_envelope_from_someone_else_is_refused(
    hub: Hub, sender: Agency, recipient: Agency
) -> None:
    data = envelope(sender, [RECIPIENT])
    response = await post_edxml(hub.client, recipient, data)
    assert response.status_code == 403 and response.json()["code"] == "sender_mismatch"
    assert await _stored(hub) == (0, 0)


async def test_a_signature_of_another_organisation_is_recorded_not_refused(
    hub: Hub, sender: Agency, recipient: Agency
) -> None:
    pkg = sender.package([RECIPIENT], signed=False)
    from signing.edxml import package_to_edxml, sign_envelope

    data = sign_envelope(
        package_to_edxml(pkg, timestamp=dt.datetime.now(VIETNAM_TZ) - dt.timedelta(seconds=5)),
        recipient.org.key,
        recipient.org.full_chain,
    )
    response = await post_edxml(hub.client, sender, data)
    assert response.status_code == 202
    assert "ORGANIZATION_MISMATCH" in response.json()["verdict"]["violations"]


async def test_update_replacement_and_revocation(
    hub: Hub, sender: Agency, recipient: Agency
) -> None:
    first_id = sdk_document_id(sender, number="1")
    first = (
        await post_edxml(hub.client, sender, envelope(sender, [RECIPIENT], document_id=first_id))
    ).json()

    # 2, update: resends the DocumentId; the hub links it to the first
    update_header = {
        **HEADER,
        "subject": "Sửa đổi",
        "business": {"type": 2, "document_id": first_id},
    }
    update = await post_edxml(
        hub.client, sender, envelope(sender, [RECIPIENT], header=update_header)
    )
    assert update.status_code == 202, update.text
    update_id = update.json()["document_id"]
    assert update_id != first["document_id"]

    # 3, replacement: a new DocumentId naming the replaced one
    replacement = await post_edxml(
        hub.client,
        sender,
        envelope(
            sender,
            [RECIPIENT],
            document_id=sdk_document_id(sender, number="3"),
            header={**HEADER, "subject": "Thay thế", "business": {"type": 3}},
            earlier_document_id=first_id,
        ),
    )
    assert replacement.status_code == 202, replacement.text
    replacement_id = replacement.json()["document_id"]

    trace = (await hub.trace(recipient, first["document_id"])).json()
    assert trace["earlier"] is None
    assert {(d["document_id"], d["business_type"]) for d in trace["later"]} == {
        (update_id, 2),
        (replacement_id, 3),
    }
    for later, kind in ((update_id, 2), (replacement_id, 3)):
        linked = (await hub.trace(sender, later)).json()
        assert linked["earlier"] == {"document_id": first["document_id"], "business_type": kind}

    # the compliance report counts them
    report = await hub.client.get("/v1/reports/signature-compliance", headers=hub.admin)
    assert report.status_code == 200, report.text
    total = report.json()["total"]
    assert (total["updates"], total["replacements"]) == (1, 1)

    # 1, revocation: the hub recalls the first document
    revocation_header = {
        **HEADER,
        "subject": "Thu hồi",
        "business": {"type": 1, "document_id": first_id},
    }
    revoked = await post_edxml(
        hub.client, sender, envelope(sender, [RECIPIENT], header=revocation_header)
    )
    assert revoked.status_code == 202, revoked.text
    trace = (await hub.trace(recipient, first["document_id"])).json()
    assert trace["recalled_at"] is not None
    assert [s["code"] for s in trace["deliveries"][0]["statuses"]] == ["13"]
    assert trace["deliveries"][0]["state"] == "recalled"


async def test_a_revocation_of_someone_elses_document_recalls_nothing(
    hub: Hub, sender: Agency, recipient: Agency
) -> None:
    theirs = sdk_document_id(recipient, number="9")
    data = envelope(recipient, [SENDER], document_id=theirs)
    original = (await post_edxml(hub.client, recipient, data)).json()
    # the sender cannot name the recipient's document: the id is over its own code
    header = {**HEADER, "business": {"type": 1, "document_id": theirs}}
    response = await post_edxml(hub.client, sender, envelope(sender, [RECIPIENT], header=header))
    assert response.status_code == 202
    trace = (await hub.trace(recipient, original["document_id"])).json()
    assert trace["recalled_at"] is None


async def test_xml_media_types(hub: Hub, sender: Agency, recipient: Agency) -> None:
    data = envelope(sender, [RECIPIENT])
    response = await hub.client.post(
        "/v1/documents",
        content=data,
        headers={**sender.headers, "Content-Type": "application/edxml+xml; charset=utf-8"},
    )
    assert response.status_code == 202
    # XML sent as JSON is not JSON
    as_json = await hub.client.post(
        "/v1/documents",
        content=data,
        headers={**sender.headers, "Content-Type": "application/json"},
    )
    assert as_json.status_code == 400
    assert XML  # the helpers' header


async def test_openapi_describes_edxml_and_every_reference_resolves(hub: Hub) -> None:
    spec = (await hub.client.get("/openapi.json")).json()
    paths = spec["paths"]
    for media in ("application/json", "application/xml", "application/edxml+xml"):
        assert media in paths["/v1/documents"]["post"]["requestBody"]["content"]
    status_body = paths["/v1/documents/{document_id}/status"]["post"]["requestBody"]["content"]
    assert {"application/json", "application/xml"} <= set(status_body)
    assert "application/xml" in str(paths["/v1/documents/{document_id}/edxml"]["get"])
    schemas = spec["components"]["schemas"]
    refs = re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(spec))
    assert refs and all(ref in schemas for ref in refs), sorted(set(refs) - set(schemas))


async def test_mangled_envelopes_and_statuses_never_answer_5xx(
    hub: Hub, sender: Agency, recipient: Agency
) -> None:
    import random

    rng = random.Random(int(os.environ.get("FUZZ_SEED", "14")))
    data = envelope(sender, [RECIPIENT], document_id=sdk_document_id(sender))
    accepted = (await post_edxml(hub.client, sender, data)).json()["document_id"]
    from signing.edxml import DocumentRef, EdxmlStatus, status_to_edxml

    status = status_to_edxml(
        EdxmlStatus(
            document=DocumentRef(organ_id=SENDER, document_id=sdk_document_id(sender)),
            organ_id=RECIPIENT,
            code="01",
            timestamp="2024/03/12 10:00:00",
        )
    )
    for original, post in (
        (data, lambda body: post_edxml(hub.client, sender, body)),
        (
            status,
            lambda body: hub.client.post(
                f"/v1/documents/{accepted}/status",
                content=body,
                headers={**recipient.headers, **XML},
            ),
        ),
    ):
        for _ in range(int(os.environ.get("FUZZ_ROUNDS", "60"))):
            body = bytearray(original)
            for _ in range(rng.randint(1, 4)):
                at = rng.randrange(len(body))
                if chr(body[at]).isalnum() and rng.random() < 0.5:
                    # well-formed still: a letter or digit for another, deep into the reading
                    body[at] = rng.choice(b"AZaz09+/=")
                elif rng.random() < 0.3:
                    del body[at : at + rng.randint(1, 40)]
                else:
                    body[at] = rng.choice(b"<>/&;=\"' \n\x00\xff")
            response = await post(bytes(body))
            assert response.status_code < 500, response.text
            assert response.headers["content-type"].startswith(
                ("application/json", "application/problem+json")
            )
