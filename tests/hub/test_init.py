"""`lienthong hub init`: one idempotent command from nothing to a hub ready to serve."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

from typer.testing import CliRunner

from hub.identity import HubIdentity
from hub.settings import HubSettings
from lienthong.cli import app
from registry.db import assert_migrated, create_engine
from signing.certs import load_certificates
from signing.pki import CertificateAuthority

runner = CliRunner()


def snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.suffix != ".db" and "-wal" not in path.name
    }


def migrated(url: str) -> None:
    async def check() -> None:
        engine = create_engine(url)
        try:
            await assert_migrated(engine)
        finally:
            await engine.dispose()

    asyncio.run(check())


def test_init_makes_a_hub_once_and_then_changes_nothing(tmp_path: Path, database_url: str) -> None:
    env = {"LIENTHONG_DATA_DIR": str(tmp_path), "LIENTHONG_DATABASE_URL": database_url}
    first = runner.invoke(app, ["hub", "init"], env=env)
    assert first.exit_code == 0, first.output
    token = next(line.split()[-1] for line in first.output.splitlines() if "admin token" in line)
    assert token.startswith("lto_")
    pki, ca = tmp_path / "pki", tmp_path / "ca"
    for name in ("ca.crt", "crl.pem", "hub.key", "hub.crt"):
        assert (pki / name).exists(), name
    assert stat.S_IMODE((pki / "hub.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((ca / "ca.key").stat().st_mode) == 0o600
    assert (ca / "crl.pem").exists()
    settings = HubSettings(data_dir=tmp_path, database_url=database_url)
    identity = HubIdentity.load(settings)  # what `hub serve` loads: key, chain, root, CRL
    assert identity.crl is not None
    migrated(settings.resolved_database_url())
    before = snapshot(tmp_path)

    second = runner.invoke(app, ["hub", "init"], env=env)
    assert second.exit_code == 0, second.output
    assert "nothing changed" in second.output
    assert "lto_" not in second.output
    assert snapshot(tmp_path) == before


def test_init_uses_an_existing_ca_and_refuses_a_foreign_root(
    tmp_path: Path, database_url: str
) -> None:
    ca = CertificateAuthority.init(tmp_path / "national-ca")
    env = {"LIENTHONG_DATA_DIR": str(tmp_path / "hub"), "LIENTHONG_DATABASE_URL": database_url}
    done = runner.invoke(app, ["hub", "init", "--ca", str(ca.directory)], env=env)
    assert done.exit_code == 0, done.output
    assert not (tmp_path / "hub" / "ca").exists()
    hub_chain = load_certificates((tmp_path / "hub" / "pki" / "hub.crt").read_bytes())
    assert hub_chain[0].issuer == ca.certificate.subject

    other = CertificateAuthority.init(tmp_path / "other-ca")
    refused = runner.invoke(app, ["hub", "init", "--ca", str(other.directory)], env=env)
    assert refused.exit_code == 2
    assert "does not hold the CA's root" in refused.output
    key = tmp_path / "hub" / "pki" / "hub.key"
    key.unlink()
    lone = runner.invoke(app, ["hub", "init", "--ca", str(ca.directory)], env=env)
    assert lone.exit_code == 2
    assert "hub.key is missing" in lone.output
