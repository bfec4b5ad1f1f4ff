"""Pull mode: fetch the leased inbox and the status stream from the hub, and acknowledge.

A pull member is not reachable by the hub, so it asks. Each delivery goes
through the same `Receiver` as a push; it is acknowledged with the node's
signed delivery receipt. A delivery the node refuses is left unacknowledged:
its lease ends and the hub shows it to operators. An acknowledgement the hub
could not take is kept and sent again at the next round (the document is
already stored), rather than waiting for the lease to bring it back.
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
    unacknowledged: int = 0


class Poller:
    def __init__(
        self, client: HubClient, receiver: Receiver, store: NodeStore, *, interval: float = 2.0
    ) -> None:
        self.client = client
        self.receiver = receiver
        self.store = store
        self.interval = interval
        self._unacked: dict[str, str] = {}
        """delivery id -> our receipt, for acknowledgements the hub did not take yet."""

    async def poll_once(self) -> PollReport:
        """One round: the inbox (acknowledging each), then the status updates."""
        report = PollReport()
        directory = await self.client.directory()
        for delivery_id, receipt in list(self._unacked.items()):
            await self._ack(delivery_id, receipt)
        batch = await self.client.inbox()
        for delivery in batch.deliveries:
            try:
                accepted = await self.receiver.accept(delivery, directory, via="pull")
            except DeliveryRefused as exc:
                log.warning("delivery %s refused: %s", delivery.delivery_id, exc)
                report.refused += 1
                continue
            await self._ack(delivery.delivery_id, accepted.receipt)
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
        report.unacknowledged = len(self._unacked)
        return report

    async def _ack(self, delivery_id: str, receipt: str) -> None:
        try:
            await self.client.ack(delivery_id, receipt)
        except HubError as exc:
            if exc.status is not None and exc.status < 500:
                log.warning("ack of %s refused: %s", delivery_id, exc)
                self._unacked.pop(delivery_id, None)
                return
            log.warning("ack of %s failed, kept for the next round: %s", delivery_id, exc)
            self._unacked[delivery_id] = receipt
        else:
            self._unacked.pop(delivery_id, None)

    async def run(self) -> None:
        """Poll forever, every `interval` seconds; hub errors are logged, not fatal."""
        while True:
            try:
                await self.poll_once()
            except HubError as exc:
                log.warning("poll failed: %s", exc)
            await asyncio.sleep(self.interval)
