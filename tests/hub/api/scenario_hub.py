"""The machinery of the recording scenarios: a hub under the test vectors' CA, and a
recorder of the exchanges played against it (`openapi_scenario`, and the member node's).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from signing.certs import load_certificate
from signing.keys import load_private_key
from signing.pki import CertificateAuthority

__all__ = [
    "HUB_ID",
    "VECTORS",
    "Exchange",
    "Recorder",
    "hub_pki",
    "running_hub",
    "vector_ca",
    "write_examples",
]

VECTORS = Path(__file__).resolve().parents[3] / "docs" / "vectors"
HUB_ID = "lienthong-hub"


@dataclass
class Exchange:
    status: int
    request: Any = None
    response: Any = None
    media_type: str | None = "application/json"
    request_media_type: str | None = None


@dataclass
class Recorder:
    client: httpx.AsyncClient
    exchanges: dict[str, Exchange] = field(default_factory=dict)

    async def call(
        self,
        method: str,
        url: str,
        template: str,
        *,
        headers: dict[str, str],
        json_body: Any = None,
        content: bytes | None = None,
        label: str = "",
        record: bool = True,
        **kwargs: Any,
    ) -> httpx.Response:
        """Call the service; record the exchange under `METHOD template STATUS` (then `label`,
        which tells apart a second exchange with the same answer, e.g. another media type)
        unless told not to. A body is JSON (`json_body`) or bytes (`content`, with their
        `Content-Type` in `headers`); an answer without a body (`204`) is recorded as None."""
        response = await self.client.request(
            method, url, json=json_body, content=content, headers=headers, **kwargs
        )
        if record:
            request, request_type = json_body, "application/json" if json_body is not None else None
            if content is not None:
                request, request_type = content.decode(), headers["Content-Type"]
            kind: str | None = response.headers.get("content-type", "").split(";")[0]
            body = response.json() if kind and kind.endswith("json") else response.text
            if not response.content:
                kind, body = None, None
            key = " ".join(filter(None, (method, template, str(response.status_code), label)))
            self.exchanges.setdefault(
                key, Exchange(response.status_code, request, body, kind, request_type)
            )
        return response


def vector_ca(directory: Path) -> CertificateAuthority:
    """The test vectors' CA, in a directory of its own (it issues the hub and the others)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("ca.crt", "ca.key", "crl.pem"):
        shutil.copyfile(VECTORS / name, directory / name)
    cert = load_certificate(VECTORS / "ca.crt")
    return CertificateAuthority(directory, cert, load_private_key(VECTORS / "ca.key"), "")


def hub_pki(ca: CertificateAuthority, directory: Path) -> Path:
    """`pki_dir` for a hub under the vectors' CA."""
    issued = ca.issue("hub", "000.00.00.G00", "lienthong hub")
    issued.save(directory / "hub")
    shutil.copyfile(VECTORS / "ca.crt", directory / "ca.crt")
    shutil.copyfile(VECTORS / "crl.pem", directory / "crl.pem")
    return directory


@asynccontextmanager
async def running_hub(
    root: Path, database_url: str | None = None, push_transport: Any = None
) -> AsyncIterator[tuple[Any, httpx.AsyncClient, dict[str, str], CertificateAuthority]]:
    """A hub under the vectors' CA, its workers stopped (the scenario runs them):
    (app, a client of it, an admin's headers, the CA)."""
    from hub.app import create_app
    from hub.settings import HubSettings
    from registry.db import migrate
    from registry.operators import create_operator

    ca = vector_ca(root / "ca")
    url = database_url or f"sqlite+aiosqlite:///{root / 'hub.db'}"
    if database_url is None:
        await migrate(url)
    settings = HubSettings(
        data_dir=root,
        database_url=url,
        pki_dir=hub_pki(ca, root / "pki"),
        hub_id=HUB_ID,
        delivery_worker=False,
        eventlog_sealer=False,
    )
    app = create_app(settings, push_transport=push_transport)
    async with app.router.lifespan_context(app):
        async with app.state.hub.sessions.begin() as session:
            _, token = await create_operator(session, "admin-1", "admin")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            yield app, client, {"Authorization": f"Bearer {token}"}, ca


def write_examples(exchanges: dict[str, Exchange], path: Path) -> None:
    """The recorded exchanges as the examples file `path`."""
    out = {
        key: {
            "status": ex.status,
            "request": ex.request,
            "response": ex.response,
            "media_type": ex.media_type,
            "request_media_type": ex.request_media_type,
        }
        for key, ex in sorted(exchanges.items())
    }
    path.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n")
