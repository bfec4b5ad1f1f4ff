"""Signed PDFs and packages for the PAdES tests."""

from __future__ import annotations

import functools
from typing import Any

from signing.package import Package, new_package
from signing.pades.document import make_pdf
from signing.pades.sign import PdfSigner, sign_pdf, sign_pdf_twice
from signing.pki import IssuedCertificate
from signing.sign import sign_package
from tests.signing.conftest import HEADER, RECIPIENT, SENDER, SIGNED_AT


@functools.cache
def plain_pdf(pages: int = 2) -> bytes:
    return make_pdf(pages=pages)


def signer(issued: IssuedCertificate) -> PdfSigner:
    return PdfSigner(issued.key, issued.full_chain)


def signed_pdf(
    official: IssuedCertificate | None,
    org: IssuedCertificate | None,
    *,
    data: bytes | None = None,
    **kwargs: Any,
) -> bytes:
    return sign_pdf_twice(
        data if data is not None else plain_pdf(),
        signer(official) if official else None,
        signer(org) if org else None,
        signing_time=kwargs.pop("signing_time", SIGNED_AT),
        **kwargs,
    )


def pdf_then(data: bytes, issued: IssuedCertificate, kind: str) -> bytes:
    return sign_pdf(data, signer(issued), kind, signing_time=SIGNED_AT)  # type: ignore[arg-type]


def package_with(
    pdf: bytes,
    *,
    official: IssuedCertificate | None = None,
    org: IssuedCertificate | None = None,
    extra: list[tuple[str, str, bytes]] | None = None,
) -> Package:
    """A package whose principal PDF is `pdf`, envelope-signed by whoever is given."""
    pkg = new_package(
        SENDER, [RECIPIENT], HEADER, [*(extra or []), ("qd274.pdf", "application/pdf", pdf)]
    )
    if official is not None:
        pkg = sign_package(pkg, official.key, official.full_chain, "personal", SIGNED_AT)
    if org is not None:
        pkg = sign_package(pkg, org.key, org.full_chain, "organization", SIGNED_AT)
    return pkg
