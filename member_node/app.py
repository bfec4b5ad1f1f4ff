"""The node service: a FastAPI app an agency runs next to its DMS.

`/v1/inbox` and `/v1/status` are the hub's side (pushes, authenticated by the
hub's JWT); `/local/...` is the DMS's side (send, list, read), meant for the
agency's own network only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from apidocs.pages import install_docs
from member_node.clerk import Clerk
from member_node.client import HubClient
from member_node.config import NodeConfig
from member_node.context import NodeContext
from member_node.examples import add_examples
from member_node.identity import NodeIdentity
from member_node.poller import Poller
from member_node.problems import install_problem_handlers, problem_openapi
from member_node.receiver import PdfReader, Receiver, read_in_thread
from member_node.routes_hub import BODY_SCHEMAS
from member_node.routes_hub import router as hub_router
from member_node.routes_local import router as local_router
from member_node.store import NodeStore

NODE_API_DESCRIPTION = """\
The node signs, verifies and talks to the hub; the DMS next to it speaks plain JSON and
never touches JOSE. Send with `POST /local/documents`; follow what is new with
`GET /local/feed?after=CURSOR` (documents received, statuses heard; save `next_cursor`);
mark documents taken; post statuses 01-06 (02 with a reason); answer recalls (15/16);
recall your own documents. Every error is `application/problem+json` with a stable `code`.
Bind the node to loopback or the agency's own network: `/local` calls sign with the
agency's keys and carry no authentication of their own.
"""

log = logging.getLogger("member_node.app")


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
        identity = NodeIdentity.load(config.keys_dir, config.code, tokens=config.tokens)
        store = NodeStore(config.database_path, flush_each_commit=config.flush_each_commit)
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
        warming = asyncio.create_task(_warm_directory(client))
        try:
            yield
        finally:
            for task in (polling, warming):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            await clerk.aclose()
            await client.aclose()
            store.close()

    app = FastAPI(
        title=f"lienthong member node {config.code}",
        version="1",
        summary="An agency's node: receives from the hub, sends for the DMS",
        description=NODE_API_DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # member_node.docs serves them without a CDN
        redoc_url=None,
        openapi_tags=[
            {"name": "for the DMS", "description": "The agency's DMS calls these (plain JSON)."},
            {"name": "from the hub", "description": "The hub pushes documents and statuses."},
        ],
    )
    install_problem_handlers(app)
    app.include_router(hub_router)
    app.include_router(local_router)
    install_docs(app, title=f"{app.title}: API")
    problem_openapi(app, hub_tag="from the hub")

    generated = app.openapi

    def openapi() -> dict[str, Any]:
        # the push bodies are read by hand (JSON or edXML): their models' schemas are
        # added to the components their documentation refers to
        if app.openapi_schema is None:
            schemas = generated().setdefault("components", {}).setdefault("schemas", {})
            for name, schema in BODY_SCHEMAS.items():
                schemas.setdefault(name, schema)
            add_examples(generated())
        return app.openapi_schema or generated()

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "code": config.code, "mode": config.mode}

    return app


async def _warm_directory(client: HubClient) -> None:
    """Fetch the hub's directory once at start, so that the first delivery does not wait
    for it (it checks the hub's signature and the sender's chain against it). A hub not
    reachable yet is no error: the first delivery fetches it then."""
    try:
        await client.directory()
    except Exception as exc:  # the node runs without it; the next use fetches it again
        log.info("the hub's directory could not be fetched at start: %s", exc)
