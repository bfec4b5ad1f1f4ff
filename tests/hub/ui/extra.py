"""Documents beyond the reports scenario, for the dashboard's search and trace tests.

- PLAN: H26 to G22 and H49, number 15/KH-UBND, two attachments, signed properly.
  G22 acknowledges it with a receipt its organisation signed (kept); H49 with a
  receipt H26 signed (refused by the hub, the reason in the attempt log).
- NOTICE: H26 to G22 and H49, unsigned; H49 requires compliant documents, so the
  hub refuses it for H49 (refused_by_policy, UNSIGNED); G22 leaves it queued.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from signing.jose import sign_compact
from tests.hub.helpers import HEADER, PDF, Agency, body_of
from tests.hub.reports.scenario import G22, H26, H49

PLAN_SUBJECT = "Kế hoạch tổ chức Hội nghị tổng kết công tác năm 2026"
PLAN_HEADER: dict[str, Any] = {
    **HEADER,
    "code": {"number": "15", "notation": "KH-UBND"},
    "type": "KH",
    "subject": PLAN_SUBJECT,
}
PLAN_FILES = [PDF, ("phu-luc-danh-sach.txt", "text/plain", "Danh sách đại biểu".encode())]
NOTICE_HEADER: dict[str, Any] = {
    **HEADER,
    "code": {"number": "7", "notation": "TB-UBND"},
    "type": "TB",
    "subject": "Thông báo lịch tiếp công dân tháng 12",
}


@dataclass
class Extra:
    plan: str
    notice: str


async def _submit(client: httpx.AsyncClient, agency: Agency, body: bytes) -> str:
    response = await client.post(
        "/v1/documents", content=body,
        headers={**agency.headers, "Content-Type": "application/json"},
    )  # fmt: skip
    assert response.status_code == 202, response.text
    document_id: str = response.json()["document_id"]
    return document_id


async def _ack_with(
    client: httpx.AsyncClient, member: Agency, signer: Agency, document_id: str
) -> None:
    inbox = await client.get("/v1/inbox", params={"limit": 100}, headers=member.headers)
    assert inbox.status_code == 200, inbox.text
    item = next(d for d in inbox.json()["deliveries"] if d["document_id"] == document_id)
    claims = {
        "iss": member.code,
        "delivery_id": item["delivery_id"],
        "document_id": document_id,
        "received_at": "2026-11-30T09:15:00+07:00",
    }
    receipt = sign_compact(claims, signer.org.key, signer.org.full_chain)
    ack = await client.post(
        f"/v1/inbox/{item['delivery_id']}/ack", json={"receipt": receipt}, headers=member.headers
    )
    assert ack.status_code == 200, ack.text


async def add_documents(
    client: httpx.AsyncClient, admin: dict[str, str], agencies: dict[str, Agency]
) -> Extra:
    h26, g22, h49 = agencies[H26], agencies[G22], agencies[H49]
    plan = await _submit(client, h26, body_of(h26.package([G22, H49], header=PLAN_HEADER,
                                                           files=PLAN_FILES)))  # fmt: skip
    await _ack_with(client, g22, g22, plan)
    await _ack_with(client, h49, h26, plan)
    policy = await client.patch(
        f"/v1/admin/members/{H49}", json={"policy": "require_compliant"}, headers=admin
    )
    assert policy.status_code == 200, policy.text
    notice = await _submit(
        client, h26, body_of(h26.package([G22, H49], header=NOTICE_HEADER, signed=False))
    )
    return Extra(plan, notice)
