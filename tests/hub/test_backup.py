"""docs/OPERATIONS.md's backup and restore, done as written: a backup restored into a fresh
database serves every document, and its event log exports and verifies."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from hub.app import create_app
from lienthong.cli import app as cli
from registry.operators import create_operator
from tests.conftest import PKIFixture, run_sync
from tests.hub.helpers import Agencies, Agency
from tests.postgres import _as_pg, _bin

runner = CliRunner()
SENDER, RECIPIENT = "000.00.00.H26", "000.00.00.G22"


def _env(url: str, pki: PKIFixture, data_dir: Path) -> dict[str, str]:
    return {
        "LIENTHONG_DATABASE_URL": url,
        "LIENTHONG_PKI_DIR": str(pki.directory),
        "LIENTHONG_DATA_DIR": str(data_dir),
        "LIENTHONG_HUB_ID": "lienthong-hub-test",
    }


async def _populate(settings: Any, pki: PKIFixture) -> tuple[Agency, list[str]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            async with app.state.hub.sessions.begin() as session:
                _, token = await create_operator(session, "admin-1", "admin")
            agencies = Agencies(client, {"Authorization": f"Bearer {token}"}, pki)
            sender = await agencies.add(SENDER)
            await agencies.add(RECIPIENT)
            ids = []
            for _ in range(3):
                pkg = sender.package([RECIPIENT])
                response = await client.post(
                    "/v1/documents",
                    content=pkg.model_dump_json(exclude_unset=True),
                    headers={**sender.headers, "Content-Type": "application/json"},
                )
                assert response.status_code == 202, response.text
                ids.append(pkg.id)
    return sender, ids


async def _traces(settings: Any, sender: Agency, ids: list[str]) -> list[dict[str, Any]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            traces = []
            for document_id in ids:
                response = await client.get(f"/v1/documents/{document_id}", headers=sender.headers)
                assert response.status_code == 200, response.text
                traces.append(response.json())
            return traces


def _log_verifies(url: str, pki: PKIFixture, tmp_path: Path, name: str) -> str:
    out = tmp_path / f"{name}.jsonl"
    exported = runner.invoke(
        cli, ["log", "export", "--out", str(out)], env=_env(url, pki, tmp_path)
    )
    assert exported.exit_code == 0, exported.output
    verified = runner.invoke(
        cli, ["log", "verify", str(out), "--ca", str(pki.directory / "ca.crt")]
    )
    assert verified.exit_code == 0, verified.output
    return verified.output.split(",")[0]  # "OK: N entries chained"


def _restore_postgres(url: str, tmp_path: Path) -> str:
    """pg_dump -Fc of the database, then pg_restore into a new one (as the postgres user)."""
    source = make_url(url).set(drivername="postgresql")
    dump = tmp_path / "hub.dump"
    with dump.open("wb") as out:
        subprocess.run(
            _as_pg(
                [_bin("pg_dump"), "--format=custom", "--dbname", source.render_as_string(False)]
            ),
            stdout=out,
            check=True,
        )
    restored = source.set(database=f"{source.database}_restored")
    admin = source.set(database="postgres").render_as_string(False)
    subprocess.run(
        _as_pg([_bin("createdb"), "--maintenance-db", admin, restored.database or ""]),
        check=True,
    )
    with dump.open("rb") as data:
        subprocess.run(
            _as_pg(
                [
                    _bin("pg_restore"),
                    "--no-owner",
                    "--exit-on-error",
                    "--dbname",
                    restored.render_as_string(False),
                ]
            ),
            stdin=data,
            check=True,
        )
    return restored.set(drivername="postgresql+asyncpg").render_as_string(False)


def test_a_backup_restores_into_a_fresh_hub(
    hub_settings: Any, pki: PKIFixture, tmp_path: Path
) -> None:
    settings = hub_settings.model_copy(
        update={"delivery_worker": False, "alert_interval_seconds": 0}
    )
    url = settings.resolved_database_url()
    sender, ids = run_sync(lambda: _populate(settings, pki))
    before = run_sync(lambda: _traces(settings, sender, ids))
    entries = _log_verifies(url, pki, tmp_path, "before")  # seals and signs the head too

    if make_url(url).get_backend_name() == "sqlite":
        backup = tmp_path / "backup.db"
        result = runner.invoke(
            cli, ["hub", "backup", "--out", str(backup)], env=_env(url, pki, tmp_path)
        )
        assert result.exit_code == 0, result.output
        fresh = tmp_path / "restored" / "lienthong.db"
        fresh.parent.mkdir()
        shutil.copyfile(backup, fresh)
        restored_url = f"sqlite+aiosqlite:///{fresh}"
    else:
        restored_url = _restore_postgres(url, tmp_path)

    restored = settings.model_copy(update={"database_url": restored_url})
    assert run_sync(lambda: _traces(restored, sender, ids)) == before
    assert _log_verifies(restored_url, pki, tmp_path, "after") == entries


def test_backup_refuses_postgresql_and_an_existing_file(pki: PKIFixture, tmp_path: Path) -> None:
    pg = _env("postgresql+asyncpg://x@127.0.0.1/db", pki, tmp_path)
    result = runner.invoke(cli, ["hub", "backup", "--out", str(tmp_path / "b.db")], env=pg)
    assert result.exit_code == 2 and "pg_dump" in result.output
    taken = tmp_path / "taken.db"
    taken.write_bytes(b"")
    sqlite = _env(f"sqlite+aiosqlite:///{tmp_path / 'none.db'}", pki, tmp_path)
    result = runner.invoke(cli, ["hub", "backup", "--out", str(taken)], env=sqlite)
    assert result.exit_code == 2
