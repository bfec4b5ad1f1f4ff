"""Commands: `lienthong pki …`, `lienthong verify` and the walkthrough; `lienthong sign` and
`sign-pdf` are in `signing.sign_cli`, what they share in `signing.cli_options` (both
re-exported here for `lienthong.cli`)."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from signing.cli_options import (
    EXIT_BAD_INPUT,
    EXIT_COMPLIANT,
    EXIT_NOT_COMPLIANT,
    TokenLabel,
    TokenModule,
    fail,
)
from signing.sign_cli import sign, sign_pdf

if TYPE_CHECKING:
    from signing.pki import CertificateAuthority
    from signing.verify import Verdict

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_COMPLIANT",
    "EXIT_NOT_COMPLIANT",
    "IssueKind",
    "KeyTypeChoice",
    "RevocationReason",
    "TokenLabel",
    "TokenModule",
    "check_agency_code",
    "pki_app",
    "sign",
    "sign_pdf",
    "verify",
    "walkthrough",
    "write_crl",
]

# cryptography and the package model are imported inside the commands, so `--help` stays
# fast; the choices below are the library's own (`signing.pki`, `signing.keys`), which a
# test keeps equal.
IssueKind = Literal["organization", "official", "hub"]
KeyTypeChoice = Literal["ec", "ec384", "rsa2048", "rsa3072", "ed25519"]
"""The key types offered here: the weak ones (`rsa1024`, `ec192`) exist only for tests."""
RevocationReason = Literal[
    "unspecified",
    "key_compromise",
    "affiliation_changed",
    "superseded",
    "cessation_of_operation",
    "certificate_hold",
    "privilege_withdrawn",
]

pki_app = typer.Typer(help="The national CA: issue, revoke, publish the CRL.", no_args_is_help=True)


def _load_ca(directory: Path) -> CertificateAuthority:
    from signing.pki import CertificateAuthority

    try:
        return CertificateAuthority.load(directory)
    except (OSError, ValueError) as exc:
        raise fail(str(exc)) from exc


@pki_app.command("init-ca")
def init_ca(
    dir: Annotated[Path, typer.Option("--dir", help="Directory to keep the CA in")],
    name: Annotated[str, typer.Option(help="The CA's name")] = "National Root CA (simulated)",
    days: Annotated[int, typer.Option(help="Validity in days")] = 3650,
) -> None:
    """Create the national root CA in a directory: ca.key (0600), ca.crt and its CRL, crl.pem."""
    from signing.pki import CertificateAuthority

    try:
        ca = CertificateAuthority.init(dir, name=name, days=days)
    except FileExistsError as exc:
        raise fail(str(exc)) from exc
    crl_path = write_crl(ca, ca.directory / "crl.pem")
    typer.echo(f"root CA created in {ca.directory} ({ca.certificate.subject.rfc4514_string()})")
    typer.echo(f"CRL written to {crl_path}")


def write_crl(ca: CertificateAuthority, out: Path) -> Path:
    """Sign the CA's current CRL and write it (PEM) to `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(ca.crl_pem())
    return out


def check_agency_code(code: str) -> str:
    """`code` if it is a valid QCVN 102:2016 agency code; else exit 2 saying why."""
    from signing.codes import AgencyCode, InvalidAgencyCode

    try:
        return str(AgencyCode.parse(code))
    except InvalidAgencyCode as exc:
        raise fail(f"--code {code!r} is not an agency code: {exc.reason}") from exc


@pki_app.command("issue")
def issue(
    dir: Annotated[Path, typer.Option("--dir", help="The CA directory")],
    kind: Annotated[IssueKind, typer.Option(help="What the certificate is for")],
    code: Annotated[
        str,
        typer.Option(
            help="Agency code (organizationIdentifier), e.g. 000.00.00.H26; checked against "
            "QCVN 102:2016 for organisations and officials (a hub's is its own label)"
        ),
    ],
    name: Annotated[str, typer.Option(help="Organisation name, or the official's name")],
    out: Annotated[Path, typer.Option(help="Writes OUT.key (0600) and OUT.crt")],
    title: Annotated[str | None, typer.Option(help="The official's title")] = None,
    org_name: Annotated[str | None, typer.Option(help="The official's organisation")] = None,
    key_type: Annotated[KeyTypeChoice, typer.Option(help="ec is ECDSA P-256")] = "ec",
    days: Annotated[int, typer.Option(min=1, help="Validity in days")] = 730,
) -> None:
    """Issue an organisation, official or hub certificate with a fresh key."""
    if kind != "hub":
        code = check_agency_code(code)
    ca = _load_ca(dir)
    issued = ca.issue(
        kind,
        code,
        name,
        title=title,
        key_type=key_type,
        days=days,
        organization_name=org_name,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    key_path, crt_path = issued.save(out)
    typer.echo(f"issued {kind} certificate: {crt_path} (key {key_path})")


@pki_app.command("issue-tls")
def issue_tls(
    dir: Annotated[Path, typer.Option("--dir", help="The CA directory")],
    name: Annotated[
        list[str], typer.Option("--name", help="A DNS name or IP address (repeat for more)")
    ],
    out: Annotated[Path, typer.Option(help="Writes OUT.key (0600) and OUT.crt (chain after)")],
    key_type: Annotated[KeyTypeChoice, typer.Option(help="ec is ECDSA P-256")] = "ec",
    days: Annotated[int, typer.Option(min=1, help="Validity in days")] = 397,
) -> None:
    """Issue a TLS server certificate for the reverse proxy in front of the hubs."""
    issued = _load_ca(dir).issue_tls_server(name, key_type=key_type, days=days)
    out.parent.mkdir(parents=True, exist_ok=True)
    key_path, crt_path = issued.save(out)
    typer.echo(f"issued TLS server certificate for {', '.join(name)}: {crt_path} (key {key_path})")


@pki_app.command("revoke")
def revoke(
    dir: Annotated[Path, typer.Option("--dir", help="The CA directory")],
    cert: Annotated[Path, typer.Option(help="The certificate to revoke")],
    reason: Annotated[RevocationReason, typer.Option(help="Why")] = "unspecified",
) -> None:
    """Revoke a certificate from now on (then publish the CRL with `pki crl`)."""
    from signing.certs import load_certificate

    ca = _load_ca(dir)
    try:
        revoked = ca.revoke(load_certificate(cert), reason)
    except (OSError, ValueError) as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"revoked serial {revoked.serial:x} ({revoked.reason}) at {revoked.at.isoformat()}")


