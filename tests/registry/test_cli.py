"""`lienthong registry …` and `lienthong operator …` through typer's runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from registry.cli import operator_app, registry_app
from signing.certs import fingerprint
from tests.conftest import PKIFixture

runner = CliRunner()


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {"LIENTHONG_DATABASE_URL": database_url, "LIENTHONG_DATA_DIR": str(tmp_path)}


def test_load_national_into_a_fresh_sqlite_database(tmp_path: Path) -> None:
    env = {"LIENTHONG_DATA_DIR": str(tmp_path / "var")}
    first = runner.invoke(registry_app, ["load-national", "--json"], env=env)
    assert first.exit_code == 0, first.output
    assert json.loads(first.output) == {"added": 94, "already_present": 0}
    assert (tmp_path / "var" / "lienthong.db").exists()
    again = runner.invoke(registry_app, ["load-national", "--json"], env=env)
    assert json.loads(again.output) == {"added": 0, "already_present": 94}
    listed = runner.invoke(registry_app, ["list", "--json"], env=env)
    assert json.loads(listed.output)["total"] == 94
    shown = runner.invoke(registry_app, ["show", "000.00.00.G22", "--json"], env=env)
    assert shown.exit_code == 0, shown.output


def test_member_lifecycle_and_certificates(
    env: dict[str, str], pki: PKIFixture, tmp_path: Path
) -> None:
    added = runner.invoke(
        registry_app,
        ["add", "000.00.00.H26", "--name", "UBND Hưng Yên", "--kind", "province", "--json"],
        env=env,
    )
    assert added.exit_code == 0, added.output
    assert json.loads(added.output)["status"] == "active"

    bad = runner.invoke(registry_app, ["add", "000.00.12.H27", "--name", "x"], env=env)
    assert bad.exit_code == 1
    assert "error [parent_not_found]" in bad.output

    issued = pki.issue_member("000.00.00.H26")
    _, crt = issued.save(tmp_path / "h26")
    ca = str(pki.directory / "ca.crt")
    cert = runner.invoke(
        registry_app, ["add-cert", "000.00.00.H26", str(crt), "--ca", ca, "--json"], env=env
    )
    assert cert.exit_code == 0, cert.output
    assert json.loads(cert.output)["certificates"][0]["fingerprint"] == fingerprint(issued.cert)

    rotated_cert = pki.issue_member("000.00.00.H26")
    _, crt2 = rotated_cert.save(tmp_path / "h26b")
    rotated = runner.invoke(
        registry_app, ["rotate-cert", "000.00.00.H26", str(crt2), "--ca", ca, "--json"], env=env
    )
    certs = json.loads(rotated.output)["certificates"]
    assert [c["retired_at"] is None for c in certs] == [False, True]

    updated = runner.invoke(
        registry_app,
        ["update", "000.00.00.H26", "--policy", "reject_invalid", "--json"],
        env=env,
    )
    assert json.loads(updated.output)["policy"] == "reject_invalid"
    suspended = runner.invoke(registry_app, ["suspend", "000.00.00.H26", "--json"], env=env)
    assert json.loads(suspended.output)["status"] == "suspended"
    again = runner.invoke(registry_app, ["suspend", "000.00.00.H26"], env=env)
    assert again.exit_code == 1
    assert "invalid_status_transition" in again.output


def test_operator_token_is_printed_once_and_stored_hashed(env: dict[str, str]) -> None:
    created = runner.invoke(
        operator_app, ["create", "--name", "lan", "--role", "admin", "--json"], env=env
    )
    assert created.exit_code == 0, created.output
    token = json.loads(created.output)["token"]
    assert token.startswith("lto_")
    listed = runner.invoke(operator_app, ["list", "--json"], env=env)
    assert token not in listed.output
    assert json.loads(listed.output)[0]["role"] == "admin"
    wrong = runner.invoke(operator_app, ["create", "--name", "x", "--role", "root"], env=env)
    assert wrong.exit_code == 2  # a usage error: the allowed roles are listed in --help
    assert "'root' is not one of" in wrong.output


def test_wire_format(env: dict[str, str]) -> None:
    added = runner.invoke(
        registry_app, ["add", "000.00.00.H26", "--name", "UBND", "--format", "edxml"], env=env
    )
    assert added.exit_code == 0, added.output
    assert "wire_format: edxml" in added.output
    updated = runner.invoke(
        registry_app, ["update", "000.00.00.H26", "--format", "json", "--json"], env=env
    )
    assert updated.exit_code == 0, updated.output
    assert json.loads(updated.output)["wire_format"] == "json"
    bad = runner.invoke(registry_app, ["update", "000.00.00.H26", "--format", "xml"], env=env)
    assert bad.exit_code == 2  # a usage error: the allowed formats are listed in --help
    assert "'xml' is not one of" in bad.output
