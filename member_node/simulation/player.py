"""Play the planned traffic against a running network, a few documents in flight at once.

Each sender's documents go through that member's own `HubClient` (what its
DMS would hold). The scenario's offline node is taken down part-way through
and brought back after its time, while the hub keeps retrying.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from hub.protocol import SubmitResult
from member_node.client import HubClient
from member_node.errors import HubError
from member_node.simulation.launcher import Network
from member_node.simulation.scenario import Offline
from member_node.simulation.signer import DocumentSigner, SigningAhead
from member_node.simulation.traffic import PlannedDocument
from signing.edxml import package_to_edxml, sign_envelope
from signing.package import Package


@dataclass
class Played:
    """What came back for each document: the hub's receipt, or the error."""

    results: dict[int, SubmitResult] = field(default_factory=dict)
    errors: dict[int, str] = field(default_factory=dict)
    formats: dict[int, str] = field(default_factory=dict)
    """How each document was submitted: `json` or `edxml`."""
    seconds: float = 0.0
    offline_window: tuple[float, float] | None = None
    answered_at: dict[str, datetime] = field(default_factory=dict)
    """document id -> when its `202` reached the sender (the hub had committed it)."""


async def play(
    network: Network,
    plan: Sequence[PlannedDocument],
    signer: DocumentSigner,
    *,
    offline: Offline | None = None,
    concurrency: int = 12,
    progress: Callable[[int], None] = lambda _: None,
    edxml_senders: frozenset[str] = frozenset(),
) -> Played:
    played = Played()
    senders = sorted({doc.sender for doc in plan})
    clients = {code: network.client(code) for code in senders}
    ahead = SigningAhead(
        signer, {code: network.provisioned.nodes[code].keys_dir for code in senders}
    )
    ahead.start(plan)
    queue: asyncio.Queue[PlannedDocument] = asyncio.Queue()
    for doc in plan:
        queue.put_nowait(doc)
    down_at = int(len(plan) * offline.after_share) if offline else None
    outage: asyncio.Task[None] | None = None
    started = time.monotonic()
    done = 0

    async def worker() -> None:
        nonlocal done, outage
        while True:
            try:
                doc = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            if offline is not None and outage is None and doc.index >= (down_at or 0):
                outage = asyncio.create_task(_outage(network, offline, played, started))
            await _submit(clients[doc.sender], ahead, doc, played, edxml_senders)
            done += 1
            progress(1)

    try:
        # The broadcast goes first and alone, as the Prime Minister's decision did: the
        # rest waits until it has reached its recipients, rather than queueing behind
        # its burst of deliveries and first statuses in the one hub.
        await _submit(clients[plan[0].sender], ahead, plan[0], played, edxml_senders)
        queue.get_nowait()
        done += 1
        progress(1)
        if 0 in played.results:
            await _until_delivered(clients[plan[0].sender], played.results[0].document_id)
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        played.seconds = time.monotonic() - started
        if outage is not None:
            await outage
    finally:
        if outage is not None and not outage.done():
            outage.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await outage
        ahead.close()
        for client in clients.values():
            await client.aclose()
    return played


EDXML_SIGNINGS = frozenset({"unsigned", "no_personal"})
"""The ways an edXML sender's document is sent as edXML: those whose verdict is the same in
either format (no signature; the organisation's seal alone). The official's signature of
an edXML document belongs in its PDF (PAdES), which the demo's documents do not carry yet,
so the documents the official signs still go as JSON."""


def _edxml_of(client: HubClient, package: Package, signing: str) -> bytes:
    """`package` as its sender's DMS would send it in edXML: sealed by the organisation."""
    data = package_to_edxml(package)
    if signing == "unsigned":
        return data
    org = client.identity.organization
    return sign_envelope(data, org.key, org.chain)


async def _submit(
    client: HubClient,
    ahead: SigningAhead,
    doc: PlannedDocument,
    played: Played,
    edxml_senders: frozenset[str] = frozenset(),
) -> None:
    package = await ahead.package(doc)
    envelope = None
    if doc.sender in edxml_senders and doc.signing in EDXML_SIGNINGS:
        envelope = _edxml_of(client, package, doc.signing)
    played.formats[doc.index] = "json" if envelope is None else "edxml"
    for attempt in range(3):
        try:
            if envelope is not None:
                result = await client.send_edxml(envelope)
            else:
                result = await client.submit(package)
            played.results[doc.index] = result
            played.answered_at[result.document_id] = datetime.now(UTC)
            return
        except HubError as exc:
            if exc.status is not None and exc.status < 500:
                played.errors[doc.index] = f"{exc.code}: {exc.detail}"
                return
            if attempt == 2:
                played.errors[doc.index] = f"{exc.code}: {exc.detail}"
                return
            await asyncio.sleep(0.5 * (attempt + 1))  # same id: a retry is idempotent


async def _until_delivered(client: HubClient, document_id: str, limit: float = 60.0) -> None:
    """Wait (at most `limit` seconds) until no delivery of the document is still queued."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        trace = await client.trace(document_id)
        if all(d.state != "queued" for d in trace.deliveries):
            return
        await asyncio.sleep(0.5)


async def _outage(network: Network, offline: Offline, played: Played, started: float) -> None:
    await network.take_down(offline.code)
    down = time.monotonic() - started
    await asyncio.sleep(offline.seconds)
    await network.bring_up(offline.code)
    played.offline_window = (down, time.monotonic() - started)