@pki_app.command("crl")
def crl(
    dir: Annotated[Path, typer.Option("--dir", help="The CA directory")],
    out: Annotated[Path, typer.Option(help="Where to write the CRL (PEM)")],
) -> None:
    """Publish a freshly signed CRL."""
    ca = _load_ca(dir)
    write_crl(ca, out)
    typer.echo(f"CRL with {len(ca.revocations())} revocation(s) written to {out}")


def _render(verdict: Verdict) -> str:
    lines = [
        "COMPLIANT" if verdict.compliant else "NOT COMPLIANT: " + ", ".join(verdict.violations)
    ]
    for f in verdict.signatures:
        verified = "verifies" if f.signature_valid else "does NOT verify"
        lines.append(
            f"  #{f.index} {f.kind or '?'} {f.alg or '?'} by {f.subject or '?'}"
            f" at {f.signing_time or '?'}: {verified}"
        )
    return "\n".join(lines)


def verify(
    package: Annotated[Path, typer.Option(help="The package JSON to verify")],
    ca: Annotated[Path, typer.Option(help="The national root certificate (PEM)")],
    crl: Annotated[Path | None, typer.Option(help="The CA's CRL (PEM)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON")] = False,
) -> None:
    """Verify a package. Exit 0 compliant, 1 not compliant, 2 bad input."""
    from cryptography import x509

    from signing.certs import load_certificates
    from signing.package import PackageFormatError, parse_package
    from signing.trust import TrustStore
    from signing.verify import verify_package

    try:
        roots = load_certificates(ca.read_bytes())
        crls = [x509.load_pem_x509_crl(crl.read_bytes())] if crl else []
        trust = TrustStore(roots, crls)
        pkg = parse_package(package.read_bytes())
    except PackageFormatError as exc:
        raise fail(f"{exc.code}: {exc.detail} {exc.fields or ''}".strip()) from exc
    except (OSError, ValueError) as exc:
        raise fail(str(exc)) from exc
    verdict = verify_package(pkg, trust, received_at=dt.datetime.now(dt.UTC))
    typer.echo(verdict.model_dump_json(indent=2) if as_json else _render(verdict))
    raise typer.Exit(EXIT_COMPLIANT if verdict.compliant else EXIT_NOT_COMPLIANT)


def walkthrough() -> None:
    """A national CA, two certificates, a signed package, verified, tampered, verified again."""
    from signing.package import new_package, package_json, parse_package
    from signing.pades.document import make_pdf
    from signing.pki import CertificateAuthority
    from signing.sign import sign_package
    from signing.trust import TrustStore
    from signing.verify import verify_package

    with tempfile.TemporaryDirectory() as tmp:
        ca = CertificateAuthority.init(Path(tmp) / "ca")
        sender = "000.00.00.H26"
        org = ca.issue("organization", sender, "UBND tỉnh Thái Bình")
        official = ca.issue(
            "official",
            sender,
            "Nguyễn Văn A",
            title="Chủ tịch",
            organization_name="UBND tỉnh Thái Bình",
        )
        typer.echo(f"1. National CA in {tmp}; issued {org.cert.subject.rfc4514_string()}")
        typer.echo(f"   and {official.cert.subject.rfc4514_string()}")
        header = {
            "code": {"number": "274", "notation": "QĐ-UBND"},
            "promulgation": {"place": "Thái Bình", "date": dt.date.today().isoformat()},
            "type": "QD",
            "subject": "Về việc ban hành quy chế",
            "signer": {"name": "Nguyễn Văn A", "position": "Chủ tịch"},
        }
        pkg = new_package(
            sender, ["000.00.00.G22"], header, [("qd274.pdf", "application/pdf", make_pdf(pages=1))]
        )
        pkg = sign_package(pkg, official.key, official.full_chain, "personal")
        pkg = sign_package(pkg, org.key, org.full_chain, "organization")
        typer.echo("2. Signed by the official, then by the organisation.")
        trust = TrustStore([ca.certificate], [ca.crl()])
        now = dt.datetime.now(dt.UTC)
        typer.echo("3. Verified:\n" + _render(verify_package(pkg, trust, received_at=now)))
        data = json.loads(package_json(pkg))
        data["header"]["subject"] = "Về việc bãi bỏ quy chế"
        tampered = parse_package(data)
        typer.echo("4. Subject changed after signing, verified again:")
        typer.echo(_render(verify_package(tampered, trust, received_at=now)))
