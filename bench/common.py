"""What every bench shares: the machine's load, ports, a hub (or any server) as a child
process, a throwaway PostgreSQL and its databases, the bench CA, bearer tokens, percentiles.

Kept in one place so each bench file holds only what it measures.
"""

from __future__ import annotations

import asyncio
import math
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from signing.pki import CertificateAuthority, IssuedCertificate

ROOT = Path(__file__).resolve().parents[1]
HUB_ID = "lienthong-bench"

__all__ = [
    "HUB_ID",
    "ROOT",
    "bench_token",
    "create_pg_database",
    "free_port",
    "fresh_database",
    "hub_command",
    "hub_env",
    "make_ca",
    "percentile",
    "postgres_server",
    "quiet_hub_settings",
    "server",
    "server_pids",
    "signed_pdf",
    "tree_cpu_seconds",
    "uptime",
]


server_pids: dict[str, int] = {}
"""The process id of each server `server` runs, by its URL."""


def uptime() -> str:
    """`uptime`'s line (the load the figures were measured under)."""
    try:
        return subprocess.run(
            ["uptime"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        return "load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(
    command: list[str],
    env: dict[str, str],
    port: int,
    ready: str = "/readyz",
    ready_statuses: Sequence[int] = (200, 404),
) -> Iterator[str]:
    """Run `command` until the block ends; yield its URL once `ready` answers one of
    `ready_statuses` (a bare app without the path answers 404: it is up)."""
    process = subprocess.Popen(command, env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # a loaded machine starts a hub slowly
        last = "no answer"
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{command} exited with {process.returncode}")
            try:
                answer = httpx.get(url + ready, timeout=10)
                if answer.status_code in ready_statuses:
                    break
                last = f"{answer.status_code} {answer.text[:300]}"
            except httpx.TransportError as exc:
                last = repr(exc)
            if time.monotonic() > deadline:
                raise RuntimeError(f"{command} did not come up: {last}")
            time.sleep(0.2)
        server_pids[url] = process.pid
        yield url
    finally:
        server_pids.pop(url, None)
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def hub_command(port: int, workers: int = 1) -> list[str]:
    """`lienthong hub serve` on loopback, quiet."""
    return [sys.executable, "-m", "lienthong", "hub", "serve", "--port", str(port),
            "--workers", str(workers), "--log-level", "warning"]  # fmt: skip


def hub_env(
    database_url: str, pki: Path, data_dir: Path, source: str | None = None, **settings: str
) -> dict[str, str]:
    """The hub's environment: its code (`source`, another checkout to compare with, or
    this one) on the path, the bench's database, PKI, data directory (made: `/readyz`
    checks its disk) and hub id; `settings` are more `LIENTHONG_*` variables, named
    without the prefix (`PUSH_TIMEOUT_SECONDS="5"`)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(
        os.environ,
        PYTHONPATH=source or str(ROOT),
        LIENTHONG_DATABASE_URL=database_url,
        LIENTHONG_PKI_DIR=str(pki),
        LIENTHONG_DATA_DIR=str(data_dir),
        LIENTHONG_HUB_ID=HUB_ID,
        LIENTHONG_LOG_LEVEL="WARNING",
    )
    env.update({f"LIENTHONG_{name}": value for name, value in settings.items()})
    return env


def make_ca(pki: Path) -> CertificateAuthority:
    """A national CA in `pki`, with the hub's certificate and an empty CRL."""
    from cryptography.hazmat.primitives.serialization import Encoding

    ca = CertificateAuthority.init(pki)
    ca.issue("hub", "000.00.00.A00", "Bench hub").save(pki / "hub")
    (pki / "crl.pem").write_bytes(ca.crl().public_bytes(Encoding.PEM))
    return ca


def quiet_hub_settings(url: str, pki: Path, **overrides: Any) -> Any:
    """`HubSettings` of an in-process hub that only answers (no push worker, no sealer,
    warnings only), its data beside `pki`."""
    from hub.settings import HubSettings

    return HubSettings(
        data_dir=pki.parent,
        database_url=url,
        pki_dir=pki,
        delivery_worker=False,
        eventlog_sealer=False,
        log_level="WARNING",
        **overrides,
    )


def bench_token(key_path: Path, certificate_path: Path, member: str) -> str:
    """A member's bearer JWT for the bench hub (the hub's default lifetime, 5 minutes)."""
    from signing.certs import load_certificate
    from signing.jose import mint_token
    from signing.keys import load_private_key

    return mint_token(
        load_private_key(key_path), load_certificate(certificate_path), member, HUB_ID
    )


@contextmanager
def postgres_server(url: str | None = None) -> Iterator[str | None]:
    """A PostgreSQL server's base URL: `url` if given, else a throwaway cluster with
    fsync on (a 202 is on disk) for the block; None when neither is to be had."""
    if url:
        yield url
        return
    try:
        from tests.postgres import throwaway_cluster
    except ImportError:
        print("(no PostgreSQL: tests/postgres.py is not importable; use --postgres-url)")
        yield None
        return
    try:
        cluster = throwaway_cluster(durable=True)
        base = cluster.__enter__()
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"(no PostgreSQL: {exc})")
        yield None
        return
    try:
        yield base
    finally:
        cluster.__exit__(None, None, None)


def _create_database(server_url: str, name: str) -> str:
    """CREATE DATABASE `name` on the server at `server_url` (`scheme://user@host:port`)."""
    import asyncpg  # type: ignore[import-untyped]

    address = server_url.split("://", 1)[1].rstrip("/")

    async def create() -> None:
        connection = await asyncpg.connect(f"postgresql://{address}/postgres")
        try:
            await connection.execute(f"CREATE DATABASE {name}")
        finally:
            await connection.close()

    asyncio.run(create())
    return f"postgresql+asyncpg://{address}/{name}"


def create_pg_database(base: str) -> str:
    """A new empty database on the server at `base`; its SQLAlchemy URL."""
    return _create_database(base, f"bench_{os.getpid()}_{int(time.time())}")


def fresh_database(url: str, n: int) -> str:
    """Another empty database (`<name>_<n>`) on the PostgreSQL server of `url`."""
    address, name = url.split("://", 1)[1].rsplit("/", 1)
    return _create_database(f"postgresql://{address}", f"{name}_{n}")


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (NaN of nothing)."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def signed_pdf(
    ca: CertificateAuthority, sender: str, pages: int = 10, padding_bytes: int = 1_000_000
) -> tuple[bytes, IssuedCertificate, IssuedCertificate]:
    """A PDF of `pages` pages of Vietnamese text and an incompressible appendix (about 1 MB),
    signed by `sender`'s official, then sealed by its organisation (PAdES B-B, ECDSA P-256);
    with the official's and the organisation's certificates and keys."""
    import datetime as dt

    from signing.pades.document import make_pdf
    from signing.pades.sign import VIETNAM, PdfSigner, sign_pdf_twice

    org = ca.issue("organization", sender, f"UBND {sender}")
    official = ca.issue("official", sender, "Nguyễn Văn A", title="Chủ tịch")
    pdf = sign_pdf_twice(
        make_pdf(pages=pages, padding_bytes=padding_bytes),
        PdfSigner(official.key, official.full_chain),
        PdfSigner(org.key, org.full_chain),
        signing_time=dt.datetime.now(VIETNAM).replace(microsecond=0),
    )
    return pdf, official, org


def tree_cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of process `pid` and its living descendants (Linux)."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += times.get(current, 0.0)
        todo.extend(children.get(current, []))
    return total
