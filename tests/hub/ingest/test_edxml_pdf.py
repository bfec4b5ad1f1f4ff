"""An edXML document is judged with its principal PDF: the official signs the PDF (PAdES), the
organisation signs the envelope (XML-DSig), and the two make one compliant document."""

from __future__ import annotations

from signing.pades.document import make_pdf
from signing.pades.sign import PdfSigner, sign_pdf
from tests.hub.conftest import Hub
from tests.hub.edxml_helpers import envelope, post_edxml

SENDER, RECIPIENT = "000.00.00.H26", "000.00.00.G22"


async def test_the_officials_pdf_and_the_organisations_envelope_make_a_compliant_document(
    hub: Hub,
) -> None:
    sender = await hub.add(SENDER)
    await hub.add(RECIPIENT)
    official = PdfSigner(sender.official.key, sender.official.full_chain)
    pdf = sign_pdf(make_pdf(title="Quyết định", agency=SENDER, number="274"), official, "personal")
    response = await post_edxml(
        hub.client,
        sender,
        envelope(sender, [RECIPIENT], files=[("qd.pdf", "application/pdf", pdf)]),
    )
    assert response.status_code == 202, response.text
    verdict = response.json()["verdict"]
    assert verdict["violations"] == [] and verdict["compliant"] is True
    found = {(f["format"], f["kind"], f["source"]) for f in verdict["signatures"]}
    assert found == {("pades", "personal", "attachment:0"), ("xmldsig", "organization", "envelope")}


async def test_an_unreadable_principal_pdf_is_a_violation_in_edxml_too(hub: Hub) -> None:
    sender = await hub.add(SENDER)
    await hub.add(RECIPIENT)
    broken = ("qd.pdf", "application/pdf", b"%PDF-1.7 not really a PDF")
    response = await post_edxml(hub.client, sender, envelope(sender, [RECIPIENT], files=[broken]))
    assert response.status_code == 202, response.text
    assert "UNREADABLE_DOCUMENT" in response.json()["verdict"]["violations"]
