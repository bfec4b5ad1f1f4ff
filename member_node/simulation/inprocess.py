"""The `inprocess` placement: the hub and every node as ASGI apps in the caller's loop.

Wired by `httpx.ASGITransport`, no sockets: fast for tests, and the nodes read
their PDFs through the hub's worker processes once for all of them.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from contextlib import AsyncExitStack

import httpx

from hub.app import create_app
from hub.ingest.pdfs import PdfReader
from member_node.app import create_node_app
from member_node.receiver import PdfReader as NodePdfReader
from member_node.simulation.hubgate import HubGate
from member_node.simulation.network import (
    Network,
    NetworkPlan,
    hub_settings_for,
    node_config,
    provision_network,
)
from member_node.simulation.nodehost import NodeHost
from signing.pades.validate import PdfLimits, PdfReading

__all__ = ["HUB_ORIGIN", "NODES_ORIGIN", "start_inprocess"]

HUB_ORIGIN = "http://hub.sim"
NODES_ORIGIN = "http://nodes.sim"


async def start_inprocess(
    stack: AsyncExitStack, plan: NetworkPlan, hub_concurrency: int | None
) -> Network:
    """Start the hub and the nodes in this loop; their lifespans end with `stack`.
    `hub_concurrency` bounds the requests inside the hub at once (see `hubgate`)."""
    specs = plan.specs
    host = NodeHost()
    endpoints = {code: host.base_url(NODES_ORIGIN, code) for code in specs}
    provisioned = await provision_network(plan, endpoints)
    settings = hub_settings_for(provisioned, plan.hub_settings)
    hub_app = create_app(
        settings, push_transport=httpx.ASGITransport(app=host, raise_app_exceptions=False)
    )
    await stack.enter_async_context(hub_app.router.lifespan_context(hub_app))
    hub_transport = httpx.ASGITransport(
        app=HubGate(hub_app, hub_concurrency), raise_app_exceptions=False
    )
    read_pdf = _shared_reader(hub_app.state.hub.ingest.pdfs)

    for spec in specs.values():
        config = node_config(provisioned, spec, HUB_ORIGIN, plan.poll_interval, False)
        app = create_node_app(config, hub_transport=hub_transport, pdf_reader=read_pdf)
        await stack.enter_async_context(app.router.lifespan_context(app))
        host.apps[spec.code] = app
    return Network(
        "inprocess",
        provisioned,
        specs,
        HUB_ORIGIN,
        settings,
        endpoints,
        _hub_transport=hub_transport,
        _node_transport=httpx.ASGITransport(app=host, raise_app_exceptions=False),
        _host=host,
        hub_app=hub_app,
    )


def _shared_reader(hub_pdfs: PdfReader, keep: int = 256) -> NodePdfReader:
    """How the in-process nodes read the PDFs they receive: in the hub's worker processes
    (not each in a thread holding this process's one GIL), and once per PDF for all the
    nodes here. Reading is pyHanko's part only, a function of the bytes: each node still
    judges the signers with its own trust store and gives its own verdict. With
    `--processes` every node reads for itself."""
    readings: OrderedDict[str, asyncio.Task[PdfReading]] = OrderedDict()

    async def read(data: bytes, limits: PdfLimits) -> PdfReading:
        key = hashlib.sha256(data).hexdigest()
        reading = readings.get(key)
        if reading is None:
            reading = readings[key] = asyncio.ensure_future(hub_pdfs.read(data))
            while len(readings) > keep:
                readings.popitem(last=False)
        return await asyncio.shield(reading)

    return read
