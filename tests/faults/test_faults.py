"""The hub under faults, with real processes: PostgreSQL restarted under load, the hub
SIGKILLed under load (both databases), SQLite on a full filesystem, a push node down for
a while. Each checks the promises in `harness`; `pytest -s` prints each run's figures."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import httpx
import pytest

from member_node.simulation.launcher import Network, hub_environment, launch
from member_node.simulation.processes import ChildProcess, LaunchError, free_ports
from tests.conftest import IN_CI
from tests.faults.harness import (
    PUSHED,
    RECIPIENTS,
    SHORT_RETRIES,
    SPECS,
    Tally,
    check_delivered,
    check_event_log,
    checked_load,
    processes,
    report,
    run_load,
    until,
)
from tests.integration.helpers import eventually
from tests.postgres import Cluster, running_cluster

pytestmark = [pytest.mark.faults, pytest.mark.slow]


@contextmanager
def own_cluster() -> Iterator[Cluster]:
    """A PostgreSQL cluster of the test's own (it gets restarted), or a skip outside CI."""
    try:
        context = running_cluster()
        cluster = context.__enter__()
    except (OSError, subprocess.CalledProcessError) as exc:
        if IN_CI:
            raise
        pytest.skip(f"PostgreSQL could not start: {exc}")
    try:
        yield cluster
    finally:
        context.__exit__(None, None, None)


async def _database(cluster: Cluster, name: str = "faults") -> str:
    connection = await asyncpg.connect(cluster.url + "/postgres")
    try:
        await connection.execute(f"CREATE DATABASE {name}")
    finally:
        await connection.close()
    return f"{cluster.url}/{name}"


async def _stop(stop: asyncio.Event, load: list[asyncio.Task[None]]) -> None:
    stop.set()
    await asyncio.gather(*load)


async def test_postgresql_restarted_under_load(tmp_path: Path) -> None:
    started = time.monotonic()
    with own_cluster() as cluster:
        url = await _database(cluster)
        async with processes(tmp_path, url) as network, checked_load(network, tmp_path) as load:
            await until(20, load.tally)
            for _ in range(2):
                await asyncio.to_thread(cluster.restart, "fast")
                await until(len(load.tally.accepted) + 20, load.tally)
    report("postgresql restart x2", load.tally, started, log_entries=load.log_entries)


LOADED_SECONDS = 180.0
"""The bound on each wait of the SIGKILL test: what takes seconds on a quiet machine takes
a minute or more on a loaded one (starting a hub is imports, migrations checked, the PKI
read), and only a hang should fail the test."""


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
async def test_the_hub_sigkilled_under_load(tmp_path: Path, database: str) -> None:
    started = time.monotonic()
    with contextlib_cluster(database) as cluster:
        url = None if cluster is None else await _database(cluster)
        async with launch(
            tmp_path / "net",
            SPECS,
            placement="processes",
            hub_settings=SHORT_RETRIES,
            poll_interval=0.3,
            database_url=url,
            ready_timeout=LOADED_SECONDS,
        ) as network:
            tally, stop = Tally(), asyncio.Event()
            load = await run_load(network, tally, stop)
            await until(20, tally, timeout=LOADED_SECONDS)
            network.kill_hub()  # SIGKILL mid-load: no shutdown handler runs
            killed_at = len(tally.accepted)
            await asyncio.sleep(0.5)
            down = time.monotonic()
            restarts = await _restart_hub(network, tmp_path / "net" / "logs" / "hub.log")
            up = time.monotonic()
            await until(len(tally.accepted) + 20, tally, timeout=LOADED_SECONDS)
            await _stop(stop, load)
            stopped = time.monotonic()
            await check_delivered(network, tally, timeout=LOADED_SECONDS)
            delivered = time.monotonic()
            entries = check_event_log(network, tmp_path)
    report(
        f"hub SIGKILL on {database}", tally, started, killed_at=killed_at,
        restarts=restarts, log_entries=entries, restart_s=f"{up - down:.1f}",
        load_after_s=f"{stopped - up:.1f}", delivery_s=f"{delivered - stopped:.1f}",
    )  # fmt: skip


async def _restart_hub(network: Network, log: Path, attempts: int = 5) -> int:
    """Start the killed hub again, as its supervisor would; the number of starts it took.

    While the hub is down its port is free, and on a busy machine another process may
    take it meanwhile (any outgoing connection's local port); then the hub exits saying
    so and is started again once the port is free. Any other failure to start fails, with
    what the hub said.
    """
    for attempt in range(1, attempts + 1):
        written = log.stat().st_size
        try:
            await network.restart_hub(timeout=LOADED_SECONDS)
            return attempt
        except LaunchError as exc:
            with log.open("rb") as file:
                file.seek(written)
                said = file.read().decode(errors="replace")
            if "address already in use" not in said.lower() or attempt == attempts:
                raise AssertionError(f"{exc}; the hub said:\n{said[-3000:]}") from exc
            await asyncio.sleep(2.0)
    raise AssertionError("unreachable")


