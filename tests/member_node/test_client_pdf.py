"""The SDK signs a PDF in two steps (PAdES) and packages it byte for byte."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from member_node.client import HubClient
from member_node.errors import SigningError
from member_node.identity import NodeIdentity, Signer
from signing.pades.document import make_pdf
from signing.pki import CertificateAuthority
from signing.trust import TrustStore
from signing.verify import verify_package
from tests.member_node.conftest import HEADER, RECIPIENT, SENDER


async def test_sign_pdf_then_build_package_keeps_the_bytes(tmp_path: Path) -> None:
    ca = CertificateAuthority.init(tmp_path / "ca")
    org = ca.issue("organization", SENDER, "UBND")
    official = ca.issue("official", SENDER, "Nguyễn Văn A")
    identity = NodeIdentity(
        code=SENDER,
        organization=Signer(org.key, org.full_chain),
        official=Signer(official.key, official.full_chain),
        hub_certificate=ca.certificate,
        roots=[ca.certificate],
    )
    async with HubClient("http://127.0.0.1:9", identity) as client:  # no call goes out
        signed = client.sign_pdf(make_pdf(pages=1), visible=True)  # inside a running loop
        pkg = client.build_package(
            [RECIPIENT],
            HEADER,
            [("qd.pdf", "application/pdf", signed)],
            personal=False,
            organization=False,
        )
        assert pkg.attachments[0].data == signed
        verdict = verify_package(
            pkg, TrustStore([ca.certificate]), received_at=dt.datetime.now(dt.UTC)
        )
        assert verdict.compliant, verdict.violations
        assert [f.kind for f in verdict.signatures] == ["personal", "organization"]
        with pytest.raises(SigningError) as caught:
            client.sign_pdf(b"not a pdf")
        assert caught.value.code == "invalid_pdf"
