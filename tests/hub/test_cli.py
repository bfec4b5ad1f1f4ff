"""`lienthong log export|verify` and `lienthong hub migrate|redrive` through the console script."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hub.eventlog import chain as eventlog
from lienthong.cli import app
from registry.db import assert_migrated, create_engine, session_factory

runner = CliRunner()


def env_for(database_url: str, pki: Any, tmp_path: Path) -> dict[str, str]:
    return {
        "LIENTHONG_DATABASE_URL": database_url,
        "LIENTHONG_PKI_DIR": str(pki.directory),
        "LIENTHONG_DATA_DIR": str(tmp_path),
    }


def record(database_url: str, count: int) -> None:
    async def run() -> None:
        engine = create_engine(database_url)
        try:
            async with session_factory(engine).begin() as session:
                for number in range(count):
                    await eventlog.record(session, "document.accepted", f"doc-{number}", {})
        finally:
            await engine.dispose()

    asyncio.run(run())


@pytest.fixture
def exported(database_url: str, pki: Any, tmp_path: Path) -> Path:
    record(database_url, 5)
    out = tmp_path / "log.jsonl"
    result = runner.invoke(
        app, ["log", "export", "--out", str(out)], env=env_for(database_url, pki, tmp_path)
    )
    assert result.exit_code == 0, result.output
    assert "exported 5 entries and 1 signed heads" in result.output
    return out


def test_an_export_verifies_against_the_root(exported: Path, pki: Any) -> None:
    result = runner.invoke(
        app, ["log", "verify", str(exported), "--ca", str(pki.directory / "ca.crt")]
    )
    assert result.exit_code == 0, result.output
    assert "OK: 5 entries chained, 1 signed heads verified" in result.output


def test_one_changed_byte_fails_verify_and_names_the_entry(exported: Path, pki: Any) -> None:
    raw = bytearray(exported.read_bytes())
    position = raw.index(b'"subject":"doc-3"') + len(b'"subject":"doc-')
    raw[position] = ord("8")
    exported.write_bytes(bytes(raw))

    result = runner.invoke(
        app, ["log", "verify", str(exported), "--ca", str(pki.directory / "ca.crt")]
    )
    assert result.exit_code == 1
    assert "entry 4 (line 5)" in result.output
    assert "altered" in result.output


def test_verify_with_the_crl_passes_heads_signed_before_a_revocation(
    exported: Path, pki: Any
) -> None:
    from datetime import UTC, datetime, timedelta

    # CRLs keep whole seconds: revoked a clear second after the head was signed
    later = datetime.now(UTC) + timedelta(seconds=2)
    pki.ca.revoke(pki.hub.cert, reason="key_compromise", at=later)
    pki.write_crl()
    result = runner.invoke(
        app,
        [
            "log",
            "verify",
            str(exported),
            "--ca",
            str(pki.directory / "ca.crt"),
            "--crl",
            str(pki.directory / "crl.pem"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "OK: 5 entries chained" in result.output
    assert "revocation not checked" not in result.output


def test_verify_with_the_crl_fails_heads_signed_after_a_revocation(
    exported: Path, pki: Any
) -> None:
    pki.ca.revoke(pki.hub.cert, reason="key_compromise", at=pki.hub.cert.not_valid_before_utc)
    pki.write_crl()
    arguments = ["log", "verify", str(exported), "--ca", str(pki.directory / "ca.crt")]

    unchecked = runner.invoke(app, arguments)
    assert unchecked.exit_code == 0, unchecked.output
    assert "revocation not checked" in unchecked.output

    result = runner.invoke(app, [*arguments, "--crl", str(pki.directory / "crl.pem")])
    assert result.exit_code == 1, result.output
    assert "entry 5" in result.output
    assert "revoked since" in result.output and "keyCompromise" in result.output


def test_verify_refuses_a_crl_it_cannot_use(exported: Path, pki: Any, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding

    from signing.pki import CertificateAuthority

    other = CertificateAuthority.init(tmp_path / "other")
    foreign = tmp_path / "foreign-crl.pem"
    foreign.write_bytes(other.crl().public_bytes(Encoding.PEM))
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a CRL")
    arguments = ["log", "verify", str(exported), "--ca", str(pki.directory / "ca.crt")]
    for crl, message in [
        (foreign, "not signed by a trusted root"),
        (garbage, "cannot read the CRL"),
        (tmp_path / "missing.pem", "cannot read the CRL"),
    ]:
        result = runner.invoke(app, [*arguments, "--crl", str(crl)])
        assert result.exit_code == 2, result.output
        assert message in result.output


def test_verify_refuses_another_root(exported: Path, tmp_path: Path) -> None:
    from signing.pki import CertificateAuthority

    other = CertificateAuthority.init(tmp_path / "other")
    result = runner.invoke(
        app, ["log", "verify", str(exported), "--ca", str(other.directory / "ca.crt")]
    )
    assert result.exit_code == 1
    assert "does not chain to the given CA root" in result.output


def test_verify_explains_an_unreadable_root(exported: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["log", "verify", str(exported), "--ca", str(tmp_path / "none.crt")]
    )
    assert result.exit_code == 2
    assert "cannot read the CA root" in result.output


def test_migrate_brings_an_empty_database_to_head(
    empty_database_url: str, pki: Any, tmp_path: Path
) -> None:
    result = runner.invoke(app, ["hub", "migrate"], env=env_for(empty_database_url, pki, tmp_path))
    assert result.exit_code == 0, result.output
    assert "is at revision" in result.output

    async def check() -> None:
        engine = create_engine(empty_database_url)
        try:
            await assert_migrated(engine)
        finally:
            await engine.dispose()

    asyncio.run(check())


def test_export_refuses_an_unmigrated_database(
    empty_database_url: str, pki: Any, tmp_path: Path
) -> None:
    result = runner.invoke(
        app,
        ["log", "export", "--out", str(tmp_path / "x.jsonl")],
        env=env_for(empty_database_url, pki, tmp_path),
    )
    assert result.exit_code == 2
    assert "lienthong hub migrate" in result.output


def test_redrive_needs_a_target_and_names_unknown_deliveries(
    database_url: str, pki: Any, tmp_path: Path
) -> None:
    env = env_for(database_url, pki, tmp_path)
    result = runner.invoke(app, ["hub", "redrive"], env=env)
    assert result.exit_code == 2
    assert "--all-failed" in result.output

    result = runner.invoke(app, ["hub", "redrive", "no-such-delivery"], env=env)
    assert result.exit_code == 1
    assert "no delivery no-such-delivery" in result.output

    result = runner.invoke(app, ["hub", "redrive", "--all-failed"], env=env)
    assert result.exit_code == 0, result.output
    assert "no failed delivery" in result.output

    result = runner.invoke(app, ["hub", "redrive", "--statuses"], env=env)
    assert result.exit_code == 0, result.output
    assert "0 failed status push(es) requeued" in result.output

    result = runner.invoke(app, ["hub", "redrive", "--statuses", "--recipient", "nobody"], env=env)
    assert result.exit_code == 1
    assert "no member nobody" in result.output

    unknown = ["hub", "redrive", "--all-failed", "--recipient", "nobody"]
    result = runner.invoke(app, unknown, env=env)
    assert result.exit_code == 1
    assert "no member nobody" in result.output
