"""docker/nginx.conf, run for real on loopback in front of a real hub: TLS with a server
certificate from `lienthong pki`, members' client certificates forwarded and checked by the
hub, a forged header overwritten, a revoked certificate refused at the door."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import uvicorn
import yaml

from hub.app import create_app
from member_node.client import HubClient
from member_node.errors import HubError
from member_node.identity import NodeIdentity, Signer
from member_node.tls import client_tls_context
from registry.operators import create_operator
from signing.certs import cert_to_pem
from signing.jose import mint_token
from signing.keys import FileKey
from signing.pki import IssuedCertificate
from tests.conftest import HUB_ID, PKIFixture
from tests.hub.helpers import Agencies

DOCKER = Path(__file__).resolve().parents[2] / "docker"
CONF = DOCKER / "nginx.conf"
HEADER = "X-Client-Cert"
MEMBER, OTHER, REVOKED = "000.00.00.H26", "000.00.00.G22", "000.00.00.H62"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_compose_file_puts_the_proxy_in_front_and_the_hubs_check_its_header() -> None:
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    conf = CONF.read_text(encoding="utf-8")
    upstreams = re.findall(r"server (hub-\d):(\d+);", conf)
    assert {name for name, _ in upstreams} == {s for s in services if s.startswith("hub-")}
    assert {port for _, port in upstreams} == {"8080"}
    assert f"proxy_set_header {HEADER} $ssl_client_escaped_cert;" in conf
    for name in ("hub-1", "hub-2"):
        env = services[name]["environment"]
        assert env["LIENTHONG_CLIENT_CERT_HEADER"] == HEADER
        assert "ports" not in services[name], "hubs are reached through the proxy only"
    assert services["proxy"]["ports"] == ["8443:8443"]
    nodes = [s for name, s in services.items() if name.startswith("node-")]
    assert nodes and all(
        s["environment"]["LIENTHONG_HUB_URL"] == "https://proxy:8443" for s in nodes
    )


def _render(conf: str, tls: Path, hub_port: int, proxy_port: int, prefix: Path) -> str:
    """The compose file's nginx.conf with loopback addresses and a private prefix."""
    conf = re.sub(
        r"(?s)upstream hubs \{.*?\}", f"upstream hubs {{ server 127.0.0.1:{hub_port}; }}", conf
    )
    conf = conf.replace("listen 8443 ssl", f"listen 127.0.0.1:{proxy_port} ssl")
    conf = conf.replace("/tls/", f"{tls}/")
    conf = conf.replace("worker_processes auto;", "worker_processes 1;")
    head = f"pid {prefix}/nginx.pid;\nerror_log {prefix}/error.log;\n"
    if os.geteuid() == 0:
        head += "user root;\n"
    temp = "".join(
        f"    {name}_temp_path {prefix}/{name};\n"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = conf.replace("http {\n", f"http {{\n    access_log off;\n{temp}", 1)
    return head + conf


@pytest.fixture
def nginx() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found is None:
        pytest.skip("nginx is not installed (.ci/run installs it: apt-get install nginx-light)")
    return found


@pytest.fixture
async def hub_url(hub_settings: Any) -> AsyncIterator[tuple[str, Any]]:
    """A real hub on loopback (uvicorn), checking the proxy's client-certificate header."""
    app = create_app(hub_settings.model_copy(update={"client_cert_header": HEADER}))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        await task


def _start(nginx: str, conf: Path, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([nginx, "-c", str(conf), "-g", "daemon off;"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.05)
    process.kill()
    raise AssertionError((conf.parent / "error.log").read_text())


def _proxy(
    nginx: str, proxy_dir: Path, direct: str, tmp_path: Path
) -> tuple[subprocess.Popen[bytes], str]:
    """nginx.conf of `docker/` started in front of the hub at `direct`, and its https URL."""
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    proxy_port = _free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(
        _render(CONF.read_text(), proxy_dir, int(direct.rsplit(":", 1)[1]), proxy_port, prefix)
    )
    return _start(nginx, conf, proxy_port), f"https://127.0.0.1:{proxy_port}"


@pytest.fixture
def proxy_dir(tmp_path: Path, pki: PKIFixture) -> Path:
    tls = tmp_path / "tls"
    tls.mkdir()
    server = pki.ca.issue_tls_server(["127.0.0.1"])
    server.save(tls / "proxy")
    shutil.copy(pki.directory / "ca.crt", tls / "ca.crt")
    return tls


def _identity(code: str, org: IssuedCertificate, pki: PKIFixture) -> NodeIdentity:
    return NodeIdentity(
        code, Signer(org.key, org.full_chain), None, pki.hub.cert, [pki.ca.certificate]
    )


async def test_members_reach_the_hub_through_the_proxy_with_their_own_certificate(
    nginx: str, hub_url: tuple[str, Any], proxy_dir: Path, pki: PKIFixture, tmp_path: Path
) -> None:
    direct, app = hub_url
    async with app.state.hub.sessions.begin() as session:
        _, token = await create_operator(session, "admin-1", "admin")
    async with httpx.AsyncClient(base_url=direct) as client:
        agencies = Agencies(client, {"Authorization": f"Bearer {token}"}, pki)
        member = await agencies.add(MEMBER)
        other = await agencies.add(OTHER)
        revoked = await agencies.add(REVOKED)
    pki.ca.revoke(revoked.org.cert, "key_compromise")
    pki.write_crl()
    shutil.copy(pki.directory / "crl.pem", proxy_dir / "crl.pem")

    process, url = _proxy(nginx, proxy_dir, direct, tmp_path)
    try:
        # the SDK over https: the proxy checked against the national root, the org certificate shown
        async with HubClient(url, _identity(MEMBER, member.org, pki), hub_id=HUB_ID) as sdk:
            assert (await sdk.directory()).hub_id == HUB_ID
            assert (await sdk.inbox(wait=0)).deliveries == []

        token_of = {
            a.code: mint_token(a.org.key, a.org.cert, iss=a.code, aud=HUB_ID)
            for a in (member, other, revoked)
        }
        auth = {"Authorization": f"Bearer {token_of[MEMBER]}"}
        no_cert = httpx.AsyncClient(base_url=url, verify=_trust_only(pki))
        async with no_cert:
            missing = await no_cert.get("/v1/inbox", headers=auth)
            assert missing.status_code == 401, missing.text
            assert missing.json()["code"] == "client_certificate_missing"
            forged = quote(cert_to_pem(member.org.cert).decode(), safe="")
            overwritten = await no_cert.get("/v1/inbox", headers={**auth, HEADER: forged})
            assert overwritten.json()["code"] == "client_certificate_missing"

        theirs = httpx.AsyncClient(
            base_url=url, verify=client_tls_context(_identity(OTHER, other.org, pki))
        )
        async with theirs:
            stolen = await theirs.get("/v1/inbox", headers=auth)
            assert stolen.status_code == 403
            assert stolen.json()["code"] == "client_certificate_mismatch"

        bad = httpx.AsyncClient(
            base_url=url, verify=client_tls_context(_identity(REVOKED, revoked.org, pki))
        )
        async with bad:
            refused = await bad.get(
                "/v1/inbox", headers={"Authorization": f"Bearer {token_of[REVOKED]}"}
            )
            assert refused.status_code in {400, 495}  # nginx: the certificate is revoked
            assert "client_certificate" not in refused.text
    finally:
        process.terminate()
        process.wait(timeout=10)


def _trust_only(pki: PKIFixture) -> Any:
    import ssl

    return ssl.create_default_context(cadata=cert_to_pem(pki.ca.certificate).decode())


class _TokenKey:
    """A key that signs but never leaves its token, as a PKCS#11 key does."""

    def __init__(self, key: FileKey) -> None:
        self._key = key

    @property
    def algorithm(self) -> str:
        return self._key.algorithm

    def public_key(self) -> Any:
        return self._key.public_key()

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)


async def test_a_node_whose_key_is_on_a_token_shows_its_authentication_certificate(
    nginx: str, hub_url: tuple[str, Any], proxy_dir: Path, pki: PKIFixture, tmp_path: Path
) -> None:
    """The organisation key cannot be handed to OpenSSL; `tls.crt` and `tls.key`, registered
    on the hub for authentication only, are shown instead, and the token is still minted on
    the token."""
    direct, app = hub_url
    async with app.state.hub.sessions.begin() as session:
        _, token = await create_operator(session, "admin-1", "admin")
    admin = {"Authorization": f"Bearer {token}"}
    tls_cert = pki.ca.issue("organization", MEMBER, f"Agency {MEMBER} (TLS)")
    async with httpx.AsyncClient(base_url=direct) as client:
        member = await Agencies(client, admin, pki).add(MEMBER)
        registered = await client.post(
            f"/v1/admin/members/{MEMBER}/certificates",
            headers=admin,
            json={"certificate": cert_to_pem(tls_cert.cert).decode(), "signing": False},
        )
        assert registered.status_code == 201, registered.text
    on_token = Signer(_TokenKey(FileKey(member.org.key)), member.org.full_chain)
    roots = [pki.ca.certificate]
    pki.write_crl()
    shutil.copy(pki.directory / "crl.pem", proxy_dir / "crl.pem")
    without = NodeIdentity(MEMBER, on_token, None, pki.hub.cert, roots)
    with_tls = NodeIdentity(
        MEMBER, on_token, None, pki.hub.cert, roots, Signer(tls_cert.key, tls_cert.full_chain)
    )

    process, url = _proxy(nginx, proxy_dir, direct, tmp_path)
    try:
        async with HubClient(url, without, hub_id=HUB_ID) as sdk:
            with pytest.raises(HubError) as refused:
                await sdk.inbox(wait=0)
            assert refused.value.code == "client_certificate_missing"
        async with HubClient(url, with_tls, hub_id=HUB_ID) as sdk:
            assert (await sdk.inbox(wait=0)).deliveries == []
    finally:
        process.terminate()
        process.wait(timeout=10)
