"""Shared fixtures: fresh migrated databases on SQLite and PostgreSQL, a PKI, the hub app.

`database_url` is the one fixture a database test needs: parametrized over
`sqlite` and `postgresql`, it gives each test its own fresh database already
at the head revision. Migrations run once per session into a template; each
test then gets a copy (a file copy on SQLite, `CREATE DATABASE ... TEMPLATE`
on PostgreSQL), so a test costs milliseconds, not a migration.

The PostgreSQL cluster is started once per session (`tests/postgres.py`).
Outside CI a cluster that cannot start skips the `postgresql` cases; in CI
(`CI=true`) it is a failure.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from registry.db import create_engine, migrate
from tests.postgres import throwaway_cluster

T = TypeVar("T")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
TEMPLATE_DB = "lienthong_template"


def run_sync(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion on a private loop in a thread (safe inside fixtures)."""
    result: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(factory()))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]


async def _execute_autocommit(url: str, *statements: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    connection = await asyncpg.connect(url)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


@dataclass
class PostgresCluster:
    base_url: str
    """`postgresql://postgres@127.0.0.1:PORT` (no database)."""

    def url(self, database: str) -> str:
        return f"{self.base_url}/{database}"

    def async_url(self, database: str) -> str:
        return "postgresql+asyncpg://" + self.url(database).split("://", 1)[1]


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster | None]:
    """The session's PostgreSQL cluster, or None when it cannot start outside CI."""
    try:
        context = throwaway_cluster()
        base_url = context.__enter__()
    except (OSError, FileNotFoundError, Exception) as exc:
        if IN_CI:
            raise RuntimeError(f"PostgreSQL must run in CI but could not start: {exc}") from exc
        yield None
        return
    try:
        yield PostgresCluster(base_url)
    finally:
        context.__exit__(None, None, None)


@pytest.fixture(scope="session")
def postgres_template(postgres_cluster: PostgresCluster | None) -> str | None:
    """A database migrated to head once per session; tests copy it."""
    if postgres_cluster is None:
        return None
    cluster = postgres_cluster
    run_sync(lambda: _execute_autocommit(cluster.url("postgres"), f"CREATE DATABASE {TEMPLATE_DB}"))
    run_sync(lambda: migrate(cluster.async_url(TEMPLATE_DB)))
    return TEMPLATE_DB


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per session, checkpointed so a copy is complete."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    url = f"sqlite+aiosqlite:///{path}"

    async def build() -> None:
        await migrate(url)
        engine = create_engine(url)
        async with engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        await engine.dispose()

    run_sync(build)
    return path


_database_numbers = itertools.count(1)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_kind(request: pytest.FixtureRequest) -> str:
    """Which database this test runs on; parametrizes every test that needs a database."""
    kind: str = request.param
    return kind


@pytest.fixture
def empty_database_url(
    database_kind: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> Iterator[str]:
    """A fresh EMPTY database (no schema) for migration tests; async URL."""
    if database_kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    cluster = _cluster_or_skip(request)
    name = f"e{next(_database_numbers)}_{os.getpid()}"
    run_sync(lambda: _execute_autocommit(cluster.url("postgres"), f"CREATE DATABASE {name}"))
    yield cluster.async_url(name)


@pytest.fixture
def database_url(database_kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database at the head revision, its async SQLAlchemy URL.

    Use it with `HubSettings(database_url=database_url, data_dir=tmp_path)`
    or `registry.db.create_engine(database_url)`.
    """
    if database_kind == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "lienthong.db"
        shutil.copyfile(template, path)
        return f"sqlite+aiosqlite:///{path}"
    cluster = _cluster_or_skip(request)
    template_name: str = request.getfixturevalue("postgres_template")
    name = f"t{next(_database_numbers)}_{os.getpid()}"
    run_sync(
        lambda: _execute_autocommit(
            cluster.url("postgres"), f"CREATE DATABASE {name} TEMPLATE {template_name}"
        )
    )
    return cluster.async_url(name)


def _cluster_or_skip(request: pytest.FixtureRequest) -> PostgresCluster:
    cluster: PostgresCluster | None = request.getfixturevalue("postgres_cluster")
    if cluster is None:
        pytest.skip("PostgreSQL could not start (set CI=true to make this a failure)")
    return cluster


@pytest.fixture
async def db_sessions(database_url: str) -> AsyncIterator[Any]:
    """An `async_sessionmaker` on a fresh migrated database."""
    from registry.db import session_factory

    engine = create_engine(database_url)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


# -- PKI and the hub app ------------------------------------------------------------------

HUB_ID = "lienthong-hub-test"


@dataclass
class PKIFixture:
    """A national CA and a hub certificate laid out as the hub expects (`pki_dir`)."""

    directory: Path
    ca: Any
    hub: Any

    def issue_member(self, code: str, name: str | None = None, **kwargs: Any) -> Any:
        """An organisation certificate (with key) for the member `code`."""
        return self.ca.issue("organization", code, name or f"Agency {code}", **kwargs)

    def write_crl(self) -> None:
        from cryptography.hazmat.primitives.serialization import Encoding

        (self.directory / "crl.pem").write_bytes(self.ca.crl().public_bytes(Encoding.PEM))


@pytest.fixture
def pki(tmp_path: Path) -> PKIFixture:
    """A fresh CA with `ca.crt`, `crl.pem`, `hub.key` (0600) and `hub.crt` in one directory."""
    from signing.pki import CertificateAuthority

    directory = tmp_path / "pki"
    ca = CertificateAuthority.init(directory)
    hub = ca.issue("hub", "000.00.00.G00", "lienthong hub")
    hub.save(directory / "hub")
    result = PKIFixture(directory, ca, hub)
    result.write_crl()
    return result


@pytest.fixture
def hub_settings(database_url: str, pki: PKIFixture, tmp_path: Path) -> Any:
    """`HubSettings` on a fresh migrated database and the test PKI."""
    from hub.settings import HubSettings

    return HubSettings(
        data_dir=tmp_path, database_url=database_url, pki_dir=pki.directory, hub_id=HUB_ID
    )


@pytest.fixture
async def hub_app(hub_settings: Any) -> AsyncIterator[Any]:
    """The hub app with its lifespan running (engine, identity)."""
    from hub.app import create_app

    app = create_app(hub_settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def hub_client(hub_app: Any) -> AsyncIterator[Any]:
    """An `httpx.AsyncClient` talking to the hub app in-process (base URL `http://hub`)."""
    import httpx

    transport = httpx.ASGITransport(app=hub_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
        yield client


@pytest.fixture
def operator_token(hub_app: Any) -> Callable[[str], Coroutine[Any, Any, dict[str, str]]]:
    """`await operator_token("admin")` -> Authorization headers of a new operator."""
    from registry.operators import create_operator

    numbers = itertools.count(1)

    async def make(role: str = "admin") -> dict[str, str]:
        async with hub_app.state.hub.sessions.begin() as session:
            _, token = await create_operator(session, f"{role}-{next(numbers)}", role)
        return {"Authorization": f"Bearer {token}"}

    return make
