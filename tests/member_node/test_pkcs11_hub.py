"""The hub's own key on a token (SoftHSM2): receipts, the directory and pushes signed there."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from hub.settings import HubSettings
from signing.pki import CertificateAuthority
from tests.conftest import HUB_ID, PKIFixture
from tests.member_node.conftest import FAST_CLERK, HEADER, RECIPIENT, SENDER, StartNode, eventually
from tests.softhsm import SoftHsm


@pytest.fixture
def pki(tmp_path: Path, softhsm: SoftHsm) -> PKIFixture:
    """The test PKI, but `hub.crt` certifies the key labelled `hub` on the token: no hub.key."""
    directory = tmp_path / "pki"
    ca = CertificateAuthority.init(directory)
    hub = ca.issue("hub", "000.00.00.G00", "lienthong hub", key=softhsm.keys["hub"])
    hub.save(directory / "hub")
    (directory / "hub.key").unlink()
    result = PKIFixture(directory, ca, hub)
    result.write_crl()
    return result


@pytest.fixture
def hub_settings(
    database_url: str,
    pki: PKIFixture,
    tmp_path: Path,
    softhsm: SoftHsm,
    monkeypatch: pytest.MonkeyPatch,
) -> Any:
    monkeypatch.setenv("LIENTHONG_HUB_PKCS11_PIN", softhsm.pin)
    return HubSettings(
        data_dir=tmp_path,
        database_url=database_url,
        pki_dir=pki.directory,
        hub_id=HUB_ID,
        hub_pkcs11_module=softhsm.module,
        hub_pkcs11_token=softhsm.token,
        hub_pkcs11_key="hub",
    )


async def test_a_hub_keeping_its_key_on_a_token_delivers_and_is_trusted(
    start_node: StartNode, pki: PKIFixture
) -> None:
    assert not (pki.directory / "hub.key").exists()
    sender = await start_node(SENDER)
    await start_node(RECIPIENT, clerk=FAST_CLERK)
    sample = Path(__file__).resolve().parents[2] / "docs/samples/qd274.pdf"
    pdf = {
        "name": "qd.pdf",
        "media_type": "application/pdf",
        "content": base64.b64encode(sample.read_bytes()).decode(),
    }
    # the node checks the receipt and the directory against the pinned hub.crt
    sent = await sender.http.post(
        "/local/documents", json={"recipients": [RECIPIENT], "header": HEADER, "files": [pdf]}
    )
    assert sent.status_code == 202, sent.text
    document_id = sent.json()["document_id"]

    async def completed() -> bool:  # pushed with the hub's token-signed bearer JWT
        trace = await sender.context.client.trace(document_id)
        return [s.code.value for s in trace.deliveries[0].statuses][-1:] == ["06"]

    await eventually(completed)