async def test_two_hub_processes_one_sigkilled_under_load(tmp_path: Path) -> None:
    """Two `hub serve` processes on one PostgreSQL share the load (submissions to both,
    both pushing); one is SIGKILLed mid-load and not restarted: the survivor takes over
    its leased pushes, and every accepted document has one delivery per recipient,
    delivered, and reaches each node once."""
    started = time.monotonic()
    with own_cluster() as cluster:
        url = await _database(cluster)
        async with processes(tmp_path, url) as network:
            [port] = free_ports(1)
            second_url = f"http://127.0.0.1:{port}"
            second = ChildProcess(
                "hub-2",
                [sys.executable, "-m", "lienthong", "hub", "serve", "--port", str(port),
                 "--log-level", "warning"],
                health_url=f"{second_url}/healthz",
                log_path=tmp_path / "net" / "logs" / "hub-2.log",
                env=hub_environment(network.hub_settings),
            )  # fmt: skip
            second.start()
            try:
                async with httpx.AsyncClient() as http:
                    await second.wait_ready(http, 90)
                urls = [network.hub_url, second_url]
                async with checked_load(network, tmp_path, hub_urls=urls) as load:
                    await until(30, load.tally)
                    second.kill()
                    killed_at = len(load.tally.accepted)
                    await until(killed_at + 20, load.tally)
                await _one_delivery_each(url, load.tally)
            finally:
                await second.stop()
    report(
        "two hubs, one SIGKILLed",
        load.tally,
        started,
        killed_at=killed_at,
        log_entries=load.log_entries,
    )


async def _one_delivery_each(database_url: str, tally: Tally) -> None:
    """In the hub's database: one delivery per (accepted document, recipient), delivered."""
    connection = await asyncpg.connect(database_url)
    try:

        async def all_delivered() -> bool:
            rows = await connection.fetch(
                "SELECT document_id, recipient, count(*) AS n, "
                "count(delivered_at) AS delivered FROM deliveries "
                "WHERE document_id = ANY($1::varchar[]) GROUP BY document_id, recipient",
                sorted(tally.accepted),
            )
            assert all(row["n"] == 1 for row in rows), "a delivery row twice"
            expected = len(tally.accepted) * len(RECIPIENTS)
            return len(rows) == expected and all(row["delivered"] == 1 for row in rows)

        await eventually(all_delivered, timeout=60, every=0.5)
    finally:
        await connection.close()


@contextmanager
def contextlib_cluster(database: str) -> Iterator[Cluster | None]:
    if database == "sqlite":
        yield None
        return
    with own_cluster() as cluster:
        yield cluster


@contextmanager
def small_tmpfs(path: Path, size: str = "24m") -> Iterator[Path]:
    """A tmpfs of `size` mounted at `path`, or a skip where the machine allows no mount."""
    path.mkdir(parents=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root (run the fault suite as root or in CI)")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (no CAP_SYS_ADMIN?): {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


LEAVE_FREE = 3 * 1024 * 1024
ATTACHMENT = ("scan.pdf", "application/pdf", os.urandom(96 * 1024))


async def test_sqlite_on_a_full_filesystem(tmp_path: Path) -> None:
    started = time.monotonic()
    with small_tmpfs(tmp_path / "disk") as disk:
        database_url = f"sqlite+aiosqlite:///{disk / 'hub.db'}"
        async with processes(tmp_path, database_url, min_free_disk_bytes=2 * LEAVE_FREE) as network:
            filler = disk / "filler"
            with filler.open("wb") as out:  # leave a little room: the load fills the rest
                out.write(b"\0" * max(0, shutil.disk_usage(disk).free - LEAVE_FREE))
            async with checked_load(network, tmp_path, files=(ATTACHMENT,)) as load:
                tally = load.tally

                async def refused_for_storage() -> bool:
                    return tally.answers["503 storage_full"] >= 3

                await eventually(refused_for_storage, timeout=60, every=0.2)
                readiness = await _readyz(network)
                filler.unlink()  # the operator frees space: the hub accepts again
                accepted_when_full = len(tally.accepted)
                await until(accepted_when_full + 20, tally)
                assert readiness["status"] == "fail" and "disk" in readiness["failing"]
    report(
        "sqlite on a full 24 MiB tmpfs",
        load.tally,
        started,
        accepted_before_full=accepted_when_full,
        log_entries=load.log_entries,
    )


async def _readyz(network: Network) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=network.hub_url, timeout=10) as http:
        response = await http.get("/readyz")
    assert response.status_code == 503, response.text
    body: dict[str, object] = response.json()
    return body


DOWN_SECONDS = 30.0


async def test_a_push_node_down_for_a_while_then_back(tmp_path: Path) -> None:
    started = time.monotonic()
    async with processes(tmp_path) as network, checked_load(network, tmp_path, pause=0.2) as load:
        await until(10, load.tally)
        await network.take_down(PUSHED)
        await asyncio.sleep(DOWN_SECONDS)
        accepted_while_down = len(load.tally.accepted)
        await network.bring_up(PUSHED)
        await until(accepted_while_down + 10, load.tally)
    report(
        f"push node down {DOWN_SECONDS:.0f}s",
        load.tally,
        started,
        accepted_while_down=accepted_while_down,
        log_entries=load.log_entries,
    )
