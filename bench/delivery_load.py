"""The loads of `bench.delivery` beside its broadcast: paced submissions alone, with idle
long polls held open, and sustained with long-polled pull members acknowledging."""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from sqlalchemy import bindparam

from bench.common import percentile

__all__ = ["idle_poll_phases", "paced_submits", "pct", "sustained_phases"]


async def sustained_phases(
    hub: str,
    database_url: str,
    token: str,
    bodies: tuple[list[bytes], list[bytes]],
    pull_tokens: list[str],
    args: argparse.Namespace,
) -> tuple[tuple[list[float], float], tuple[list[float], float, dict[str, list[float]], int]]:
    """The paced load to members nobody reads, then to one push and two long-polled pull
    members; submit latencies, answered rates, and the delivery lags of the second."""
    import aiohttp
    from sqlalchemy import text

    from registry.db import create_engine

    rate = args.sustained_rate
    started = time.perf_counter()
    quiet = await paced_submits(hub, token, bodies[0], rate)
    quiet_rate = len(quiet) / (time.perf_counter() - started)
    stop = asyncio.Event()
    timeout = aiohttp.ClientTimeout(total=None, sock_read=90)
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def consume(member_token: str) -> None:
            headers = {"Authorization": f"Bearer {member_token}"}
            while not stop.is_set():
                try:
                    async with session.get(
                        f"{hub}/v1/inbox?wait=20&limit=100", headers=headers
                    ) as answer:
                        batch = await answer.json()
                    await asyncio.gather(
                        *(ack(item["delivery_id"], headers) for item in batch["deliveries"])
                    )
                except aiohttp.ClientError:
                    await asyncio.sleep(0.5)

        async def ack(delivery_id: str, headers: dict[str, str]) -> None:
            async with session.post(f"{hub}/v1/inbox/{delivery_id}/ack", headers=headers) as done:
                await done.read()

        consumers = [asyncio.create_task(consume(t)) for t in pull_tokens]
        await asyncio.sleep(1)
        started = time.perf_counter()
        busy = await paced_submits(hub, token, bodies[1], rate)
        busy_rate = len(busy) / (time.perf_counter() - started)
        ids = [json.loads(body)["id"] for body in bodies[1]]
        engine = create_engine(database_url)
        query = text(
            "SELECT d.delivered_at, d.mode, o.received_at FROM deliveries d "
            "JOIN documents o ON o.id = d.document_id WHERE d.document_id IN :ids"
        ).bindparams(bindparam("ids", expanding=True))
        deadline = time.monotonic() + 60
        try:
            while True:
                async with engine.connect() as connection:
                    rows = (await connection.execute(query, {"ids": ids})).all()
                waiting = sum(1 for r in rows if r.delivered_at is None)
                if waiting == 0 or time.monotonic() > deadline:
                    break
                await asyncio.sleep(1)
        finally:
            await engine.dispose()
        stop.set()
        for task in consumers:
            task.cancel()
        await asyncio.gather(*consumers, return_exceptions=True)
    lags = {
        mode: [
            (r.delivered_at - r.received_at).total_seconds()
            for r in rows
            if r.delivered_at and r.mode == mode
        ]
        for mode in ("push", "pull")
    }
    return (quiet, quiet_rate), (busy, busy_rate, lags, waiting)


def pct(values: list[float], percent: int) -> float:
    """Nearest-rank percentile (as `bench.common.percentile`)."""
    return percentile(values, percent)


async def paced_submits(hub: str, token: str, bodies: list[bytes], rate: int) -> list[float]:
    """POST `bodies` at `rate` per second (open loop); the latency of each 202."""
    import aiohttp

    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session:

        async def one(body: bytes) -> None:
            started = time.perf_counter()
            async with session.post(f"{hub}/v1/documents", data=body, headers=headers) as answer:
                await answer.read()
                if answer.status == 202:
                    latencies.append(time.perf_counter() - started)

        start = time.perf_counter()
        tasks = []
        for i, body in enumerate(bodies):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(body)))
        await asyncio.gather(*tasks)
    return latencies


async def idle_poll_phases(
    hub: str, token: str, bodies: list[bytes], idle_tokens: list[str], args: argparse.Namespace
) -> tuple[list[float], list[float], int]:
    """Paced submissions, then the same with `args.idle_polls` long polls held open."""
    import aiohttp

    third = len(bodies) // 3
    before = await paced_submits(hub, token, bodies[:third], args.idle_rate)
    stop = asyncio.Event()
    open_now = 0
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=90)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def poll(n: int) -> None:
            nonlocal open_now
            headers = {"Authorization": f"Bearer {idle_tokens[n % len(idle_tokens)]}"}
            while not stop.is_set():
                open_now += 1
                try:
                    async with session.get(f"{hub}/v1/inbox?wait=60", headers=headers) as answer:
                        await answer.read()
                except aiohttp.ClientError:
                    await asyncio.sleep(1)
                finally:
                    open_now -= 1

        polls = [asyncio.create_task(poll(n)) for n in range(args.idle_polls)]
        started = time.perf_counter()
        waiting = 0
        while waiting < args.idle_polls and time.perf_counter() - started < 120:
            await asyncio.sleep(0.5)
            async with session.get(f"{hub}/metrics") as scrape:
                for line in (await scrape.text()).splitlines():
                    if line.startswith("lienthong_long_polls_waiting "):
                        waiting = int(float(line.split()[1]))
        print(f"  {waiting} idle long polls waiting in the hub after "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        with_polls = await paced_submits(hub, token, bodies[third : 2 * third], args.idle_rate)
        held = open_now
        stop.set()
        for task in polls:
            task.cancel()
        await asyncio.gather(*polls, return_exceptions=True)
    await asyncio.sleep(2)
    after = await paced_submits(hub, token, bodies[2 * third :], args.idle_rate)
    return before + after, with_polls, held
