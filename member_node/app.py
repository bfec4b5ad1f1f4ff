"""The node service: a FastAPI app an agency runs next to its DMS.

`/v1/inbox` and `/v1/status` are the hub's side (pushes, authenticated by the
hub's JWT); `/local/...` is the DMS's side (send, list, read), meant for the
agency's own network only.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from member_node.clerk import Clerk
from member_node.client import HubClient
from member_node.config import NodeConfig
from member_node.context import NodeContext
from member_node.identity import NodeIdentity
from member_node.poller import Poller
from member_node.problems import install_problem_handlers
from member_node.receiver import PdfReader, Receiver, read_in_thread
from member_node.routes_hub import router as hub_router
from member_node.routes_local import router as local_router
from member_node.store import NodeStore


def create_node_app(
    config: NodeConfig,
    *,
    hub_transport: httpx.AsyncBaseTransport | None = None,
    pdf_reader: PdfReader = read_in_thread,
) -> FastAPI:
    """Build a node. `hub_transport` lets tests route hub calls in-process; `pdf_reader`
    reads received principal PDFs (default: in a thread)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        identity = NodeIdentity.load(config.keys_dir, config.code)
        store = NodeStore(config.database_path)
        client = HubClient(config.hub_url, identity, hub_id=config.hub_id, transport=hub_transport)
        clerk = Clerk(config.clerk, client, store)
        receiver = Receiver(identity, store, clerk, pdf_reader=pdf_reader)
        poller = (
            Poller(client, receiver, store, interval=config.poll_interval)
            if config.mode == "pull"
            else None
        )
        app.state.node = NodeContext(config, identity, store, client, clerk, receiver, poller)
        polling = asyncio.create_task(poller.run()) if poller is not None else None
        try:
            yield
        finally:
            if polling is not None:
                polling.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await polling
            await clerk.aclose()
            await client.aclose()
            store.close()

    app = FastAPI(
        title=f"lienthong member node {config.code}",
        version="1",
        summary="An agency's node: receives from the hub, sends for the DMS",
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    app.include_router(hub_router)
    app.include_router(local_router)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "code": config.code, "mode": config.mode}

    return app
