"""The member registry rows kept by `registry.member_auth` for one second per process.

A change made through this process (admin API, CLI, any ORM write) is seen at
once; one made by another process (here: plain SQL on a separate engine,
which this process's ORM never sees) is seen when the kept row runs out.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from sqlalchemy import text, update

from registry.db import create_engine
from registry.member_auth import RegistryRows
from registry.models import Member
from signing.jose import mint_token
from tests.conftest import HUB_ID

Register = Callable[..., Awaitable[Any]]
CODE = "000.00.00.G22"


async def _suspend_elsewhere(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text("UPDATE members SET status = 'suspended' WHERE code = :code"), {"code": CODE}
            )
    finally:
        await engine.dispose()


async def test_a_change_from_another_process_is_seen_when_the_kept_row_runs_out(
    hub_app: Any, hub_client: httpx.AsyncClient, register: Register, database_url: str
) -> None:
    issued = await register(CODE)
    headers = {"Authorization": f"Bearer {mint_token(issued.key, issued.cert, CODE, HUB_ID)}"}
    assert (await hub_client.get("/v1/directory", headers=headers)).status_code == 200
    rows: RegistryRows = hub_app.state.member_registry_rows
    rows.ttl = 3600.0  # keep the row for the test's whole length, whatever the machine's speed
    await _suspend_elsewhere(database_url)
    assert (await hub_client.get("/v1/directory", headers=headers)).status_code == 200
    rows.ttl = 0.0
    refused = await hub_client.get("/v1/directory", headers=headers)
    assert (refused.status_code, refused.json()["code"]) == (403, "member_suspended")


async def test_a_bulk_update_in_this_process_drops_the_kept_rows(
    hub_app: Any, hub_client: httpx.AsyncClient, register: Register
) -> None:
    issued = await register(CODE)
    headers = {"Authorization": f"Bearer {mint_token(issued.key, issued.cert, CODE, HUB_ID)}"}
    assert (await hub_client.get("/v1/directory", headers=headers)).status_code == 200
    hub_app.state.member_registry_rows.ttl = 3600.0
    async with hub_app.state.hub.sessions.begin() as session:
        await session.execute(update(Member).where(Member.code == CODE).values(status="revoked"))
    refused = await hub_client.get("/v1/directory", headers=headers)
    assert (refused.status_code, refused.json()["code"]) == (403, "member_revoked")


def test_kept_rows_expire_and_fall_to_a_newer_generation() -> None:
    rows = RegistryRows(ttl=1.0)
    rows.put("iss", "kid", None, now=100.0, generation=-1)
    assert rows.get("iss", "kid", now=100.5) == (False, None)  # an older generation
    from registry import member_auth

    current = member_auth._changes.generation
    rows.put("iss", "kid", None, now=100.0, generation=current)
    assert rows.get("iss", "kid", now=100.5) == (True, None)
    assert rows.get("iss", "kid", now=101.0) == (False, None)
