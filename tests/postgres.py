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


class Cluster:
    """A running throwaway cluster: its URL, and `restart`/`stop`/`start` for fault tests."""

    def __init__(self, root: Path, port: int, options: str) -> None:
        self.root = root
        self.data = root / "data"
        self.port = port
        self.options = options
        self.url = f"postgresql://{PG_USER}@127.0.0.1:{port}"

    def _ctl(self, *args: str, check: bool = True) -> None:
        subprocess.run(
            _as_pg([_bin("pg_ctl"), "-D", str(self.data), *args]),
            check=check,
            capture_output=True,
        )

    def start(self) -> None:
        self._ctl("-o", self.options, "-l", str(self.root / "log"), "-w", "start")
        self._wait_listening()

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-m", mode, "-w", "stop", check=False)

    def restart(self, mode: str = "fast") -> None:
        """`pg_ctl restart -m MODE`: every session is terminated, then the server comes back."""
        self._ctl(
            "-o", self.options, "-l", str(self.root / "log"), "-m", mode, "-w", "restart"
        )  # fmt: skip
        self._wait_listening()

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


@contextmanager
def running_cluster(*, durable: bool = False) -> Iterator[Cluster]:
    """Start a cluster in a temporary directory; yield it; stop and remove it at the end.

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
    cluster = Cluster(root, port, options)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def throwaway_cluster(*, durable: bool = False) -> Iterator[str]:
    """Start a cluster; yield its base URL `postgresql://postgres@127.0.0.1:PORT`."""
    with running_cluster(durable=durable) as cluster:
        yield cluster.url
