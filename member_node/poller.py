"""Pull mode: fetch the leased inbox and the status stream from the hub, and acknowledge.

A pull member is not reachable by the hub, so it asks. Each delivery goes
through the same `Receiver` as a push; it is acknowledged with the node's
signed delivery receipt. A delivery the node refuses is left unacknowledged:
its lease ends and the hub shows it to operators.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from member_node.client import HubClient
from member_node.errors import HubError
from member_node.receiver import DeliveryRefused, Receiver
from member_node.store import NodeStore

log = logging.getLogger("member_node.poller")
CURSOR_KEY = "status_cursor"


@dataclass
class PollReport:
    received: int = 0
    duplicates: int = 0
    refused: int = 0
    statuses: int = 0


class Poller:
    def __init__(
        self, client: HubClient, receiver: Receiver, store: NodeStore, *, interval: float = 2.0
    ) -> None:
        self.client = client
        self.receiver = receiver
        self.store = store
        self.interval = interval

    async def poll_once(self) -> PollReport:
        """One round: the inbox (acknowledging each), then the status updates."""
        report = PollReport()
        directory = await self.client.directory()
        batch = await self.client.inbox()
        for delivery in batch.deliveries:
            try:
                accepted = self.receiver.accept(delivery, directory, via="pull")
            except DeliveryRefused as exc:
                log.warning("delivery %s refused: %s", delivery.delivery_id, exc)
                report.refused += 1
                continue
            await self.client.ack(delivery.delivery_id, accepted.receipt)
            if accepted.created:
                report.received += 1
            else:
                report.duplicates += 1
        cursor = int(self.store.get_meta(CURSOR_KEY) or 0)
        page = await self.client.status_updates(after=cursor)
        for update in page.updates:
            self.receiver.status(update)
            report.statuses += 1
        if page.next_cursor != cursor:
            self.store.set_meta(CURSOR_KEY, str(page.next_cursor))
        return report

    async def run(self) -> None:
        """Poll forever, every `interval` seconds; hub errors are logged, not fatal."""
        while True:
            try:
                await self.poll_once()
            except HubError as exc:
                log.warning("poll failed: %s", exc)
            await asyncio.sleep(self.interval)
