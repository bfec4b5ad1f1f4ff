"""Signing on a hardware token (SoftHSM2 through PKCS#11): the SDK, the node, `lienthong sign`."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from lienthong.cli import app as cli_app
from member_node.app import create_node_app
from member_node.client import HubClient
from member_node.config import NodeConfig
from member_node.identity import IdentityError, NodeIdentity, TokenKeys
from signing.package import new_package, package_json, parse_package
from signing.pkcs11 import Pkcs11Key
from tests.conftest import HUB_ID, PKIFixture
from tests.member_node.conftest import (
    FAST_CLERK,
    HEADER,
    OTHER,
    RECIPIENT,
    SENDER,
    MakeAgency,
    NodeRouter,
    endpoint_of,
    eventually,
    tokens,
)
from tests.softhsm import SoftHsm

pytestmark = pytest.mark.usefixtures("softhsm")

SAMPLE_PDF = (Path(__file__).resolve().parents[2] / "docs/samples/qd274.pdf").read_bytes()
"""A real (unsigned) PDF: the principal PDF of a package is read, and must be a PDF."""
PDF = ("qd.pdf", "application/pdf", SAMPLE_PDF)


async def test_a_package_signed_on_the_token_is_compliant_at_the_hub(
    token_agency: Callable[..., Awaitable[Path]],
    make_agency: MakeAgency,
    hub_transport: httpx.ASGITransport,
    softhsm: SoftHsm,
) -> None:
    await make_agency(RECIPIENT)
    keys = await token_agency(SENDER)
    identity = NodeIdentity.load(keys, SENDER, tokens=tokens(softhsm))
    assert isinstance(identity.organization.key, Pkcs11Key)
    assert isinstance(identity.official and identity.official.key, Pkcs11Key)
    async with HubClient("http://hub", identity, hub_id=HUB_ID, transport=hub_transport) as hub:
        result = await hub.send([RECIPIENT], HEADER, [PDF])  # token signs, bearer JWT too
        assert result.verdict.compliant, result.verdict.violations
        assert [f.kind for f in result.verdict.signatures] == ["personal", "organization"]
        assert {f.alg for f in result.verdict.signatures} == {"ES256"}
        trace = await hub.trace(result.document_id)
        assert trace.verdict.compliant


async def test_a_node_on_tokens_sends_rsa_signatures_and_signs_its_delivery_receipts(
    token_agency: Callable[..., Awaitable[Path]],
    hub_transport: httpx.ASGITransport,
    node_router: NodeRouter,
    tmp_path: Path,
    softhsm: SoftHsm,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sender_keys = await token_agency(SENDER, org="org-rsa", official="official-2", mode="push")
    recipient_keys = await token_agency(RECIPIENT, mode="push")
    monkeypatch.setenv("LIENTHONG_PKCS11_PIN", softhsm.pin)
    monkeypatch.setenv("LIENTHONG_PKCS11_MODULE", softhsm.module)
    monkeypatch.setenv("LIENTHONG_PKCS11_TOKEN", softhsm.token)
    async with AsyncExitStack() as stack:
        nodes = {}
        for code, keys, labels in (
            (SENDER, sender_keys, ("org-rsa", "official-2")),
            (RECIPIENT, recipient_keys, ("org", "official")),
        ):
            found = TokenKeys.from_env(org_key=labels[0], official_key=labels[1])
            assert found is not None and found.pin == softhsm.pin
            config = NodeConfig(
                code=code,
                hub_url="http://hub",
                keys_dir=keys,
                data_dir=tmp_path / "token-nodes" / code,
                mode="push",
                hub_id=HUB_ID,
                clerk=FAST_CLERK,
                tokens=found,
            )
            node = create_node_app(config, hub_transport=hub_transport)
            await stack.enter_async_context(node.router.lifespan_context(node))
            transport = httpx.ASGITransport(app=node)
            node_router.nodes[httpx.URL(endpoint_of(code)).host] = transport
            nodes[code] = await stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url=endpoint_of(code))
            )
        pdf = {
            "name": "qd.pdf",
            "media_type": "application/pdf",
            "content": base64.b64encode(SAMPLE_PDF).decode(),
        }
        body = {"recipients": [RECIPIENT], "header": HEADER, "files": [pdf]}
        sent = await nodes[SENDER].post("/local/documents", json=body)
        assert sent.status_code == 202, sent.text
        answer = sent.json()
        assert answer["verdict"]["compliant"], answer["verdict"]
        algs = [f["alg"] for f in answer["verdict"]["signatures"]]
        assert algs == ["ES256", "RS256"]
        document_id = answer["document_id"]

        async def completed() -> bool:
            local = (await nodes[SENDER].get(f"/local/documents/{document_id}")).json()
            return "06" in [s["code"] for s in local["statuses"]]

        await eventually(completed)
        local = (await nodes[SENDER].get(f"/local/documents/{document_id}")).json()
        delivery = local["trace"]["deliveries"][0]
        assert delivery["delivered_at"] is not None
        # the recipient's receipt, signed on its token, was checked and kept by the hub
        assert not any(a["detail"] for a in delivery["attempt_log"])


async def test_a_wrong_pin_an_unknown_label_and_a_foreign_key_are_clear_errors(
    token_agency: Callable[..., Awaitable[Path]],
    pki: PKIFixture,
    softhsm: SoftHsm,
) -> None:
    keys = await token_agency(SENDER)
    wrong_pin = TokenKeys(
        module=softhsm.module, token=softhsm.other_token, org_key="org", pin="000000"
    )
    with pytest.raises(IdentityError, match="PIN"):
        NodeIdentity.load(keys, SENDER, tokens=wrong_pin)
    with pytest.raises(IdentityError, match="no private key labelled 'nothing'"):
        NodeIdentity.load(keys, SENDER, tokens=tokens(softhsm, org="nothing"))
    # org.crt certifies another key than the one labelled "hub"
    with pytest.raises(IdentityError, match="does not match its certificate"):
        NodeIdentity.load(keys, SENDER, tokens=tokens(softhsm, org="hub"))
    with pytest.raises(IdentityError, match="token's label"):
        TokenKeys.from_env({"LIENTHONG_PKCS11_MODULE": softhsm.module})
    assert TokenKeys.from_env({}) is None


async def test_a_node_on_a_token_reads_its_tls_certificate_from_the_keys_directory(
    token_agency: Callable[..., Awaitable[Path]], pki: PKIFixture, softhsm: SoftHsm
) -> None:
    """The organisation key stays on the token; `tls.key`/`tls.crt` are what TLS shows."""
    keys = await token_agency(SENDER)
    assert NodeIdentity.load(keys, SENDER, tokens=tokens(softhsm)).tls is None
    pki.ca.issue("organization", RECIPIENT, "Another agency").save(keys / "tls")
    with pytest.raises(IdentityError, match=f"tls.crt is not a certificate of {SENDER}"):
        NodeIdentity.load(keys, SENDER, tokens=tokens(softhsm))
    tls = pki.ca.issue("organization", SENDER, f"Agency {SENDER} (TLS)")
    tls.save(keys / "tls")
    identity = NodeIdentity.load(keys, SENDER, tokens=tokens(softhsm))
    assert isinstance(identity.organization.key, Pkcs11Key)
    assert identity.tls_client.certificate == tls.cert
    (keys / "tls.key").chmod(0o644)
    with pytest.raises(IdentityError, match="readable by others"):
        NodeIdentity.load(keys, SENDER, tokens=tokens(softhsm))


def test_lienthong_sign_on_the_token_then_verify(
    pki: PKIFixture,
    tmp_path: Path,
    softhsm: SoftHsm,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    official = pki.ca.issue("official", SENDER, "Nguyễn Văn A", key=softhsm.keys["official"])
    org = pki.ca.issue("organization", SENDER, "UBND", key=softhsm.keys["org-rsa"])
    official.save(tmp_path / "official")
    org.save(tmp_path / "org")
    header = {**HEADER, "promulgation": {"place": "Hưng Yên", "date": dt.date.today().isoformat()}}
    unsigned = new_package(SENDER, [RECIPIENT, OTHER], header, [PDF])
    (tmp_path / "pkg.json").write_bytes(package_json(unsigned))
    monkeypatch.setenv("LIENTHONG_PKCS11_PIN", softhsm.pin)
    runner = CliRunner()
    args = ["sign", "--package", str(tmp_path / "pkg.json"), "--out", str(tmp_path / "s.json")]
    token = ["--pkcs11-module", softhsm.module, "--pkcs11-token", softhsm.token]
    signers = [
        *("--official-pkcs11-key", "official", "--official-cert", str(tmp_path / "official.crt")),
        *("--org-pkcs11-key", "org-rsa", "--org-cert", str(tmp_path / "org.crt")),
    ]
    result = runner.invoke(cli_app, [*args, *token, *signers])
    assert result.exit_code == 0, result.output
    signed = parse_package((tmp_path / "s.json").read_bytes())
    assert len(signed.signatures) == 2
    verify = ["verify", "--package", str(tmp_path / "s.json"), "--json"]
    verified = runner.invoke(cli_app, [*verify, "--ca", str(pki.directory / "ca.crt")])
    assert verified.exit_code == 0, verified.output
    assert json.loads(verified.output)["compliant"] is True
    # a key file and a token label for the same signer, or a label without a module: exit 2
    both = [*signers, "--official-key", str(tmp_path / "official.key")]
    assert runner.invoke(cli_app, [*args, *token, *both]).exit_code == 2
    assert runner.invoke(cli_app, [*args, *signers]).exit_code == 2
