"""End to end: edXML members and JSON members exchange documents both ways, by push and by
pull, with real nodes on loopback; each node stores what it receives in its own format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from member_node.clerk import ClerkRules
from member_node.simulation.launcher import launch
from member_node.simulation.provision import NodeSpec
from signing.edxml import package_id_for, read_hub_export
from tests.integration.helpers import HEADER, eventually

FAST_CLERK = ClerkRules(steps=(("03", 0.05), ("06", 0.05)))
JSON_PUSH, JSON_PULL, EDXML_PUSH, EDXML_PULL = (
    "000.00.00.G22",
    "000.00.00.H62",
    "000.00.00.H23",
    "000.00.00.H49",
)
SPECS = [
    NodeSpec(JSON_PUSH, "Văn phòng Chính phủ", kind="ministerial_agency", clerk=FAST_CLERK),
    NodeSpec(JSON_PULL, "UBND tỉnh Vĩnh Phúc", kind="province", mode="pull", clerk=FAST_CLERK),
    NodeSpec(
        EDXML_PUSH, "UBND tỉnh Hải Dương", kind="province", clerk=FAST_CLERK, wire_format="edxml"
    ),
    NodeSpec(
        EDXML_PULL,
        "UBND tỉnh Quảng Ninh",
        kind="province",
        mode="pull",
        clerk=FAST_CLERK,
        wire_format="edxml",
    ),
]


async def _held(network: Any, code: str) -> dict[str, dict[str, Any]]:
    async with network.node_http(code) as http:
        response = await http.get("/local/inbox", params={"limit": 1000})
    assert response.status_code == 200, response.text
    return {d["id"]: d for d in response.json()["documents"]}


async def test_edxml_and_json_members_exchange_both_ways(tmp_path: Path, database_url: str) -> None:
    everyone = [JSON_PUSH, JSON_PULL, EDXML_PUSH, EDXML_PULL]
    async with launch(
        tmp_path / "net",
        SPECS,
        hub_settings={"delivery_poll_seconds": 0.2},
        poll_interval=0.3,
        database_url=database_url,
    ) as network:
        # JSON in, to every other member: edXML members get hub-signed edXML
        async with network.client(JSON_PUSH) as office:
            from_json = await office.send([c for c in everyone if c != JSON_PUSH], HEADER)
        # edXML in (an SDK-style DocumentId), to every other member
        async with network.client(EDXML_PULL) as province:
            document_id = f"{EDXML_PULL},2019/03/12,12/CV-UBND"
            envelope = province.build_edxml(
                [c for c in everyone if c != EDXML_PULL], HEADER, document_id=document_id
            )
            from_edxml = await province.send_edxml(envelope)
            assert from_edxml.document_id == package_id_for(EDXML_PULL, document_id)
            # the official's signature would be in the PDF (PAdES); here only the seal
            assert from_edxml.verdict.violations == ["NO_PERSONAL_SIGNATURE"]
            assert await province.edxml(from_edxml.document_id, original=True) == envelope

        async def completed(code: str, document: str) -> bool:
            async with network.client(code) as sender:
                trace = await sender.trace(document)
            return all(d.state == "completed" for d in trace.deliveries)

        await eventually(lambda: completed(JSON_PUSH, from_json.document_id))
        await eventually(lambda: completed(EDXML_PULL, from_edxml.document_id))

        for code in everyone:
            held = await _held(network, code)
            expected = {from_json.document_id, from_edxml.document_id} - {
                from_json.document_id if code == JSON_PUSH else "",
                from_edxml.document_id if code == EDXML_PULL else "",
            }
            assert set(held) == expected, code
            wanted = "edxml" if code in (EDXML_PUSH, EDXML_PULL) else "json"
            assert {d["format"] for d in held.values()} == {wanted}, code

        # an edXML node keeps the XML it was given, signed by the hub
        async with network.node_http(EDXML_PUSH) as http:
            stored = (await http.get(f"/local/documents/{from_json.document_id}")).json()
        assert stored["format"] == "edxml"
        read = read_hub_export(
            stored["edxml"].encode(), network.identity(EDXML_PUSH).hub_certificate
        )
        assert read.hub_signature_valid
        assert read.package.header.subject == HEADER["subject"]

        # the edXML sender heard every status as an edXML message (pull)
        async with network.client(EDXML_PULL) as province:
            page = await province.status_updates()
        mine = [u for u in page.updates if u.document_id == from_edxml.document_id]
        assert mine and all(u.edxml for u in mine)
