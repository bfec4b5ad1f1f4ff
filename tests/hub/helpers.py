"""Members with real certificates, their bearer tokens, and signed packages.

Reusable by any test that talks to a hub: `await Agencies(client, admin, pki).add(code)`
registers a member through the admin API with an organisation certificate,
and the returned `Agency` mints its tokens and builds signed packages.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from signing.certs import cert_to_pem
from signing.jose import mint_token, sign_compact
from signing.keys import generate_key
from signing.package import Package, new_package, package_json
from signing.pades.document import make_pdf
from signing.pki import IssuedCertificate
from signing.sign import sign_package
from tests.conftest import HUB_ID, PKIFixture

HEADER: dict[str, Any] = {
    "code": {"number": "274", "notation": "QĐ-UBND"},
    "promulgation": {"place": "Hưng Yên", "date": "2024-03-12"},
    "type": "QD",
    "subject": "Về việc ban hành quy chế",
    "signer": {"name": "Nguyễn Văn A", "position": "Chủ tịch"},
}
PDF = ("qd274.pdf", "application/pdf", make_pdf(pages=1))


@dataclass
class Agency:
    """A registered member: its code, its organisation and official certificates."""

    code: str
    org: IssuedCertificate
    official: IssuedCertificate
    hub_id: str = HUB_ID

    def token(self) -> str:
        return mint_token(self.org.key, self.org.cert, iss=self.code, aud=self.hub_id)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}

    def package(
        self,
        recipients: Sequence[str],
        *,
        files: Iterable[tuple[str, str, bytes]] = (PDF,),
        signed: bool = True,
        id: str | None = None,
        header: dict[str, Any] | None = None,
    ) -> Package:
        """A package from this agency, signed by the official then the organisation."""
        pkg = new_package(self.code, recipients, header or HEADER, files, id=id)
        if signed:
            pkg = sign_package(pkg, self.official.key, self.official.full_chain, "personal")
            pkg = sign_package(pkg, self.org.key, self.org.full_chain, "organization")
        return pkg


def body_of(pkg: Package) -> bytes:
    """The package's wire JSON."""
    return package_json(pkg)


def tampered(pkg: Package, **header: Any) -> bytes:
    """The package's JSON with header fields changed after signing (BAD_SIGNATURE)."""
    data = json.loads(package_json(pkg))
    data["header"].update(header)
    return json.dumps(data).encode()


def with_attachment(pkg: Package, index: int = 0, **fields: Any) -> bytes:
    """The package's JSON with one attachment's fields replaced (content as bytes)."""
    data = json.loads(package_json(pkg))
    if "content" in fields and isinstance(fields["content"], bytes):
        fields["content"] = base64.b64encode(fields["content"]).decode()
    data["attachments"][index].update(fields)
    return json.dumps(data).encode()


@dataclass
class Agencies:
    """Registers agencies with a running hub through its admin API."""

    client: httpx.AsyncClient
    admin: dict[str, str]
    pki: PKIFixture
    made: dict[str, Agency] = field(default_factory=dict)

    async def add(
        self,
        code: str,
        *,
        mode: str = "pull",
        endpoint: str | None = None,
        policy: str = "accept_all",
        wire_format: str = "json",
    ) -> Agency:
        body: dict[str, Any] = {
            "code": code,
            "name": f"Agency {code}",
            "kind": "other",
            "delivery_mode": mode,
            "policy": policy,
            "wire_format": wire_format,
        }
        if endpoint is not None:
            body["endpoint"] = endpoint
        response = await self.client.post("/v1/admin/members", json=body, headers=self.admin)
        assert response.status_code == 201, response.text
        org = self.pki.ca.issue("organization", code, f"Agency {code}")
        official = self.pki.ca.issue("official", code, "Nguyễn Văn A", title="Chủ tịch")
        response = await self.client.post(
            f"/v1/admin/members/{code}/certificates",
            json={"certificate": cert_to_pem(org.cert).decode()},
            headers=self.admin,
        )
        assert response.status_code == 201, response.text
        agency = Agency(code, org, official)
        self.made[code] = agency
        return agency

    async def change(self, code: str, action: str) -> None:
        """`suspend`, `reinstate` or `revoke` a member."""
        response = await self.client.post(f"/v1/admin/members/{code}/{action}", headers=self.admin)
        assert response.status_code == 200, response.text


@dataclass
class Received:
    member: str
    kind: str
    """`inbox` or `status`."""
    body: dict[str, Any]
    authorization: str | None


@dataclass
class FakeMembers:
    """Push endpoints for many members in one ASGI app: `http://members/{code}/v1/...`.

    Each answers a push with a delivery receipt signed by the member's
    organisation key, or with `failures[code]` HTTP 503s first.
    """

    agencies: dict[str, Agency] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)
    forged: set[str] = field(default_factory=set)
    """Members whose receipts are signed by a stranger's key (under their own `kid`)."""

    def endpoint(self, code: str) -> str:
        return f"http://members/{code}"

    def transport(self) -> httpx.AsyncBaseTransport:
        return httpx.ASGITransport(app=self.app())

    def of(self, code: str, kind: str = "inbox") -> list[dict[str, Any]]:
        return [r.body for r in self.received if r.member == code and r.kind == kind]

    def app(self) -> Any:
        app = FastAPI()

        @app.post("/{code}/v1/{kind}")
        async def receive(code: str, kind: str, request: Request) -> JSONResponse:
            if self.failures.get(code, 0) > 0:
                self.failures[code] -= 1
                return JSONResponse({"detail": "try later"}, status_code=503)
            if request.headers.get("content-type", "").startswith("application/xml"):
                # an edXML member: the document or status as XML, the rest in headers
                body = {
                    "edxml": (await request.body()).decode(),
                    **{
                        k.lower(): v
                        for k, v in request.headers.items()
                        if k.lower().startswith("lienthong-")
                    },
                }
                body["delivery_id"] = body.get("lienthong-delivery-id")
                body["document_id"] = body.get("lienthong-document-id")
            else:
                body = await request.json()
            self.received.append(Received(code, kind, body, request.headers.get("authorization")))
            if kind != "inbox" or code not in self.agencies:
                return JSONResponse({})
            org = self.agencies[code].org
            claims = {"delivery_id": body["delivery_id"], "document_id": body["document_id"]}
            key = generate_key() if code in self.forged else org.key
            return JSONResponse({"receipt": sign_compact(claims, key, org.full_chain)})

        return app
