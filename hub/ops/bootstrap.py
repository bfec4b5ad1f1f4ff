"""`lienthong hub init`: everything a hub needs before its first `serve`, made once.

The national CA (or an existing one), the hub's key and certificate, the CRL,
the database at the head revision and an admin operator. Each step looks
before it writes: what exists is kept (a key is never overwritten), so a
second run changes nothing and says so. A step that finds something it cannot
reconcile (a hub certificate without its key, a root that is not the CA's)
stops with a `BootstrapError` naming the file, before anything else is written.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

from hub.settings import HubSettings
from registry.db import create_engine, current_revision, migrate, session_factory
from registry.operators import create_operator, find_by_name
from signing.certs import cert_to_pem, load_certificates
from signing.keys import save_private_key
from signing.pki import CertificateAuthority

HUB_CODE = "000.00.00.G00"
HUB_NAME = "lienthong hub"


class BootstrapError(Exception):
    """Something on disk that `hub init` will not touch; the message says what and where."""


@dataclass
class Step:
    what: str
    changed: bool
    detail: str


@dataclass
class Bootstrap:
    """What `hub init` did, step by step, and the admin token if it made one."""

    steps: list[Step] = field(default_factory=list)
    admin_token: str | None = None

    @property
    def changed(self) -> bool:
        return any(step.changed for step in self.steps)

    def note(self, what: str, changed: bool, detail: str) -> None:
        self.steps.append(Step(what, changed, detail))


def initialise(
    settings: HubSettings,
    *,
    ca_dir: Path | None = None,
    hub_code: str = HUB_CODE,
    hub_name: str = HUB_NAME,
    operator: str = "admin",
) -> Bootstrap:
    """Make (or keep) the CA, the hub identity, the CRL, the schema and an admin operator."""
    done = Bootstrap()
    key_path, cert_path = settings.resolved_hub_key(), settings.resolved_hub_cert()
    root_path, crl_path = settings.resolved_ca_cert(), settings.resolved_crl_file()
    if key_path.exists() != cert_path.exists():
        missing = cert_path if key_path.exists() else key_path
        raise BootstrapError(
            f"{missing} is missing while its pair exists; restore it or remove both"
        )
    need_ca_key = not key_path.exists() or not crl_path.exists()
    ca, root = _certificate_authority(done, ca_dir or settings.data_dir / "ca", need_ca_key, ca_dir)
    _root(done, root, root_path)
    if key_path.exists():
        chain = load_certificates(cert_path.read_bytes())
        if not chain or chain[0].issuer != root.subject:
            raise BootstrapError(f"{cert_path} was not issued by the CA of {root_path}")
        done.note("hub certificate", False, f"{cert_path} kept")
    else:
        assert ca is not None
        issued = ca.issue("hub", hub_code, hub_name, days=3650)
        save_private_key(key_path, issued.key)
        cert_path.write_bytes(b"".join(cert_to_pem(c) for c in issued.full_chain))
        done.note(
            "hub certificate", True, f"{cert_path} issued to {hub_code} (key {key_path}, 0600)"
        )
    if crl_path.exists():
        done.note("CRL", False, f"{crl_path} kept (publish a new one with `lienthong pki crl`)")
    else:
        assert ca is not None
        crl_path.parent.mkdir(parents=True, exist_ok=True)
        crl_path.write_bytes(ca.crl_pem())
        done.note("CRL", True, f"{crl_path} written")
    asyncio.run(_database(done, settings.resolved_database_url(), operator))
    return done


def _certificate_authority(
    done: Bootstrap, directory: Path, need_key: bool, given: Path | None
) -> tuple[CertificateAuthority | None, x509.Certificate]:
    if (directory / "ca.key").exists():
        ca = CertificateAuthority.load(directory)
        done.note("CA", False, f"{directory} kept")
        return ca, ca.certificate
    if given is not None:
        roots = (
            load_certificates((directory / "ca.crt").read_bytes())
            if (directory / "ca.crt").exists()
            else []
        )
        if need_key or not roots:
            raise BootstrapError(
                f"no CA key in {directory}: the hub certificate and the CRL are issued with it"
            )
        done.note("CA", False, f"{directory}/ca.crt used (no key there; nothing to issue)")
        return None, roots[0]
    ca = CertificateAuthority.init(directory)
    (directory / "crl.pem").write_bytes(ca.crl_pem())
    done.note("CA", True, f"{directory} created (ca.key 0600, ca.crt, crl.pem)")
    return ca, ca.certificate


def _root(done: Bootstrap, root: x509.Certificate, path: Path) -> None:
    if path.exists():
        if root not in load_certificates(path.read_bytes()):
            raise BootstrapError(f"{path} does not hold the CA's root; remove it or give --ca")
        done.note("national root", False, f"{path} kept")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(cert_to_pem(root))
    done.note("national root", True, f"{path} written")


async def _database(done: Bootstrap, url: str, operator: str) -> None:
    engine = create_engine(url)
    try:
        before = await current_revision(engine)
        await migrate(engine)
        after = await current_revision(engine)
        if before == after:
            done.note("database", False, f"at revision {after}, kept")
        else:
            done.note("database", True, f"migrated from {before or 'empty'} to {after}")
        async with session_factory(engine).begin() as session:
            existing = await find_by_name(session, operator)
            if existing is not None:
                done.note(
                    "admin operator",
                    False,
                    f"{operator!r} exists ({existing.role}); its token is not shown again",
                )
                return
            _, token = await create_operator(session, operator, "admin")
        done.admin_token = token
        done.note("admin operator", True, f"{operator!r} created")
    finally:
        await engine.dispose()


__all__ = ["HUB_CODE", "Bootstrap", "BootstrapError", "initialise"]
