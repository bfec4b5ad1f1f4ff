"""The alert round: evaluate the conditions, log and send each change once.

Every hub process with `alert_interval_seconds` > 0 runs a round that often:
it sets the alert gauges (so any replica's `/metrics` shows them), then for
each alert that started or ended it tries to move that alert's row in the
`alerts` table to the new state. The move is a conditional write, so of
several processes evaluating the same change exactly one wins it; that one
logs the change (a structured `alert` line) and POSTs it to
`alert_webhook_url`, retrying up to `alert_webhook_attempts` times with a
doubling pause. A change the webhook never took is moved back, so the next
round (of any process) sends it again.

The webhook receives one JSON object per change:
`{"hub_id", "alert", "subject", "key", "state": "firing"|"resolved", "since",
"at", "summary", "labels"}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import structlog
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.alerts.conditions import Alert, evaluate
from hub.db.models import AlertRow
from hub.identity import HubIdentity
from hub.ops import metrics
from hub.settings import HubSettings
from registry.db import utcnow

__all__ = ["AlertJob", "Change", "running"]

log = logging.getLogger(__name__)
events = structlog.get_logger("lienthong.alerts")
ALERT_NAMES = (
    "deliveries_failed",
    "endpoint_failing",
    "certificate_expiring",
    "crl_expiring",
    "eventlog_behind",
)


@dataclass(frozen=True)
class Change:
    """An alert that started (`firing`) or ended (`resolved`), won by this process."""

    key: str
    alert: str
    state: str
    since: datetime
    summary: str
    labels: dict[str, str]
    previous: str | None


class AlertJob:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        identity: HubIdentity,
        settings: HubSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.sessions = sessions
        self.identity = identity
        self.settings = settings
        self.transport = transport
        self.retry_pause = 1.0

    async def run_once(self, now: datetime | None = None) -> list[Change]:
        """One round; the changes this process won and notified (sent or not)."""
        now = now or utcnow()
        async with self.sessions() as session:
            alerts = await evaluate(session, self.identity, self.settings, now)
            firing = (
                await session.scalars(select(AlertRow).where(AlertRow.state == "firing"))
            ).all()
        for name in ALERT_NAMES:
            metrics.ALERTS_FIRING.labels(name).set(sum(a.alert == name for a in alerts))
        current = {a.key: a for a in alerts}
        changes: list[Change] = []
        for alert in alerts:
            change = await self._claim_firing(alert, now)
            if change is not None:
                changes.append(change)
        for row in firing:
            if row.key not in current:
                change = await self._claim_resolved(row, now)
                if change is not None:
                    changes.append(change)
        for change in changes:
            await self._notify(change, now)
        return changes

    async def _claim_firing(self, alert: Alert, now: datetime) -> Change | None:
        async with self.sessions() as session:
            row = await session.get(AlertRow, alert.key)
            if row is not None and row.state == "firing":
                return None
            previous = None if row is None else row.state
            try:
                if row is None:
                    session.add(
                        AlertRow(
                            key=alert.key,
                            alert=alert.alert,
                            state="firing",
                            since=alert.since,
                            notified_at=now,
                            summary=alert.summary[:1000],
                        )
                    )
                    await session.commit()
                else:
                    moved = await session.execute(
                        update(AlertRow)
                        .where(AlertRow.key == alert.key, AlertRow.state == previous)
                        .values(
                            state="firing",
                            since=alert.since,
                            notified_at=now,
                            summary=alert.summary[:1000],
                        )
                    )
                    await session.commit()
                    if moved.rowcount != 1:  # type: ignore[attr-defined]
                        return None
            except IntegrityError:  # another process inserted it first
                await session.rollback()
                return None
        return Change(
            alert.key, alert.alert, "firing", alert.since, alert.summary, alert.labels, previous
        )

    async def _claim_resolved(self, row: AlertRow, now: datetime) -> Change | None:
        async with self.sessions() as session:
            moved = await session.execute(
                update(AlertRow)
                .where(AlertRow.key == row.key, AlertRow.state == "firing")
                .values(state="resolved", notified_at=now)
            )
            await session.commit()
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            return None
        summary = f"resolved: {row.summary}"
        return Change(row.key, row.alert, "resolved", row.since, summary, {}, "firing")

    async def _notify(self, change: Change, now: datetime) -> None:
        log_line = events.warning if change.state == "firing" else events.info
        log_line(
            "alert",
            alert=change.alert,
            key=change.key,
            state=change.state,
            since=change.since.isoformat(),
            summary=change.summary,
            **change.labels,
        )
        url = self.settings.alert_webhook_url
        if url is None:
            return
        body = self.payload(change, now)
        if await self._post(url, body):
            metrics.ALERT_NOTIFICATIONS.labels("sent").inc()
            return
        metrics.ALERT_NOTIFICATIONS.labels("failed").inc()
        await self._undo(change, now)

    def payload(self, change: Change, now: datetime) -> dict[str, Any]:
        return {
            "hub_id": self.settings.hub_id,
            "alert": change.alert,
            "subject": change.key.split(":", 1)[1],
            "key": change.key,
            "state": change.state,
            "since": change.since.isoformat(),
            "at": now.isoformat(),
            "summary": change.summary,
            "labels": change.labels,
        }

    async def _post(self, url: str, body: dict[str, Any]) -> bool:
        pause = self.retry_pause
        attempts = self.settings.alert_webhook_attempts
        async with httpx.AsyncClient(
            transport=self.transport, timeout=self.settings.alert_webhook_timeout_seconds
        ) as client:
            for attempt in range(1, attempts + 1):
                error: str
                try:
                    response = await client.post(url, json=body)
                    if response.is_success:
                        return True
                    error = f"HTTP {response.status_code}"
                except httpx.HTTPError as exc:
                    error = f"{type(exc).__name__}: {exc}"
                events.warning(
                    "alert webhook failed",
                    key=body["key"],
                    state=body["state"],
                    attempt=attempt,
                    attempts=attempts,
                    error=error[:300],
                )
                if attempt < attempts:
                    await asyncio.sleep(pause)
                    pause *= 2
        return False

    async def _undo(self, change: Change, now: datetime) -> None:
        """The webhook never took the change: put the row back so a later round resends."""
        async with self.sessions() as session:
            mine = (AlertRow.key == change.key, AlertRow.state == change.state)
            if change.previous is None:
                await session.execute(delete(AlertRow).where(*mine, AlertRow.notified_at == now))
            else:
                await session.execute(
                    update(AlertRow)
                    .where(*mine, AlertRow.notified_at == now)
                    .values(state=change.previous)
                )
            await session.commit()

    async def run(self) -> None:
        """A round every interval, the first one interval after start-up (a starting hub's
        sealer and workers have not caught up yet)."""
        while True:
            await asyncio.sleep(self.settings.alert_interval_seconds)
            try:
                await self.run_once()
            except Exception:
                log.exception("alert round failed; next one in one interval")


@asynccontextmanager
async def running(job: AlertJob | None) -> AsyncIterator[None]:
    """Run alert rounds in the background for the block (none when `job` is None)."""
    if job is None or job.settings.alert_interval_seconds <= 0:
        yield
        return
    task = asyncio.create_task(job.run(), name="alerts")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
