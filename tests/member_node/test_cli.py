"""`lienthong node send / inbox / serve` against a real hub listening on loopback."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from typer.testing import CliRunner

from lienthong.cli import app
from signing.certs import cert_to_pem
from signing.pades.document import make_pdf
from tests.conftest import HUB_ID, PKIFixture, run_sync
from tests.member_node.conftest import RECIPIENT, SENDER

runner = CliRunner()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveHub:
    url: str
    admin: dict[str, str]
    pki: PKIFixture
    home: Path

    def agency(self, code: str, wire_format: str = "json") -> list[str]:
        """Register `code` (pull) and write its keys; the CLI options that name it."""
        body = {
            "code": code,
            "name": f"Agency {code}",
            "delivery_mode": "pull",
            "wire_format": wire_format,
        }
        org = self.pki.ca.issue("organization", code, f"Agency {code}")
        official = self.pki.ca.issue("official", code, "Trần Thị B", title="Giám đốc")
        with httpx.Client(base_url=self.url, headers=self.admin) as http:
            assert http.post("/v1/admin/members", json=body).status_code == 201
            cert = {"certificate": cert_to_pem(org.cert).decode()}
            assert http.post(f"/v1/admin/members/{code}/certificates", json=cert).status_code == 201
        keys = self.home / code / "keys"
        keys.mkdir(parents=True)
        org.save(keys / "org")
        official.save(keys / "official")
        shutil.copyfile(self.pki.directory / "hub.crt", keys / "hub.crt")
        shutil.copyfile(self.pki.directory / "ca.crt", keys / "ca.crt")
        return ["--code", code, "--keys", str(keys), "--data", str(self.home / code)]

    def hub_options(self) -> list[str]:
        return ["--hub", self.url, "--hub-id", HUB_ID]


@pytest.fixture
def live_hub(hub_settings: Any, pki: PKIFixture, tmp_path: Path) -> Iterator[LiveHub]:
    from hub.app import create_app
    from registry.db import create_engine, session_factory
    from registry.operators import create_operator

    async def make_admin() -> str:
        engine = create_engine(hub_settings.resolved_database_url())
        async with session_factory(engine).begin() as session:
            _, token = await create_operator(session, "cli-admin", "admin")
        await engine.dispose()
        return token

    token = run_sync(make_admin)
    port = _free_port()
    quiet = hub_settings.model_copy(update={"log_level": "WARNING"})  # CliRunner reads stdout
    server = uvicorn.Server(
        uvicorn.Config(create_app(quiet), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the hub did not start"
        time.sleep(0.02)
    try:
        yield LiveHub(
            f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"}, pki, tmp_path / "n"
        )
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@pytest.fixture
def pdf(tmp_path: Path) -> Path:
    path = tmp_path / "cv123.pdf"
    path.write_bytes(make_pdf(pages=1, title="Công văn về việc họp giao ban"))
    return path


def node(*args: str) -> Any:
    return runner.invoke(app, ["node", *args])


def test_send_then_pull_the_inbox(live_hub: LiveHub, pdf: Path) -> None:
    sender = live_hub.agency(SENDER)
    recipient = live_hub.agency(RECIPIENT)
    sent = node(
        "send", *sender, *live_hub.hub_options(), "--to", RECIPIENT,
        "--subject", "Về việc họp giao ban", "--file", str(pdf),
    )  # fmt: skip
    assert sent.exit_code == 0, sent.output
    assert "verdict: compliant" in sent.output
    assert f"{RECIPIENT}: accepted" in sent.output
    document_id = sent.output.split("document ", 1)[1].split()[0]

    assert "no documents" in node("inbox", *recipient).output
    pulled = node("inbox", *recipient, *live_hub.hub_options(), "--pull")
    assert pulled.exit_code == 0, pulled.output
    assert document_id in pulled.output and "Về việc họp giao ban" in pulled.output
    assert "[compliant]" in pulled.output
    listed = json.loads(node("inbox", *recipient, "--json").output)
    assert [d["id"] for d in listed] == [document_id]
    again = node("inbox", *recipient, *live_hub.hub_options(), "--pull", "--json")
    assert len(json.loads(again.output)) == 1  # acknowledged: not delivered twice


def test_send_without_the_personal_signature_is_not_compliant(live_hub: LiveHub, pdf: Path) -> None:
    sender = live_hub.agency(SENDER)
    live_hub.agency(RECIPIENT)
    base = ["send", *sender, *live_hub.hub_options(), "--to", RECIPIENT, "--subject", "x"]
    result = node(*base, "--file", str(pdf), "--no-personal")
    assert result.exit_code == 0, result.output
    assert "NOT compliant: NO_PERSONAL_SIGNATURE" in result.output
    answer = json.loads(node(*base, "--file", str(pdf), "--no-org", "--json").output)
    assert "NO_ORGANIZATION_SIGNATURE" in answer["verdict"]["violations"]


def test_send_bad_inputs_fail_clearly(live_hub: LiveHub, pdf: Path, tmp_path: Path) -> None:
    sender = live_hub.agency(SENDER)
    hub = live_hub.hub_options()
    missing_file = node(
        "send", *sender, *hub, "--to", RECIPIENT, "--subject", "x", "--file", "no.pdf"
    )
    assert missing_file.exit_code == 2
    bad_code = node("send", *sender, *hub, "--to", "G22", "--subject", "x", "--file", str(pdf))
    assert bad_code.exit_code == 1 and "invalid_package" in bad_code.output
    no_keys = node(
        "send", "--code", SENDER, "--keys", str(tmp_path / "none"), *hub,
        "--to", RECIPIENT, "--subject", "x", "--file", str(pdf),
    )  # fmt: skip
    assert no_keys.exit_code == 2 and "no keys directory" in no_keys.output
    offline = node(
        "send", *sender, "--hub", f"http://127.0.0.1:{_free_port()}", "--hub-id", HUB_ID,
        "--to", RECIPIENT, "--subject", "x", "--file", str(pdf),
    )  # fmt: skip
    assert offline.exit_code == 1 and "hub_unreachable" in offline.output
    wrong_hub_id = node(
        "send", *sender, "--hub", live_hub.url, "--hub-id", "another",
        "--to", RECIPIENT, "--subject", "x", "--file", str(pdf),
    )  # fmt: skip
    assert wrong_hub_id.exit_code == 1 and "error:" in wrong_hub_id.output


def test_serve_refuses_bad_options(live_hub: LiveHub) -> None:
    recipient = live_hub.agency(RECIPIENT)
    assert node("serve", *recipient, "--mode", "carrier-pigeon").exit_code == 2
    assert node("serve", *recipient, "--recall-answer", "maybe").exit_code == 2
    assert node("serve", "--code", RECIPIENT, "--keys", "/nonexistent").exit_code == 2


def test_a_served_pull_node_receives_and_processes(live_hub: LiveHub, pdf: Path) -> None:
    sender = live_hub.agency(SENDER)
    recipient = live_hub.agency(RECIPIENT)
    port = _free_port()
    env = {**os.environ, "LIENTHONG_HUB_URL": live_hub.url, "LIENTHONG_HUB_ID": HUB_ID}
    process = subprocess.Popen(
        [sys.executable, "-m", "lienthong", "node", "serve", *recipient, "--mode", "pull",
         "--port", str(port), "--poll-interval", "0.1", "--clerk-delay", "0.05"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        local = httpx.Client(base_url=f"http://127.0.0.1:{port}")
        _wait(lambda: _ok(local, "/healthz"))
        sent = node("send", *sender, *live_hub.hub_options(), "--to", RECIPIENT,
                    "--subject", "served", "--file", str(pdf), "--json")  # fmt: skip
        document_id = json.loads(sent.output)["document_id"]
        _wait(lambda: _statuses(local, document_id) == ["01", "03", "04", "05", "06"])
        listing = local.get("/local/inbox").json()["documents"]
        assert [d["id"] for d in listing] == [document_id]
        assert listing[0]["via"] == "pull"
    finally:
        process.terminate()
        process.wait(timeout=20)


def _ok(client: httpx.Client, path: str) -> bool:
    try:
        return client.get(path).status_code == 200
    except httpx.TransportError:
        return False


def _statuses(client: httpx.Client, document_id: str) -> list[str]:
    response = client.get(f"/local/documents/{document_id}")
    if response.status_code != 200:
        return []
    return [s["code"] for s in response.json()["statuses"]]


def _wait(check: Any, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "the condition did not hold in time"
        time.sleep(0.05)


def test_send_edxml_then_pull_it_as_edxml(live_hub: LiveHub, pdf: Path, tmp_path: Path) -> None:
    from signing.edxml import package_id_for, package_to_edxml
    from signing.package import new_package

    sender = live_hub.agency(SENDER)
    recipient = live_hub.agency(RECIPIENT, wire_format="edxml")
    header = {
        "code": {"number": "15", "notation": "CV-UBND"},
        "promulgation": {"place": "Hưng Yên", "date": "2024-03-12"},
        "type": "CV",
        "subject": "Về việc gửi văn bản edXML",
        "signer": {"name": "Trần Thị B"},
    }
    pkg = new_package(
        SENDER, [RECIPIENT], header, [("cv.pdf", "application/pdf", pdf.read_bytes())]
    )
    document_id = f"{SENDER},2024/03/12,15/CV-UBND"
    unsigned = tmp_path / "cv.xml"
    unsigned.write_bytes(package_to_edxml(pkg, document_id=document_id))
    sent = node("send", *sender, *live_hub.hub_options(), "--edxml", str(unsigned), "--json")
    assert sent.exit_code == 0, sent.output
    answer = json.loads(sent.output)
    assert answer["document_id"] == package_id_for(SENDER, document_id)
    # signed by the organisation on the way (the official's signature would be in the PDF)
    assert answer["verdict"]["violations"] == ["NO_PERSONAL_SIGNATURE"]
    again = node("send", *sender, *live_hub.hub_options(), "--edxml", str(unsigned), "--json")
    assert json.loads(again.output)["receipt"] == answer["receipt"]  # a resend

    pulled = node("inbox", *recipient, *live_hub.hub_options(), "--pull", "--json")
    assert pulled.exit_code == 0, pulled.output
    (held,) = json.loads(pulled.output)
    assert held["id"] == answer["document_id"] and held["format"] == "edxml"

    broken = tmp_path / "broken.xml"
    broken.write_bytes(b"<edXML><unclosed>")
    refused = node("send", *sender, *live_hub.hub_options(), "--edxml", str(broken))
    assert refused.exit_code == 2 and "edxml_not_well_formed" in refused.output
    missing = node("send", *sender, *live_hub.hub_options(), "--subject", "x")
    assert missing.exit_code == 2
