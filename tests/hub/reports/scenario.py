"""A known scenario for report, dashboard and browser tests, driven through HTTP.

Senders and what they sent (all today):
- H26 (a province): 3 documents to G22, two signed properly (one a `CV`), one unsigned.
- 000.00.01.H26 (a department of H26): 1 document to G22 and H49, official's signature only.
- H49: 1 document to H26, signed properly.
G22 pulls and acknowledges its 4 deliveries and reports arrival (01) of the first one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from signing.package import new_package
from signing.sign import sign_package
from tests.hub.helpers import HEADER, PDF, Agencies, Agency, body_of

G22, H26, DEPT, H49 = "000.00.00.G22", "000.00.00.H26", "000.00.01.H26", "000.00.00.H49"
NAMES = {
    G22: "Văn phòng Chính phủ",
    H26: "UBND tỉnh Hưng Yên",
    DEPT: "Sở Nội vụ tỉnh Hưng Yên",
    H49: "UBND tỉnh Quảng Ninh",
}


@dataclass
class Scenario:
    agencies: dict[str, Agency]
    documents: dict[str, list[str]] = field(default_factory=dict)
    """Document ids per sender, in submission order."""


async def _submit(client: httpx.AsyncClient, agency: Agency, body: bytes) -> str:
    response = await client.post(
        "/v1/documents",
        content=body,
        headers={**agency.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 202, response.text
    document_id: str = response.json()["document_id"]
    return document_id


async def load_scenario(client: httpx.AsyncClient, agencies: Agencies) -> Scenario:
    made: dict[str, Agency] = {}
    for code in (G22, H26, DEPT, H49):
        made[code] = await agencies.add(code)
        response = await client.patch(
            f"/v1/admin/members/{code}", json={"name": NAMES[code]}, headers=agencies.admin
        )
        assert response.status_code == 200, response.text
    scenario = Scenario(made)
    h26, dept, h49, g22 = made[H26], made[DEPT], made[H49], made[G22]
    cv = {**HEADER, "type": "CV"}
    personal_only = sign_package(
        new_package(DEPT, [G22, H49], HEADER, [PDF]),
        dept.official.key,
        dept.official.full_chain,
        "personal",
    )
    bodies = [
        (h26, body_of(h26.package([G22]))),
        (h26, body_of(h26.package([G22], header=cv))),
        (h26, body_of(h26.package([G22], signed=False))),
        (dept, body_of(personal_only)),
        (h49, body_of(h49.package([H26]))),
    ]
    for agency, body in bodies:
        scenario.documents.setdefault(agency.code, []).append(await _submit(client, agency, body))
    response = await client.get("/v1/inbox", params={"limit": 100}, headers=g22.headers)
    assert response.status_code == 200, response.text
    deliveries = response.json()["deliveries"]
    assert len(deliveries) == 4
    for item in deliveries:
        ack = await client.post(f"/v1/inbox/{item['delivery_id']}/ack", headers=g22.headers)
        assert ack.status_code == 200, ack.text
    first = scenario.documents[H26][0]
    response = await client.post(
        f"/v1/documents/{first}/status", json={"code": "01"}, headers=g22.headers
    )
    assert response.status_code in (200, 201), response.text
    return scenario
