"""edXML envelopes from test agencies, and posting them to a hub."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import httpx

from signing.edxml import package_to_edxml, sign_envelope
from signing.workdays import VIETNAM_TZ
from tests.hub.helpers import HEADER, PDF, Agency

XML = {"Content-Type": "application/xml"}


def sdk_document_id(agency: Agency, number: str = "274", notation: str = "QĐ-UBND") -> str:
    """A DocumentId as the public SDKs write it: `OrganId,yyyy/MM/dd,Number/Notation`."""
    return f"{agency.code},2024/03/12,{number}/{notation}"


def envelope(
    agency: Agency,
    recipients: Sequence[str],
    *,
    document_id: str | None = None,
    header: dict[str, Any] | None = None,
    files: Sequence[tuple[str, str, bytes]] = (PDF,),
    signed: bool = True,
    timestamp: dt.datetime | None = None,
    earlier_document_id: str | None = None,
) -> bytes:
    """An edXML envelope from `agency`, signed by its organisation (XML-DSig) unless told."""
    pkg = agency.package(recipients, signed=False, header=header or HEADER, files=files)
    when = timestamp or dt.datetime.now(VIETNAM_TZ).replace(microsecond=0) - dt.timedelta(seconds=5)
    data = package_to_edxml(
        pkg, document_id=document_id, timestamp=when, earlier_document_id=earlier_document_id
    )
    return sign_envelope(data, agency.org.key, agency.org.full_chain) if signed else data


async def post_edxml(
    client: httpx.AsyncClient, agency: Agency, data: bytes, **headers: str
) -> httpx.Response:
    return await client.post(
        "/v1/documents", content=data, headers={**agency.headers, **XML, **headers}
    )
