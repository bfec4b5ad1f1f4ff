"""One ASGI app that hosts many node apps side by side, each under `/n/{code}`.

In-process networks route the hub's pushes here (an `httpx.ASGITransport`);
a node taken "offline" answers 503, as a node behind a dead link would make
the hub's push fail and be retried.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

PREFIX = "/n/"


class NodeHost:
    """Routes `/n/{code}/rest` to the node app registered for `code`."""

    def __init__(self) -> None:
        self.apps: dict[str, ASGIApp] = {}
        self.offline: set[str] = set()

    def base_url(self, origin: str, code: str) -> str:
        return f"{origin.rstrip('/')}{PREFIX}{code}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        path: str = scope["path"]
        code = path.removeprefix(PREFIX).partition("/")[0]
        app = self.apps.get(code) if path.startswith(PREFIX) else None
        if app is None or code in self.offline:
            status = 503 if app is not None else 404
            await _problem(send, status, "node_unavailable" if app else "node_not_found")
            return
        # The ASGI way to mount: `path` stays whole, `root_path` names the prefix.
        root = scope.get("root_path", "") + PREFIX + code
        await app({**scope, "root_path": root}, receive, send)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _problem(send: Send, status: int, code: str) -> None:
    body = json.dumps({"type": f"about:blank#{code}", "status": status, "code": code}).encode()
    headers = [(b"content-type", b"application/problem+json")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
