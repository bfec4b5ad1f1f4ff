"""Child processes on loopback: free ports, start, wait until ready, stop or kill."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

import member_node

SOURCE_ROOT = Path(member_node.__file__).resolve().parent.parent


class LaunchError(RuntimeError):
    """A process of the network did not come up; the message points at its log."""


def free_ports(count: int) -> list[int]:
    """`count` distinct loopback ports free right now (held open together while picked)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class ChildProcess:
    """One server process with its log file and its readiness URL."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        health_url: str,
        log_path: Path,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.health_url = health_url
        self.log_path = log_path
        self.env = {**os.environ, **(env or {})}
        # The children import this very code, installed or run from a checkout.
        paths = [str(SOURCE_ROOT), *filter(None, [self.env.get("PYTHONPATH")])]
        self.env["PYTHONPATH"] = os.pathsep.join(paths)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                start_new_session=True,
            )

    async def wait_ready(self, client: httpx.AsyncClient, timeout: float) -> None:
        """Poll the health URL until it answers 200; fail if the process exits first."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process is None or self.process.poll() is not None:
                raise LaunchError(f"{self.name} exited at start-up; see {self.log_path}")
            try:
                response = await client.get(self.health_url, timeout=2.0)
                if response.status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise LaunchError(
                    f"{self.name} not ready after {timeout:.0f}s; see {self.log_path}"
                )
            await asyncio.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers run (what a crash looks like)."""
        if self.running and self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    async def stop(self, grace: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        while process.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if process.poll() is None:
            process.kill()
            process.wait()


async def start_all(
    children: Sequence[ChildProcess], *, timeout: float = 120.0, client: httpx.AsyncClient
) -> None:
    """Start every child at once, then wait for all of them to be ready."""
    for child in children:
        child.start()
    await asyncio.gather(*(child.wait_ready(client, timeout) for child in children))
