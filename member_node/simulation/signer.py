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

import asyncio
import datetime as dt
import multiprocessing
import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from io import BytesIO
from pathlib import Path

from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from member_node.identity import NodeIdentity, Signer
from member_node.simulation.traffic import PlannedDocument
from signing.certs import cert_to_pem, load_certificates
from signing.keys import KeyLike, PrivateKey, private_key_of
from signing.package import Package, new_package, package_json, parse_package
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

    def package(self, identity: NodeIdentity, doc: PlannedDocument) -> Package:
        """The document as its sender makes it (CPU-bound: `SigningAhead` runs it in workers)."""
        header = doc.header()
        recipients = list(doc.recipients)
        name = f"{header['code']['notation']}-{header['code']['number']}.pdf"
        pdf = self.template(doc)
        if doc.signing == "unsigned":
            return new_package(doc.sender, recipients, header, [(name, "application/pdf", pdf)])
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
                        pdf, PdfSigner(_file_key(signer.key), signer.chain), kind, signing_time=when
                    )
            if doc.signing == "edited":
                pdf = edited(pdf)
        pkg = new_package(doc.sender, recipients, header, [(name, "application/pdf", pdf)])
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


Pems = dict[tuple[str, str], tuple[bytes, bytes]]


def _faulty_pems(signer: DocumentSigner) -> Pems:
    return {
        key: (
            _file_key(value.key).private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()),
            b"".join(cert_to_pem(c) for c in value.chain),
        )
        for key, value in signer.faulty.items()
    }


_worker: tuple[DocumentSigner, dict[str, Path], dict[str, NodeIdentity]] | None = None


def _start_worker(names: dict[str, str], pems: Pems, keys_dirs: dict[str, Path]) -> None:
    global _worker
    signer = DocumentSigner(names)
    for key, (key_pem, chain_pem) in pems.items():
        private: PrivateKey = load_pem_private_key(key_pem, None)  # type: ignore[assignment]
        signer.faulty[key] = Signer(private, load_certificates(chain_pem))
    _worker = (signer, keys_dirs, {})


def _make(doc: PlannedDocument) -> bytes:
    assert _worker is not None
    signer, keys_dirs, identities = _worker
    identity = identities.get(doc.sender)
    if identity is None:
        identity = identities[doc.sender] = NodeIdentity.load(keys_dirs[doc.sender], doc.sender)
    return package_json(signer.package(identity, doc))


class SigningAhead:
    """Makes the plan's documents in worker processes, in order, ahead of their sending:
    signing PDFs is CPU work that would otherwise take turns with the hub and the 94
    nodes on this process's one GIL, and a submission would wait for it."""

    def __init__(
        self, signer: DocumentSigner, keys_dirs: Mapping[str, Path], workers: int = 2
    ) -> None:
        context = multiprocessing.get_context(
            "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        )
        self.pool = ProcessPoolExecutor(
            workers,
            mp_context=context,
            initializer=_start_worker,
            initargs=(signer.names, _faulty_pems(signer), dict(keys_dirs)),
        )
        self.made: dict[int, asyncio.Future[bytes]] = {}

    def start(self, plan: Sequence[PlannedDocument]) -> None:
        for doc in plan:
            self.made[doc.index] = asyncio.wrap_future(self.pool.submit(_make, doc))

    async def package(self, doc: PlannedDocument) -> Package:
        return parse_package(await self.made[doc.index])

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def edited(pdf: bytes) -> bytes:
    """`pdf` with a line of text added to its first page after it was signed."""
    writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
    stream = generic.StreamObject(stream_data=b"BT /F1 14 Tf 72 40 Td (Da sua sau khi ky) Tj ET")
    writer.add_stream_to_page(0, writer.add_object(stream))  # type: ignore[no-untyped-call]
    out = BytesIO()
    writer.write(out)  # type: ignore[no-untyped-call]
    return out.getvalue()


def _file_key(key: KeyLike) -> PrivateKey:
    """The simulation's keys are files (the PKI writes them); PDFs need them in memory."""
    private = private_key_of(key)
    if private is None:
        raise ValueError("the simulation signs PDFs with keys held in memory, not on a token")
    return private
