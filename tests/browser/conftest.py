"""A real hub on a loopback port with the reports scenario, and Debian's headless Chromium.

The browser test skips only when Chromium (or Playwright) is missing outside CI;
with `CI=true` a missing browser is a failure. Playwright never downloads a browser.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from hub.app import create_app
from hub.settings import HubSettings
from registry.db import create_engine, session_factory
from registry.operators import create_operator
from tests.conftest import HUB_ID, IN_CI, PKIFixture
from tests.hub.helpers import Agencies
from tests.hub.reports.scenario import Scenario, load_scenario

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def database_kind() -> str:
    """The browser test needs one database, not both: SQLite."""
    return "sqlite"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveHub:
    url: str
    admin_token: str
    scenario: Scenario


async def _prepare(url: str, database_url: str, pki: PKIFixture) -> tuple[str, Scenario]:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine).begin() as session:
            _, token = await create_operator(session, "browser-admin", "admin")
    finally:
        await engine.dispose()
    admin = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        scenario = await load_scenario(client, Agencies(client, admin, pki))
    return token, scenario


@pytest.fixture
def live_hub(database_url: str, pki: PKIFixture, tmp_path: Path) -> Iterator[LiveHub]:
    """uvicorn serving the hub in a thread on a free loopback port, scenario loaded."""
    settings = HubSettings(
        data_dir=tmp_path,
        database_url=database_url,
        pki_dir=pki.directory,
        hub_id=HUB_ID,
        delivery_worker=False,
        eventlog_sealer=False,
    )
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the hub did not start")
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    try:
        token, scenario = asyncio.run(_prepare(url, database_url, pki))
        yield LiveHub(url, token, scenario)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright; skipped outside CI when absent."""
    missing = None
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        missing = f"{CHROMIUM} is not installed (apt-get install -y chromium)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = missing or "playwright is not installed (pip install -e '.[test]')"
    if missing:
        if IN_CI:
            pytest.fail(f"the browser test must run in CI: {missing}")
        pytest.skip(missing)
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
            args=CHROMIUM_ARGS,
            headless=True,
        )
        try:
            yield chromium
        finally:
            chromium.close()
