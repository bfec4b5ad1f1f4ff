"""The far end of `bench.delivery`'s pushes: a stub receiver, and the plain-client
baselines (the same POSTs from httpx and from aiohttp) the hub's fan-out is measured
against."""

from __future__ import annotations

import asyncio
import time

import httpx

__all__ = ["aiohttp_rounds", "baseline_rounds", "serve_stub"]


class _Stub(asyncio.Protocol):
    """HTTP/1.1 with keep-alive; answers every request `200 {}` as soon as its body is in."""

    ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"

    def __init__(self) -> None:
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1").lower()
            length = 0
            for line in head.split("\r\n"):
                if line.startswith("content-length:"):
                    length = int(line.split(":", 1)[1])
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            assert self.transport is not None
            self.transport.write(self.ANSWER)


def serve_stub(port: int) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_Stub, "127.0.0.1", port, backlog=1024)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


async def baseline_rounds(stub: str, body: bytes, recipients: list[str], limit: int, rounds: int
                          ) -> list[float]:  # fmt: skip
    """The same POSTs from one plain httpx client, `limit` connections: seconds per round."""
    limits = httpx.Limits(max_connections=limit, max_keepalive_connections=limit)
    times = []
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        for _ in range(rounds + 1):  # the first one opens the connections: not counted
            started = time.perf_counter()
            answers = await asyncio.gather(
                *(
                    client.post(
                        f"{stub}/m/{code}/v1/inbox",
                        content=body,
                        headers={"Content-Type": "application/json"},
                    )
                    for code in recipients
                )
            )
            assert all(a.status_code == 200 for a in answers)
            times.append(time.perf_counter() - started)
    return times[1:]


async def aiohttp_rounds(stub: str, body: bytes, recipients: list[str], limit: int, rounds: int
                         ) -> list[float]:  # fmt: skip
    """The same POSTs from one plain aiohttp session (what the hub pushes with)."""
    import aiohttp

    times = []
    connector = aiohttp.TCPConnector(limit=limit)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def post(code: str) -> int:
            async with session.post(
                f"{stub}/m/{code}/v1/inbox",
                data=body,
                headers={"Content-Type": "application/json"},
            ) as answer:
                await answer.read()
                return answer.status

        for _ in range(rounds + 1):
            started = time.perf_counter()
            statuses = await asyncio.gather(*(post(code) for code in recipients))
            assert all(s == 200 for s in statuses)
            times.append(time.perf_counter() - started)
    return times[1:]
