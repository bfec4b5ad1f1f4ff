"""What is wrong now: the alert conditions, read from the database and the hub's identity.

Each condition is also a Prometheus gauge (`hub.ops.metrics`), so
`docker/alerts.yaml` states the same conditions for Prometheus: an operator
may use the hub's webhook, Prometheus's Alertmanager, or both.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.models import Delivery, DeliveryAttempt, StatusUpdateRow
from hub.eventlog.chain import EventLogEntry
from hub.identity import HubIdentity
from hub.ops import metrics
from hub.settings import HubSettings
from registry.models import Member, MemberCertificate

__all__ = ["Alert", "Expiry", "evaluate", "expiries"]


@dataclass(frozen=True)
class Alert:
    """One condition that holds now; `key` names it and what it is about."""

    alert: str
    subject: str
    summary: str
    since: datetime
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.alert}:{self.subject}"


async def evaluate(
    session: AsyncSession, identity: HubIdentity, settings: HubSettings, now: datetime
) -> list[Alert]:
    """Every alert that holds at `now`; the gauges are set on the way."""
    alerts: list[Alert] = []
    alerts += await _failed_deliveries(session, now)
    alerts += await _failing_endpoints(session, settings, now)
    alerts += await _expiring_certificates(session, identity, settings, now)
    alerts += await _sealer_behind(session, settings, now)
    return alerts


async def _failed_deliveries(session: AsyncSession, now: datetime) -> list[Alert]:
    deliveries = await session.scalar(
        select(func.count()).select_from(Delivery).where(Delivery.state == "failed")
    )
    statuses = await session.scalar(
        select(func.count())
        .select_from(StatusUpdateRow)
        .where(StatusUpdateRow.push_state == "failed")
    )
    failed, failed_statuses = int(deliveries or 0), int(statuses or 0)
    metrics.QUEUE.labels("failed").set(failed)
    metrics.FAILED_STATUS_PUSHES.set(failed_statuses)
    if not failed and not failed_statuses:
        return []
    oldest = await session.scalar(
        select(func.min(Delivery.next_attempt_at)).where(Delivery.state == "failed")
    )
    return [
        Alert(
            "deliveries_failed",
            "hub",
            f"{failed} deliveries and {failed_statuses} status pushes failed and wait for "
            "an operator's redrive",
            oldest or now,
            {"deliveries": str(failed), "status_pushes": str(failed_statuses)},
        )
    ]


async def _failing_endpoints(
    session: AsyncSession, settings: HubSettings, now: datetime
) -> list[Alert]:
    """Push members whose endpoint has not taken a push since its first failure, N minutes ago.

    Read from the deliveries being retried (few) and their attempts: the first failed
    attempt after the member's last successful delivery is when its endpoint began failing.
    """
    retrying = (
        await session.execute(
            select(Delivery.recipient, DeliveryAttempt.started_at)
            .join(DeliveryAttempt, DeliveryAttempt.delivery_id == Delivery.id)
            .where(
                Delivery.state == "queued",
                Delivery.mode == "push",
                Delivery.attempts > 0,
                Delivery.last_error.is_not(None),
                DeliveryAttempt.outcome.in_(["error", "failed"]),
            )
        )
    ).all()
    failures: dict[str, list[datetime]] = defaultdict(list)
    for recipient, started_at in retrying:
        failures[recipient].append(started_at)
    last_ok: dict[str, datetime] = {}
    if failures:
        last_ok = {
            recipient: at
            for recipient, at in (
                await session.execute(
                    select(Delivery.recipient, func.max(Delivery.delivered_at))
                    .where(Delivery.recipient.in_(list(failures)), Delivery.mode == "push")
                    .group_by(Delivery.recipient)
                )
            ).all()
            if at is not None
        }
    threshold = timedelta(minutes=settings.alert_endpoint_failing_minutes)
    alerts: list[Alert] = []
    metrics.ENDPOINT_FAILING.clear()
    for recipient, times in sorted(failures.items()):
        ok = last_ok.get(recipient)
        since = min((t for t in times if ok is None or t > ok), default=None)
        if since is None:
            continue
        failing = (now - since).total_seconds()
        metrics.ENDPOINT_FAILING.labels(recipient).set(failing)
        if now - since >= threshold:
            alerts.append(
                Alert(
                    "endpoint_failing",
                    recipient,
                    f"the push endpoint of {recipient} has failed every push for "
                    f"{int(failing // 60)} minutes",
                    since,
                    {"member": recipient},
                )
            )
    return alerts


@dataclass(frozen=True)
class Expiry:
    """A certificate the hub relies on, or the CRL, and when it stops being good."""

    owner: str
    """`hub`, `ca` (a national root), `member` or `crl` (its next update)."""
    subject: str
    what: str
    not_after: datetime
    member: str | None = None


async def expiries(session: AsyncSession, identity: HubIdentity) -> list[Expiry]:
    """The hub's certificate, the roots, members' current certificates and the CRL's
    next update, soonest first: what the expiry alerts and the dashboard both read."""
    found = [
        Expiry("hub", "hub", "the hub's certificate", identity.certificate.not_valid_after_utc)
    ]
    found += [
        Expiry("ca", f"ca:{root.serial_number:x}", "the national root", root.not_valid_after_utc)
        for root in identity.roots
    ]
    rows = (
        await session.execute(
            select(
                MemberCertificate.member_code,
                MemberCertificate.fingerprint,
                MemberCertificate.not_after,
            )
            .join(Member, Member.code == MemberCertificate.member_code)
            .where(MemberCertificate.retired_at.is_(None), Member.status == "active")
        )
    ).all()
    found += [
        Expiry("member", f"{code}:{fp[:16]}", f"the certificate {fp[:16]}… of {code}", at, code)
        for code, fp, at in rows
    ]
    crl = identity.crl
    if crl is not None and crl.next_update_utc is not None:
        found.append(Expiry("crl", "crl", "the CRL's next update", crl.next_update_utc))
    return sorted(found, key=lambda e: e.not_after)


async def _expiring_certificates(
    session: AsyncSession, identity: HubIdentity, settings: HubSettings, now: datetime
) -> list[Alert]:
    horizon = now + timedelta(days=settings.alert_expiry_days)
    alerts: list[Alert] = []
    earliest: dict[str, datetime] = {}
    for expiry in await expiries(session, identity):
        if expiry.owner == "crl":
            left = expiry.not_after - now
            metrics.CRL_EXPIRY.set(left.total_seconds())
            if left <= timedelta(days=settings.alert_crl_expiry_days):
                alerts.append(
                    Alert(
                        "crl_expiring",
                        "crl",
                        f"the CRL's next update is due {expiry.not_after.isoformat()}: "
                        "publish a fresh one",
                        now,
                    )
                )
            continue
        owner, not_after = expiry.owner, expiry.not_after
        if owner not in earliest or not_after < earliest[owner]:
            earliest[owner] = not_after
        if not_after <= horizon:
            verb = "expired" if not_after <= now else "expires"
            alerts.append(
                Alert(
                    "certificate_expiring",
                    expiry.subject,
                    f"{expiry.what} {verb} on {not_after.isoformat()}",
                    now,
                    {"owner": owner, "not_after": not_after.isoformat()},
                )
            )
    for owner, not_after in earliest.items():
        metrics.CERTIFICATE_EXPIRY.labels(owner).set((not_after - now).total_seconds())
    return alerts


async def _sealer_behind(
    session: AsyncSession, settings: HubSettings, now: datetime
) -> list[Alert]:
    oldest = await session.scalar(
        select(EventLogEntry.recorded_at)
        .where(EventLogEntry.seq.is_(None))
        .order_by(EventLogEntry.id)
        .limit(1)
    )
    behind = 0.0 if oldest is None else max(0.0, (now - oldest).total_seconds())
    metrics.EVENTLOG_UNSEALED_AGE.set(behind)
    if oldest is None or behind < settings.alert_eventlog_lag_seconds:
        return []
    return [
        Alert(
            "eventlog_behind",
            "hub",
            f"the oldest unsealed event-log entry is {int(behind)} s old: is a sealer running?",
            oldest,
        )
    ]
