"""Pull mode: fetch the leased inbox and the status stream from the hub, and acknowledge.

A pull member is not reachable by the hub, so it asks: `run` keeps two long
polls open (`GET /v1/inbox?wait=` and `GET /v1/status-updates?wait=`), each
answered by the hub as soon as something arrives, so a pull member receives as
fast as a push member; `interval` is only the pause after a failed call. Each delivery goes
through the same `Receiver` as a push; it is acknowledged with the node's
signed delivery receipt. A delivery the node refuses is left unacknowledged:
its lease ends and the hub shows it to operators. An acknowledgement the hub
could not take is kept and sent again at the next round (the document is
already stored), rather than waiting for the lease to bring it back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from member_node.client import DEFAULT_WAIT, HubClient
from member_node.errors import HubError
from member_node.receiver import DeliveryRefused, Receiver
from member_node.store import NodeStore

log = logging.getLogger("member_node.poller")
CURSOR_KEY = "status_cursor"
INBOX_BATCH = 50
"""Deliveries leased per call (the hub's default is 10; its leases last minutes)."""


@dataclass
class PollReport:
    received: int = 0
    duplicates: int = 0
    refused: int = 0
    statuses: int = 0
    unacknowledged: int = 0


class Poller:
    def __init__(
        self,
        client: HubClient,
        receiver: Receiver,
        store: NodeStore,
        *,
        interval: float = 2.0,
        wait: float = DEFAULT_WAIT,
    ) -> None:
        self.client = client
        self.wait = wait
        self.receiver = receiver
        self.store = store
        self.interval = interval
        self._unacked: dict[str, str] = {}
        """delivery id -> our receipt, for acknowledgements the hub did not take yet."""

    async def poll_once(self, wait: float = 0.0) -> PollReport:
        """One round: the inbox (acknowledging each), then the status updates."""
        report = PollReport()
        await self.receive_once(report, wait)
        await self.statuses_once(report, wait)
        report.unacknowledged = len(self._unacked)
        return report

    async def receive_once(self, report: PollReport, wait: float) -> None:
        """Lease the inbox (the hub holds an empty answer up to `wait` s), accept, ack.

        Each acknowledgement goes out as soon as its delivery is accepted, while the
        next one is checked, and the batch's acknowledgements travel together: one at a
        time, a busy hub's round trips, not the checks, set a pull member's pace."""
        if self._unacked:
            await asyncio.gather(*(self._ack(d, r) for d, r in list(self._unacked.items())))
        batch = await self.client.inbox(INBOX_BATCH, wait=wait)
        if not batch.deliveries:
            return
        directory = await self.client.directory()
        acks: list[asyncio.Task[None]] = []
        try:
            for delivery in batch.deliveries:
                try:
                    accepted = await self.receiver.accept(delivery, directory, via="pull")
                except DeliveryRefused as exc:
                    log.warning("delivery %s refused: %s", delivery.delivery_id, exc)
                    report.refused += 1
                    continue
                acks.append(asyncio.create_task(self._ack(delivery.delivery_id, accepted.receipt)))
                await asyncio.sleep(0)  # let that acknowledgement leave now
                if accepted.created:
                    report.received += 1
                else:
                    report.duplicates += 1
        finally:
            if acks:
                await asyncio.gather(*acks)

    async def statuses_once(self, report: PollReport, wait: float) -> None:
        """Read the status stream from the saved cursor (held up to `wait` s when empty)."""
        cursor = int(self.store.get_meta(CURSOR_KEY) or 0)
        page = await self.client.status_updates(after=cursor, wait=wait)
        for update in page.updates:
            self.receiver.status(update)
            report.statuses += 1
        if page.next_cursor != cursor:
            self.store.set_meta(CURSOR_KEY, str(page.next_cursor))

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
        """Long-poll the inbox and the status stream side by side, forever; errors are
        logged, never fatal (the loop pauses `interval` seconds after one): a poll loop
        that ended would leave the member's documents at the hub until a restart."""
        await asyncio.gather(
            self._forever("inbox", self.receive_once), self._forever("status", self.statuses_once)
        )

    async def _forever(
        self, what: str, once: Callable[[PollReport, float], Awaitable[None]]
    ) -> None:
        while True:
            report = PollReport()
            started = time.monotonic()
            try:
                await once(report, self.wait)
            except Exception as exc:  # a bug or a full disk must not end the polling either
                if isinstance(exc, HubError):
                    log.warning("%s poll failed: %s", what, exc)
                else:
                    log.exception("%s poll failed", what)
                await asyncio.sleep(self.interval)
                continue
            nothing = not (report.received or report.duplicates or report.refused)
            if nothing and not report.statuses and time.monotonic() - started < self.wait / 2:
                await asyncio.sleep(self.interval)  # a hub that does not hold empty answers
