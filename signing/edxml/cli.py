"""`lienthong edxml convert` (JSON ⇄ edXML) and `lienthong edxml sign` for integrators."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from signing.cli_options import TokenLabel, TokenModule, fail

if TYPE_CHECKING:
    from cryptography import x509

    from signing.edxml.errors import EdxmlError
    from signing.keys import KeyLike
    from signing.package import PackageFormatError

# lxml, signxml and the package model are imported inside the commands: `--help` stays fast.
LAYOUTS = ("wrapped", "envelope")

edxml_app = typer.Typer(
    help="edXML (QCVN 102:2016): convert to and from the JSON package, sign.",
    no_args_is_help=True,
)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror or exc}") from exc


def _looks_like_xml(data: bytes) -> bool:
    return data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def _to_edxml(data: bytes, layout: str) -> bytes:
    from signing.edxml.write import package_to_edxml
    from signing.package import parse_package

    if _looks_like_xml(data):
        return data
    return package_to_edxml(parse_package(data), layout=layout)  # type: ignore[arg-type]


def _token_key(
    label: str | None, module: str | None, token: str | None, cert: x509.Certificate
) -> KeyLike:
    """The key labelled `label` on a PKCS#11 token, checked against `cert`."""
    if not module or not token:
        raise fail("--pkcs11-key needs --pkcs11-module and --pkcs11-token")
    from signing.pkcs11 import Pkcs11Error, Pkcs11Key

    try:
        return Pkcs11Key(module, token, str(label), public_key=cert.public_key())  # type: ignore[arg-type]
    except Pkcs11Error as exc:
        raise fail(f"the key on the token: {exc}") from exc


def _write(out: Path | None, data: bytes) -> None:
    if out is None:
        sys.stdout.buffer.write(data if data.endswith(b"\n") else data + b"\n")
        return
    try:
        out.write_bytes(data)
    except OSError as exc:
        raise fail(f"cannot write {out}: {exc.strerror or exc}") from exc


def _explain(exc: EdxmlError | PackageFormatError) -> str:
    fields = "".join(f"\n  {f['field']}: {f['message']}" for f in getattr(exc, "fields", [])[:10])
    return f"{exc.code}: {exc.detail}{fields}"


@edxml_app.command("convert")
def convert(
    source: Annotated[Path, typer.Option("--in", help="A JSON package or an edXML document")],
    to: Annotated[str | None, typer.Option(help="json | edxml (default: the other one)")] = None,
    out: Annotated[Path | None, typer.Option(help="Where to write (default stdout)")] = None,
    layout: Annotated[str, typer.Option(help="wrapped (<edXML>) | envelope")] = "wrapped",
) -> None:
    """Convert a JSON package to edXML or an edXML document to a JSON package."""
    from signing.edxml.errors import EdxmlError
    from signing.edxml.reader import edxml_to_package
    from signing.package import PackageFormatError, package_json

    if to not in (None, "json", "edxml"):
        raise fail("--to must be json or edxml")
    if layout not in LAYOUTS:
        raise fail(f"--layout must be one of {', '.join(LAYOUTS)}")
    data = _read(source)
    target = to or ("json" if _looks_like_xml(data) else "edxml")
    try:
        if target == "json":
            result = package_json(edxml_to_package(data))
        else:
            result = _to_edxml(data, layout)
    except (EdxmlError, PackageFormatError) as exc:
        raise fail(_explain(exc)) from exc
    _write(out, result)
    if out is not None:
        typer.echo(f"{target} written to {out}", err=True)


@edxml_app.command("sign")
def sign(
    source: Annotated[Path, typer.Option("--in", help="An unsigned edXML document (or JSON)")],
    cert: Annotated[Path, typer.Option(help="Its certificate, then the chain (PEM)")],
    out: Annotated[Path, typer.Option(help="Where to write the signed edXML")],
    key: Annotated[Path | None, typer.Option(help="The organisation's private key (PEM)")] = None,
    pkcs11_key: Annotated[
        str | None, typer.Option(help="Or: the label of its key on a PKCS#11 token")
    ] = None,
    pkcs11_module: TokenModule = None,
    pkcs11_token: TokenLabel = None,
    layout: Annotated[str, typer.Option(help="For JSON input: wrapped | envelope")] = "wrapped",
) -> None:
    """Sign an edXML document with the organisation's key (XML-DSig, enveloped, URI="").

    The key is a PEM file (`--key`) or stays on a PKCS#11 token (`--pkcs11-key
    LABEL` with `--pkcs11-module` and `--pkcs11-token`; PIN in LIENTHONG_PKCS11_PIN).
    """
    from signing.certs import load_certificates
    from signing.edxml.errors import EdxmlError
    from signing.edxml.sign import sign_envelope
    from signing.keys import load_private_key
    from signing.package import PackageFormatError

    if layout not in LAYOUTS:
        raise fail(f"--layout must be one of {', '.join(LAYOUTS)}")
    if (key is None) == (pkcs11_key is None):
        raise fail("give the key as --key FILE or --pkcs11-key LABEL (one of them)")
    data = _read(source)
    try:
        private = load_private_key(_read(key)) if key is not None else None
        chain = load_certificates(_read(cert))
    except (ValueError, TypeError) as exc:
        raise fail(f"cannot read the key or certificate: {exc}") from exc
    if not chain:
        raise fail(f"no certificate in {cert}")
    signer = private or _token_key(pkcs11_key, pkcs11_module, pkcs11_token, chain[0])
    try:
        signed = sign_envelope(_to_edxml(data, layout), signer, chain)
    except (EdxmlError, PackageFormatError) as exc:
        raise fail(_explain(exc)) from exc
    except ValueError as exc:
        raise fail(str(exc)) from exc
    _write(out, signed)
    typer.echo(f"signed by {chain[0].subject.rfc4514_string()}; written to {out}")
