"""`pip install lienthong` is the client: a fresh venv without extras imports the SDK and
sends a document to a real hub on loopback, with neither FastAPI nor SQLAlchemy installed.

The venv is built once per run from a copy of the working tree (pip's cache and the
machine's find-links keep it offline and around half a minute); the hub runs from the
test's own environment.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from tests.conftest import HUB_ID
from tests.member_node.conftest import HEADER, RECIPIENT, SENDER, MakeAgency

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("lienthong", "signing", "registry", "hub", "member_node", "migrations")
SERVER_ONLY = ("fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "asyncpg", "aiosqlite")


@pytest.fixture(scope="module")
def client_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with `pip install <a copy of this tree>`: no extras."""
    base = tmp_path_factory.mktemp("client-install")
    source = base / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return venv


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def hub_url(hub_app: Any) -> AsyncIterator[str]:
    """The test's hub app served over real HTTP on a loopback port."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(hub_app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


SCRIPT = textwrap.dedent(
    """
    import asyncio, importlib.util, json, sys

    from member_node.client import HubClient
    from member_node.identity import NodeIdentity

    keys, code, url, hub_id, recipient, header = sys.argv[1:7]

    async def main():
        identity = NodeIdentity.load(keys, code)
        async with HubClient(url, identity, hub_id=hub_id) as hub:
            result = await hub.send(
                [recipient], json.loads(header), [("cv.txt", "text/plain", "Công văn".encode())]
            )
            trace = await hub.trace(result.document_id)
        missing = [m for m in sys.argv[7:] if importlib.util.find_spec(m) is None]
        print(json.dumps({
            "document_id": result.document_id,
            "compliant": result.verdict.compliant,
            "outcomes": [r.outcome for r in result.recipients],
            "traced": trace.document_id,
            "absent": missing,
            "loaded": sorted(m for m in sys.argv[7:] if m in sys.modules),
        }))

    asyncio.run(main())
    """
)


async def test_the_client_install_sends_without_the_server_stack(
    client_venv: Path, hub_url: str, make_agency: MakeAgency
) -> None:
    sender = await make_agency(SENDER)
    await make_agency(RECIPIENT)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    process = await asyncio.create_subprocess_exec(
        str(client_venv / "bin" / "python"),
        "-c",
        SCRIPT,
        str(sender.keys),
        SENDER,
        hub_url,
        HUB_ID,
        RECIPIENT,
        json.dumps(HEADER),
        *SERVER_ONLY,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=client_venv,  # not the source tree: only what was installed is importable
        env=env,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, err.decode()
    answer = json.loads(out.decode().strip().splitlines()[-1])
    assert answer["compliant"] is True
    assert answer["outcomes"] == ["accepted"]
    assert answer["traced"] == answer["document_id"]
    assert answer["absent"] == list(SERVER_ONLY)  # not installed at all
    assert answer["loaded"] == []


def test_the_client_install_lists_no_server_packages(client_venv: Path) -> None:
    listed = subprocess.run(
        [str(client_venv / "bin" / "python"), "-m", "pip", "list", "--format=json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    names = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert "lienthong" in names
    assert not names & {"fastapi", "sqlalchemy", "uvicorn", "alembic", "asyncpg", "pkcs11"}
    assert {"httpx", "cryptography", "pydantic", "joserfc", "rfc8785"} <= names
