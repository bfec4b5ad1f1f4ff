"""`lienthong sign` and `lienthong sign-pdf`: sign a package or a PDF with PEM keys or keys
on a PKCS#11 token."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from signing.cli_options import OfficialTokenKey, OrgTokenKey, TokenLabel, TokenModule, fail

if TYPE_CHECKING:
    from cryptography import x509

__all__ = ["load_signer", "sign", "sign_pdf"]

# cryptography, pyHanko and the package model are imported inside the commands: `--help`
# stays fast.


def load_signer(
    key: Path | None,
    cert: Path | None,
    what: str,
    token_key: str | None = None,
    pkcs11: tuple[str | None, str | None] = (None, None),
) -> tuple[Any, list[x509.Certificate]] | None:
    """The key (a PEM file or a token's) and its chain for `--{what}-…`; None if none given."""
    from signing.certs import load_certificates
    from signing.keys import load_private_key

    if key is None and cert is None and token_key is None:
        return None
    if cert is None or (key is None) == (token_key is None):
        if pkcs11 == (None, None) and token_key is None:  # a command without token keys
            raise fail(f"--{what}-key and --{what}-cert go together")
        raise fail(
            f"--{what}-cert goes with either --{what}-key or --{what}-pkcs11-key (one of them)"
        )
    try:
        chain = load_certificates(cert.read_bytes())
        if key is not None:
            return load_private_key(key), chain
    except (OSError, ValueError) as exc:
        raise fail(f"cannot read the {what} key or certificate: {exc}") from exc
    module, token = pkcs11
    if not module or not token:
        raise fail(f"--{what}-pkcs11-key needs --pkcs11-module and --pkcs11-token")
    from signing.pkcs11 import Pkcs11Error, Pkcs11Key

    try:
        public = chain[0].public_key()
        return Pkcs11Key(module, token, str(token_key), public_key=public), chain  # type: ignore[arg-type]
    except Pkcs11Error as exc:
        raise fail(f"the {what} key on the token: {exc}") from exc


def sign(
    package: Annotated[Path, typer.Option(help="The package JSON to sign")],
    out: Annotated[Path, typer.Option(help="Where to write the signed package")],
    official_key: Annotated[Path | None, typer.Option(help="The official's private key")] = None,
    official_cert: Annotated[Path | None, typer.Option(help="The official's certificate")] = None,
    org_key: Annotated[Path | None, typer.Option(help="The organisation's private key")] = None,
    org_cert: Annotated[Path | None, typer.Option(help="The organisation's certificate")] = None,
    official_pkcs11_key: OfficialTokenKey = None,
    org_pkcs11_key: OrgTokenKey = None,
    pkcs11_module: TokenModule = None,
    pkcs11_token: TokenLabel = None,
) -> None:
    """Sign a package: the official first, then the organisation (either may be left out).

    Each key is a PEM file (`--official-key`) or a key on a PKCS#11 token
    (`--official-pkcs11-key LABEL` with `--pkcs11-module` and `--pkcs11-token`).
    """
    from signing.package import PackageFormatError, package_json, parse_package
    from signing.sign import sign_package

    try:
        pkg = parse_package(package.read_bytes())
    except OSError as exc:
        raise fail(str(exc)) from exc
    except PackageFormatError as exc:
        raise fail(f"{exc.code}: {exc.detail} {exc.fields or ''}".strip()) from exc
    token = (pkcs11_module, pkcs11_token)
    for kind, (key, cert, token_key) in (
        ("personal", (official_key, official_cert, official_pkcs11_key)),
        ("organization", (org_key, org_cert, org_pkcs11_key)),
    ):
        what = "official" if kind == "personal" else "org"
        signer = load_signer(key, cert, what, token_key, token)
        if signer is not None:
            pkg = sign_package(pkg, signer[0], signer[1], kind)  # type: ignore[arg-type]
    out.write_bytes(package_json(pkg))
    typer.echo(f"{len(pkg.signatures)} signature(s); written to {out}")


def sign_pdf(
    in_: Annotated[Path, typer.Option("--in", help="The PDF to sign")],
    out: Annotated[Path, typer.Option(help="Where to write the signed PDF")],
    official_key: Annotated[Path | None, typer.Option(help="The official's private key")] = None,
    official_cert: Annotated[Path | None, typer.Option(help="The official's certificate")] = None,
    org_key: Annotated[Path | None, typer.Option(help="The organisation's private key")] = None,
    org_cert: Annotated[Path | None, typer.Option(help="The organisation's certificate")] = None,
    visible: Annotated[bool, typer.Option(help="Show each signature on the last page")] = False,
    official_pkcs11_key: OfficialTokenKey = None,
    org_pkcs11_key: OrgTokenKey = None,
    pkcs11_module: TokenModule = None,
    pkcs11_token: TokenLabel = None,
) -> None:
    """Sign a PDF (PAdES): the official first, then the organisation's seal in a later revision.

    Each key is a PEM file or a key on a PKCS#11 token, as for `lienthong sign`.
    """
    from signing.pades.sign import PdfSigner, PdfSigningError, sign_pdf_twice

    signers: list[PdfSigner | None] = []
    token = (pkcs11_module, pkcs11_token)
    for what, key, cert, token_key in (
        ("official", official_key, official_cert, official_pkcs11_key),
        ("org", org_key, org_cert, org_pkcs11_key),
    ):
        loaded = load_signer(key, cert, what, token_key, token)
        if loaded is not None:
            private, chain = loaded
            if not chain or not _key_fits(private, chain[0]):
                raise fail(f"the {what} key does not belong to the {what} certificate")
            signers.append(PdfSigner(private, chain))
        else:
            signers.append(None)
    if signers == [None, None]:
        raise fail(
            "nothing to sign with: give --official-key/--official-cert or --org-key/--org-cert"
        )
    try:
        data = in_.read_bytes()
        signed = sign_pdf_twice(data, signers[0], signers[1], visible=visible)
    except OSError as exc:
        raise fail(str(exc)) from exc
    except PdfSigningError as exc:
        raise fail(f"{in_}: {exc}") from exc
    out.write_bytes(signed)
    count = sum(s is not None for s in signers)
    typer.echo(f"{count} signature(s) added; written to {out}")


def _key_fits(key: object, cert: x509.Certificate) -> bool:
    from cryptography.hazmat.primitives import serialization

    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    public = getattr(key, "public_key", None)
    return public is not None and public().public_bytes(*spki) == cert.public_key().public_bytes(
        *spki
    )
