"""Provision a network from nothing: the national CA, the hub's identity, the
registry's members with their certificates, and each node's keys on disk.

Members are written straight into the hub's database (the registry's own
service functions, one transaction) rather than through the admin API: a
launcher provisions before any hub runs, and 94 members take a second.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding

from member_node.clerk import ClerkRules
from member_node.config import Mode
from registry.certificates import add_certificate
from registry.codes import AgencyCode
from registry.db import create_engine, migrate, session_factory
from registry.members import MemberInput, create_member, update_member
from registry.national import NationalUnit
from registry.national_load import load_units
from registry.operators import create_operator
from signing.certs import cert_to_pem
from signing.pki import CertificateAuthority

ACTOR = "simulation"
HUB_CODE = "000.00.00.G00"


@dataclass(frozen=True)
class NodeSpec:
    """One member of a simulated network and how its node behaves."""

    code: str
    name: str
    kind: str = "other"
    mode: Mode = "push"
    clerk: ClerkRules = field(default_factory=ClerkRules)
    official_name: str = "Nguyễn Văn A"
    official_title: str = "Thủ trưởng"
    wire_format: str = "json"
    """`edxml`: its node receives (and its DMS sends) edXML."""


@dataclass(frozen=True)
class NodeFiles:
    """Where one node keeps its keys (`--keys DIR` layout) and its own database."""

    keys_dir: Path
    data_dir: Path


@dataclass
class Provisioned:
    """What exists after provisioning: the CA, the hub's files, the nodes' files."""

    data_dir: Path
    ca: CertificateAuthority
    pki_dir: Path
    """The hub's `pki_dir`: `ca.crt`, `crl.pem`, `hub.key`, `hub.crt` (no CA key)."""
    database_url: str
    hub_id: str
    admin_token: str
    auditor_token: str
    nodes: dict[str, NodeFiles]

    def publish_crl(self) -> None:
        """Write the CA's current CRL where the hub reads it (it reloads on change)."""
        crl = self.ca.crl().public_bytes(Encoding.PEM)
        (self.pki_dir / "crl.pem").write_bytes(crl)


def database_url_for(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{(data_dir / 'lienthong.db').resolve()}"


async def provision(
    data_dir: Path,
    nodes: Sequence[NodeSpec],
    endpoints: Mapping[str, str],
    *,
    hub_id: str = "lienthong-hub",
    database_url: str | None = None,
    registry: Sequence[NationalUnit] = (),
) -> Provisioned:
    """Create everything a network needs under `data_dir` (which must be empty or absent).

    `endpoints` maps each push member's code to its base URL. `registry`: more units
    to register without a node (the national tree; parents first), loaded in bulk
    before the nodes' members, which then take their node's settings.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    # The root dates from years back, so an official's certificate can have expired under it.
    ca = CertificateAuthority.init(
        data_dir / "ca", not_before=dt.datetime.now(dt.UTC) - dt.timedelta(days=3 * 365)
    )
    pki_dir = data_dir / "pki"
    pki_dir.mkdir(exist_ok=True)
    ca.issue("hub", HUB_CODE, "lienthong hub").save(pki_dir / "hub")
    shutil.copyfile(ca.directory / "ca.crt", pki_dir / "ca.crt")
    url = database_url or database_url_for(data_dir)
    await migrate(url)

    files: dict[str, NodeFiles] = {}
    pems: dict[str, bytes] = {}
    for spec in nodes:
        files[spec.code], pems[spec.code] = _node_files(ca, pki_dir, data_dir, spec)
    admin, auditor = await _register(url, ca, nodes, endpoints, pems, registry)
    result = Provisioned(data_dir, ca, pki_dir, url, hub_id, admin, auditor, files)
    result.publish_crl()
    return result


def _node_files(
    ca: CertificateAuthority, pki_dir: Path, data_dir: Path, spec: NodeSpec
) -> tuple[NodeFiles, bytes]:
    """A node's keys (organisation, official) and the hub's and CA's certificates in its
    home; its files and its organisation certificate's PEM."""
    home = data_dir / "nodes" / spec.code
    keys = home / "keys"
    keys.mkdir(parents=True, exist_ok=True)
    org = ca.issue("organization", spec.code, spec.name)
    org.save(keys / "org")
    official = ca.issue(
        "official",
        spec.code,
        spec.official_name,
        title=spec.official_title,
        organization_name=spec.name,
    )
    official.save(keys / "official")
    shutil.copyfile(pki_dir / "hub.crt", keys / "hub.crt")
    shutil.copyfile(pki_dir / "ca.crt", keys / "ca.crt")
    (home / "data").mkdir(exist_ok=True)
    return NodeFiles(keys, home / "data"), cert_to_pem(org.cert)


async def _register(
    url: str,
    ca: CertificateAuthority,
    nodes: Sequence[NodeSpec],
    endpoints: Mapping[str, str],
    pems: Mapping[str, bytes],
    registry: Sequence[NationalUnit],
) -> tuple[str, str]:
    """The registry's members (the `registry` units, then the nodes' with their settings
    and certificates) and two operators; the admin's and the auditor's tokens."""
    engine = create_engine(url)
    try:
        async with session_factory(engine).begin() as session:
            if registry:
                await load_units(session, registry, actor=ACTOR)
            registered = {unit.code for unit in registry}
            for spec in _parents_first(nodes):
                data = MemberInput(
                    code=spec.code,
                    name=spec.name,
                    kind=spec.kind,
                    delivery_mode=spec.mode,
                    endpoint=endpoints.get(spec.code) if spec.mode == "push" else None,
                    wire_format=spec.wire_format,
                )
                if spec.code in registered:
                    await update_member(session, spec.code, _settings_of(data), actor=ACTOR)
                else:
                    await create_member(session, data, actor=ACTOR)
                await add_certificate(
                    session, spec.code, pems[spec.code], roots=[ca.certificate], actor=ACTOR
                )
            _, admin = await create_operator(session, "simulation-admin", "admin")
            _, auditor = await create_operator(session, "simulation-auditor", "auditor")
    finally:
        await engine.dispose()
    return admin, auditor


def _settings_of(data: MemberInput) -> dict[str, str | None]:
    return {
        "name": data.name,
        "kind": data.kind,
        "delivery_mode": data.delivery_mode,
        "endpoint": data.endpoint,
        "wire_format": data.wire_format,
    }


def _parents_first(nodes: Sequence[NodeSpec]) -> list[NodeSpec]:
    """Register shallower codes first so every parent exists before its children."""
    return sorted(nodes, key=lambda spec: AgencyCode.parse(spec.code).level)
