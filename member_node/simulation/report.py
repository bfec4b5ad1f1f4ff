"""The demo's closing figures, read back from the hub over HTTP.

Compliance comes from the hub's reports API (`/v1/reports/signature-compliance`),
delivery outcomes and latency from the senders' traces.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hub.protocol import Trace
from member_node.errors import HubError
from member_node.simulation.launcher import Network

SEED_RATIO = 2_408_320 / 769_120


@dataclass
class DeliveryFigures:
    documents: int = 0
    deliveries: int = 0
    states: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    retried: Counter[str] = field(default_factory=Counter)
    latencies_by_mode: dict[str, list[float]] = field(default_factory=dict)
    """The same latencies by the recipient's delivery mode (`push`, `pull`)."""
    accepting: list[float] = field(default_factory=list)
    """Per document, from the hub's receipt to its `202` reaching the sender: the part of
    the latency the hub spent accepting it (reading its PDF, committing), not delivering."""
    after_answer_by_mode: dict[str, list[float]] = field(default_factory=dict)
    """Per delivery, from the sender's `202` to the recipient's node, by delivery mode."""

    @property
    def received(self) -> int:
        """Deliveries that reached their recipient's node."""
        return len(self.latencies)


async def wait_settled(network: Network, timeout: float = 300.0) -> dict[str, Any]:
    """Poll the delivery report until nothing is pending and the statuses stop moving."""
    deadline = time.monotonic() + timeout
    previous: tuple[int, int] | None = None
    async with network.hub_http() as hub:
        while True:
            response = await hub.get("/v1/reports/delivery", headers=network.operator_headers())
            response.raise_for_status()
            report: dict[str, Any] = response.json()
            rows = report["recipients"]
            pending = sum(row["pending"] for row in rows)
            statuses = sum(sum(row["statuses"].values()) for row in rows)
            if pending == 0 and previous == (pending, statuses):
                return report
            if time.monotonic() > deadline:
                return report
            previous = (pending, statuses)
            await asyncio.sleep(1.5)


async def compliance(network: Network, **params: str) -> dict[str, Any]:
    async with network.hub_http() as hub:
        response = await hub.get(
            "/v1/reports/signature-compliance", params=params, headers=network.operator_headers()
        )
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


async def delivery_figures(
    network: Network,
    documents: Sequence[tuple[str, str]],
    concurrency: int = 16,
    answered_at: Mapping[str, datetime] | None = None,
) -> DeliveryFigures:
    """Read every (sender, document id)'s trace and count what happened to each delivery;
    with `answered_at` (document id -> when its `202` came back), split each latency into
    the hub's accepting and the delivery after it."""
    figures = DeliveryFigures(documents=len(documents))
    modes = {code: spec.mode for code, spec in network.specs.items()}
    queue = list(documents)
    clients = {sender: network.client(sender) for sender, _ in documents}

    async def worker() -> None:
        while queue:
            sender, document_id = queue.pop()
            try:
                trace = await clients[sender].trace(document_id)
            except HubError:
                figures.states["unreadable"] += 1
                continue
            _count(figures, trace, modes)
            answer = (answered_at or {}).get(document_id)
            if answer is not None:
                _split(figures, trace, modes, answer)

    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        for client in clients.values():
            await client.aclose()
    return figures


def _count(figures: DeliveryFigures, trace: Trace, modes: Mapping[str, str]) -> None:
    for delivery in trace.deliveries:
        figures.deliveries += 1
        figures.states[str(delivery.state)] += 1
        figures.outcomes[str(delivery.outcome)] += 1
        for status in delivery.statuses:
            figures.statuses[str(status.code)] += 1
        if delivery.delivered_at is not None:
            latency = (delivery.delivered_at - trace.received_at).total_seconds()
            figures.latencies.append(latency)
            mode = modes.get(delivery.recipient, "other")
            figures.latencies_by_mode.setdefault(mode, []).append(latency)
        if delivery.attempts > 1:
            figures.retried[delivery.recipient] += 1


def _split(
    figures: DeliveryFigures, trace: Trace, modes: Mapping[str, str], answered: datetime
) -> None:
    figures.accepting.append((answered - trace.received_at).total_seconds())
    for delivery in trace.deliveries:
        if delivery.delivered_at is not None:
            mode = modes.get(delivery.recipient, "other")
            after = (delivery.delivered_at - answered).total_seconds()
            figures.after_answer_by_mode.setdefault(mode, []).append(after)


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (the hub's reports use the same method)."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def sampling_interval(share: float, n: int) -> float:
    """The half-width of a 95% interval for a share measured on `n` documents."""
    return 1.96 * math.sqrt(share * (1 - share) / n) if n else math.nan
