"""Make each planned document the way its sender signs it: right, not at all, or wrongly,
in the PDF, on the envelope, or both.

Every document carries a real multi-page PDF with Vietnamese text, made once
per sender and kind of document (`make_pdf` is the slow part) and signed per
document: the official, then the organisation's seal as a later revision
(PAdES), as agencies do. A document signed "on the envelope" carries the PDF
unsigned and the JWS signatures; "both" has both. The defects apply where the
document is signed: `no_personal` in a PDF is scanned paper sealed by the
organisation only; `edited` is a PDF changed after both signatures.

The faulty credentials (an expired certificate, a revoked one, a 1024-bit RSA
key) are issued by the national CA before the hub starts, so the revocations
are already in the CRL the hub loads.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Mapping
from io import BytesIO

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from member_node.client import HubClient
from member_node.identity import Signer
from member_node.simulation.traffic import PlannedDocument
from signing.package import Package
from signing.pades.document import make_pdf
from signing.pades.sign import PdfSignatureKind, PdfSigner, sign_pdf
from signing.pki import CertificateAuthority
from signing.sign import sign_package

VN = dt.timezone(dt.timedelta(hours=7))
FAULTY_CREDENTIALS = ("expired", "revoked", "weak_key")
PAGES = 3


class DocumentSigner:
    """Holds the faulty officials' credentials and the PDF templates; signs packages per plan."""

    def __init__(self, names: Mapping[str, str] | None = None) -> None:
        self.faulty: dict[tuple[str, str], Signer] = {}
        self.names = dict(names or {})
        self._templates: dict[tuple[str, str], bytes] = {}
        self._lock = threading.Lock()

    def issue_faulty(self, ca: CertificateAuthority, plan: Iterable[PlannedDocument]) -> None:
        """Issue (and revoke) the credentials the plan's defects need; call before the hub runs."""
        now = dt.datetime.now(dt.UTC)
        for doc in plan:
            key = (doc.sender, doc.signing)
            if doc.signing not in FAULTY_CREDENTIALS or key in self.faulty:
                continue
            if doc.signing == "expired":
                issued = ca.issue(
                    "official",
                    doc.sender,
                    "Trần Văn B",
                    title="Phó Chủ tịch",
                    not_before=now - dt.timedelta(days=800),
                    days=365,
                )
            elif doc.signing == "weak_key":
                issued = ca.issue(
                    "official", doc.sender, "Lê Thị C", title="Phó Chủ tịch", key_type="rsa1024"
                )
            else:
                issued = ca.issue("official", doc.sender, "Phạm Văn D", title="Phó Chủ tịch")
                ca.revoke(issued.cert, "key_compromise", at=now - dt.timedelta(hours=1))
            self.faulty[key] = Signer(issued.key, issued.full_chain)

    def template(self, doc: PlannedDocument) -> bytes:
        """The sender's PDF for this kind of document, made on first use."""
        key = (doc.sender, doc.kind)
        with self._lock:
            pdf = self._templates.get(key)
        if pdf is None:
            header = doc.header()
            code = header["code"]
            pdf = make_pdf(
                title=str(header["subject"]),
                agency=self.names.get(doc.sender, doc.sender).upper(),
                number=f"{code['number']}/{code['notation']}",
                pages=PAGES,
            )
            with self._lock:
                pdf = self._templates.setdefault(key, pdf)
        return pdf

    def package(self, client: HubClient, doc: PlannedDocument) -> Package:
        """The document as its sender makes it (CPU-bound: call it off the event loop)."""
        header = doc.header()
        recipients = list(doc.recipients)
        name = f"{header['code']['notation']}-{header['code']['number']}.pdf"
        pdf = self.template(doc)
        if doc.signing == "unsigned":
            return client.build_package(
                recipients, header, [(name, "application/pdf", pdf)],
                personal=False, organization=False,
            )  # fmt: skip
        identity = client.identity
        official = self.faulty.get((doc.sender, doc.signing)) or identity.official
        org = identity.organization
        assert official is not None
        personal = None if doc.signing == "no_personal" else official
        now = dt.datetime.now(VN).replace(microsecond=0)
        when = now.astimezone(dt.UTC) if doc.signing == "utc_time" else now
        if doc.where in ("pdf", "both") or doc.signing == "edited":
            steps: list[tuple[Signer | None, PdfSignatureKind]] = [
                (personal, "personal"),
                (org, "organization"),
            ]
            if doc.signing == "wrong_order":
                steps.reverse()
            for signer, kind in steps:
                if signer is not None:
                    pdf = sign_pdf(
                        pdf, PdfSigner(signer.key, signer.chain), kind, signing_time=when
                    )
            if doc.signing == "edited":
                pdf = edited(pdf)
        pkg = client.build_package(
            recipients, header, [(name, "application/pdf", pdf)],
            personal=False, organization=False,
        )  # fmt: skip
        if doc.where not in ("envelope", "both"):
            return pkg
        if doc.signing == "wrong_order":
            pkg = sign_package(pkg, org.key, org.chain, "organization", now)
            return sign_package(pkg, official.key, official.chain, "personal", now)
        sig_time: dt.datetime | str = now
        if doc.signing == "utc_time":
            sig_time = now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if personal is not None:
            pkg = sign_package(pkg, official.key, official.chain, "personal", sig_time)
        return sign_package(pkg, org.key, org.chain, "organization", sig_time)


def edited(pdf: bytes) -> bytes:
    """`pdf` with a line of text added to its first page after it was signed."""
    writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
    stream = generic.StreamObject(stream_data=b"BT /F1 14 Tf 72 40 Td (Da sua sau khi ky) Tj ET")
    writer.add_stream_to_page(0, writer.add_object(stream))  # type: ignore[no-untyped-call]
    out = BytesIO()
    writer.write(out)  # type: ignore[no-untyped-call]
    return out.getvalue()
