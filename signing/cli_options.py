"""What the signing commands share: the exit codes, the bad-input error, and the
PKCS#11 token options (`lienthong sign`, `sign-pdf`, `edxml sign`).

Imports only typer: `--help` stays fast.
"""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_COMPLIANT",
    "EXIT_NOT_COMPLIANT",
    "OfficialTokenKey",
    "OrgTokenKey",
    "TokenLabel",
    "TokenModule",
    "fail",
]

EXIT_COMPLIANT, EXIT_NOT_COMPLIANT, EXIT_BAD_INPUT = 0, 1, 2


def fail(message: str) -> typer.Exit:
    """Print `message` to stderr as an error and give the bad-input exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_BAD_INPUT)


OfficialTokenKey = Annotated[
    str | None, typer.Option(help="Label of the official's key on the PKCS#11 token")
]
OrgTokenKey = Annotated[
    str | None, typer.Option(help="Label of the organisation's key on the PKCS#11 token")
]
TokenModule = Annotated[
    str | None,
    typer.Option(
        envvar="LIENTHONG_PKCS11_MODULE",
        help="The token's PKCS#11 module (the PIN comes from LIENTHONG_PKCS11_PIN)",
    ),
]
TokenLabel = Annotated[
    str | None, typer.Option(envvar="LIENTHONG_PKCS11_TOKEN", help="The token's label")
]
