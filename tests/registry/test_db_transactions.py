"""Transactions that read and then write, side by side, on SQLite.

On SQLite the driver used to start a transaction only at the first write, so
what a transaction had read was not protected: two of them could read the
same state and both act on it. Transactions now take SQLite's write lock when
they begin (BEGIN IMMEDIATE). PostgreSQL keeps its ordinary READ COMMITTED
semantics: there the code takes row locks where it needs them.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from registry.models import Operator
from registry.operators import create_operator


async def test_read_then_write_transactions_do_not_act_on_the_same_state(
    db_sessions: Any, database_kind: str
) -> None:
    if database_kind != "sqlite":
        pytest.skip("about SQLite's transactions; PostgreSQL code takes row locks explicitly")

    async def next_operator() -> None:
        async with db_sessions() as session, session.begin():
            seen = await session.scalar(select(func.count()).select_from(Operator))
            await asyncio.sleep(0.2)  # the other transaction runs meanwhile, if it can
            await create_operator(session, f"operator-{seen}", "auditor")

    await asyncio.wait_for(asyncio.gather(next_operator(), next_operator()), 60)

    async with db_sessions() as session:
        names = set(await session.scalars(select(Operator.name)))
    assert names == {"operator-0", "operator-1"}


async def test_sqlite_transactions_of_one_process_take_turns_in_arrival_order(
    db_sessions: Any, database_kind: str
) -> None:
    """One connection handed out first come, first served: no waiter starves.

    With a pool of connections all wanting SQLite's one write lock, waiters
    retried in SQLite's busy handler in no particular order, and under a
    burst (94 members at once) one could wait past its timeout: a 500.
    """
    if database_kind != "sqlite":
        pytest.skip("about SQLite's single writer; PostgreSQL has row locks")
    order: list[int] = []

    async def write(index: int) -> None:
        async with db_sessions() as session, session.begin():
            await session.execute(select(1))
            order.append(index)
            await create_operator(session, f"turn-{index}", "auditor")
            await asyncio.sleep(0.01)  # hold the lock while the others queue up

    await asyncio.wait_for(asyncio.gather(*(write(i) for i in range(30))), 120)
    assert order == list(range(30))
