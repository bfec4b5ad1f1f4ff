"""A throwaway PostgreSQL cluster for the test session.

PostgreSQL refuses to run as root, so when the tests run as root the cluster
lives in a temporary directory owned by the `postgres` user and every server
command runs through `runuser`. The cluster listens on a free loopback port
and trusts local connections; it is stopped and removed at the end.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PG_USER = "postgres"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_pg(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", PG_USER, "--", *cmd]
    return cmd


def _bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    raise FileNotFoundError(f"PostgreSQL binary {name!r} not found")


@contextmanager
def throwaway_cluster(*, durable: bool = False) -> Iterator[str]:
    """Start a cluster; yield its base URL `postgresql://postgres@127.0.0.1:PORT`.

    For tests it does not wait for the disk (no fsync, asynchronous commit);
    `durable=True` keeps PostgreSQL's own settings, so a commit is on disk when
    it returns, as the hub's `202` promises (benchmarks of ingest use it).
    """
    root = Path(tempfile.mkdtemp(prefix="lienthong-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, user=PG_USER)
    os.chmod(root, 0o700)
    port = _free_port()
    subprocess.run(
        _as_pg([_bin("initdb"), "-D", str(data), "-U", PG_USER, "-A", "trust", "-E", "UTF8"]),
        check=True,
        capture_output=True,
    )
    options = (
        f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root} "
        "-c max_connections=200"
    )
    if not durable:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    subprocess.run(
        _as_pg(
            [_bin("pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"]
        ),
        check=True,
        capture_output=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield f"postgresql://{PG_USER}@127.0.0.1:{port}"
    finally:
        subprocess.run(
            _as_pg([_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)
