"""Hostile principal PDFs through `POST /v1/documents`: a verdict, never a 5xx, never a hang.

Each package is accepted (202) and routed (its delivery queued); what is wrong
with its PDF is in the verdict. Run on SQLite and PostgreSQL, with the PDFs read
in the hub's worker processes as in production.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from io import BytesIO
from typing import Any

import pytest
from asn1crypto import cms
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import copy_into_new_writer

from signing.pades.document import make_pdf
from signing.pades.sign import VIETNAM, PdfSigner, sign_pdf_twice
from signing.pades.validate import PdfLimits
from tests.hub.conftest import Hub
from tests.hub.helpers import Agency

SENDER, RECIPIENT = "000.00.00.H26", "000.00.00.G22"
HANG_SECONDS = 120.0  # far above any of these; only a hang reaches it


@pytest.fixture
def hub_overrides() -> dict[str, Any]:
    # room for the 40 MB PDF in base64 (the default limit answers 413 before any reading)
    return {"max_package_bytes": 64 * 1024 * 1024}


@pytest.fixture
async def sender(hub: Hub) -> Agency:
    await hub.add(RECIPIENT)
    return await hub.add(SENDER)


def signed(agency: Agency, data: bytes | None = None) -> bytes:
    return sign_pdf_twice(
        data if data is not None else make_pdf(pages=2),
        PdfSigner(agency.official.key, agency.official.full_chain),
        PdfSigner(agency.org.key, agency.org.full_chain),
        signing_time=dt.datetime.now(VIETNAM).replace(microsecond=0),
    )


def rewrite(data: bytes, change: Callable[[IncrementalPdfFileWriter], None]) -> bytes:
    writer = IncrementalPdfFileWriter(BytesIO(data), strict=False)
    change(writer)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def encrypted(_: Agency) -> bytes:
    writer = copy_into_new_writer(PdfFileReader(BytesIO(make_pdf(pages=1))))
    writer.encrypt("owner-secret", "user-secret")
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def many_fields(agency: Agency) -> bytes:
    def add_fields(writer: IncrementalPdfFileWriter) -> None:
        fields = writer.root["/AcroForm"]["/Fields"]
        value = fields[0].get_object().raw_get("/V")
        for n in range(200):
            fields.append(
                writer.add_object(
                    generic.DictionaryObject(
                        {
                            generic.pdf_name("/FT"): generic.pdf_name("/Sig"),
                            generic.pdf_name("/T"): generic.pdf_string(f"Extra{n}"),
                            generic.pdf_name("/V"): value,
                        }
                    )
                )
            )
        writer.update_container(fields)

    return rewrite(signed(agency), add_fields)


def lying_byte_range(agency: Agency) -> bytes:
    data = signed(agency)
    start, length1, start2, length2 = (
        PdfFileReader(BytesIO(data)).embedded_signatures[-1].byte_range
    )
    old = f"/ByteRange [{start} {length1} {start2} {length2}]".encode()
    lie = f"/ByteRange [{start} {length1} {start2} {length2 - 500}]".encode()
    lie = lie[:-1] + b" " * (len(old) - len(lie)) + b"]"
    at = data.index(old)
    return data[:at] + lie + data[at + len(old) :]


def recursive(_: Agency) -> bytes:
    def loop(writer: IncrementalPdfFileWriter) -> None:
        pages_ref = writer.root.raw_get("/Pages")
        pages = pages_ref.get_object()
        pages["/Kids"].append(pages_ref)
        pages["/Parent"] = pages_ref
        field = generic.DictionaryObject({generic.pdf_name("/FT"): generic.pdf_name("/Sig")})
        field_ref = writer.add_object(field)
        field["/Kids"] = generic.ArrayObject([field_ref])
        field["/Parent"] = field_ref
        writer.root["/AcroForm"] = generic.DictionaryObject(
            {generic.pdf_name("/Fields"): generic.ArrayObject([field_ref])}
        )
        writer.update_container(pages)
        writer.update_root()

    return rewrite(make_pdf(pages=1), loop)


def ecdsa_named_rsa(agency: Agency) -> bytes:
    data = signed(agency)
    embedded = PdfFileReader(BytesIO(data)).embedded_signatures[0]
    content = cms.ContentInfo.load(embedded.pkcs7_content)
    signer_info = content["content"]["signer_infos"][0]
    signer_info["signature_algorithm"] = {"algorithm": "sha256_rsa"}
    signer_info["signed_attrs"] = [
        a for a in signer_info["signed_attrs"] if a["type"].native != "cms_algorithm_protection"
    ]
    new_hex = content.dump(force=True).hex().encode()
    _, length1, start2, _ = embedded.byte_range
    slot = start2 - length1 - 2
    return data[: length1 + 1] + new_hex.ljust(slot, b"0") + data[start2 - 1 :]


HOSTILE: dict[str, tuple[Callable[[Agency], bytes], Callable[[set[str]], bool]]] = {
    "not a PDF": (lambda _: b"hello, this is not a PDF", lambda v: "UNREADABLE_DOCUMENT" in v),
    "truncated": (
        lambda a: (whole := signed(a))[: len(whole) // 2],
        lambda v: bool({"UNREADABLE_DOCUMENT", "BAD_SIGNATURE"} & v),
    ),
    "encrypted": (encrypted, lambda v: "UNREADABLE_DOCUMENT" in v),
    "200 signature fields": (many_fields, lambda v: "VALIDATION_LIMIT_EXCEEDED" in v),
    "a lying ByteRange": (
        lying_byte_range,
        lambda v: bool({"BAD_SIGNATURE", "MODIFIED_AFTER_SIGNING"} & v),
    ),
    "a recursive object graph": (recursive, lambda v: bool(v)),
    "ECDSA under an RSA algorithm": (ecdsa_named_rsa, lambda v: "BAD_SIGNATURE" in v),
    "40 MB": (
        lambda _: make_pdf(pages=1, padding_bytes=40 * 1024 * 1024),
        lambda v: "UNSIGNED" in v and "VALIDATION_LIMIT_EXCEEDED" not in v,
    ),
}


async def submit_pdf(hub: Hub, sender: Agency, pdf: bytes) -> dict[str, Any]:
    pkg = sender.package([RECIPIENT], files=[("qd.pdf", "application/pdf", pdf)], signed=False)
    response = await asyncio.wait_for(hub.submit(sender, pkg), HANG_SECONDS)
    assert response.status_code == 202, response.text
    trace = await hub.trace(sender, pkg.id)
    assert [(d["recipient"], d["state"]) for d in trace.json()["deliveries"]] == [
        (RECIPIENT, "queued")
    ]
    result: dict[str, Any] = response.json()
    return result


@pytest.mark.parametrize("case", list(HOSTILE))
async def test_a_hostile_pdf_gets_a_verdict_and_is_routed(
    hub: Hub, sender: Agency, case: str
) -> None:
    make, expected = HOSTILE[case]
    verdict = (await submit_pdf(hub, sender, make(sender)))["verdict"]
    assert not verdict["compliant"]
    assert expected(set(verdict["violations"])), verdict["violations"]


async def test_a_pdf_signed_twice_is_compliant_through_http(hub: Hub, sender: Agency) -> None:
    verdict = (await submit_pdf(hub, sender, signed(sender)))["verdict"]
    assert verdict["compliant"], verdict["violations"]
    assert [(s["format"], s["source"], s["kind"]) for s in verdict["signatures"]] == [
        ("pades", "attachment:0", "personal"),
        ("pades", "attachment:0", "organization"),
    ]


async def test_concurrent_pdf_submissions_all_get_their_verdict(hub: Hub, sender: Agency) -> None:
    pdfs = [signed(sender), b"not a PDF", signed(sender), encrypted(sender)] * 2
    results = await asyncio.gather(*(submit_pdf(hub, sender, pdf) for pdf in pdfs))
    assert [r["verdict"]["compliant"] for r in results] == [True, False, True, False] * 2


def test_the_default_bounds_are_the_validators() -> None:
    from hub.ingest.pdfs import PdfBounds

    assert PdfBounds().limits.max_seconds == PdfLimits().max_seconds
    assert PdfBounds().limits.max_decoded_bytes == PdfLimits().max_decoded_bytes
