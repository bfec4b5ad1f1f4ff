"""`lienthong hub migrate` then `lienthong hub serve` as real processes on a free port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def lienthong(*args: str) -> list[str]:
    return [sys.executable, "-m", "lienthong", *args]


def environment(database_url: str, pki: Any, tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "LIENTHONG_DATABASE_URL": database_url,
            "LIENTHONG_PKI_DIR": str(pki.directory),
            "LIENTHONG_DATA_DIR": str(tmp_path),
            "LIENTHONG_DELIVERY_WORKER": "false",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


@contextmanager
def serving(env: dict[str, str], port: int, *extra: str) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        lienthong("hub", "serve", "--port", str(port), *extra),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_up(process: subprocess.Popen[str], url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise AssertionError(f"the hub exited with {process.returncode}:\n{output}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("the hub did not come up within 30 s")


def test_migrate_then_serve_answers_healthz_and_readyz(
    empty_database_url: str, pki: Any, tmp_path: Path
) -> None:
    env = environment(empty_database_url, pki, tmp_path)
    migrated = subprocess.run(
        lienthong("hub", "migrate"), env=env, capture_output=True, text=True, timeout=60
    )
    assert migrated.returncode == 0, migrated.stderr

    port = free_port()
    with serving(env, port) as process:
        wait_until_up(process, f"http://127.0.0.1:{port}/healthz")
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        assert ready.status_code == 200, ready.text
        assert ready.json()["status"] == "ok"
    assert process.returncode == 0


def test_serve_with_two_workers(database_url: str, pki: Any, tmp_path: Path) -> None:
    env = environment(database_url, pki, tmp_path)
    port = free_port()
    with serving(env, port, "--workers", "2") as process:
        wait_until_up(process, f"http://127.0.0.1:{port}/readyz")


def test_serve_refuses_an_unmigrated_database_and_says_what_to_run(
    empty_database_url: str, pki: Any, tmp_path: Path
) -> None:
    env = environment(empty_database_url, pki, tmp_path)
    refused = subprocess.run(
        lienthong("hub", "serve", "--port", str(free_port())),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0
    assert "run `lienthong hub migrate`" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_serve_refuses_a_missing_identity(database_url: str, pki: Any, tmp_path: Path) -> None:
    (pki.directory / "hub.key").unlink()
    env = environment(database_url, pki, tmp_path)
    refused = subprocess.run(
        lienthong("hub", "serve", "--port", str(free_port())),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0
    assert "lienthong pki" in refused.stderr
    assert "Traceback" not in refused.stderr
