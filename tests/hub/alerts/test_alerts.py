"""Alerts: each condition logged, exported as a metric and sent to the webhook once
(whichever process wins it), retried, resolved; the Prometheus rules use the same metrics."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, update
from structlog.testing import capture_logs

from hub.alerts.job import AlertJob
from hub.db.models import Delivery, DeliveryAttempt
from hub.eventlog.sealer import hub_sealer
from hub.ops.metrics import REGISTRY
from registry.db import utcnow
from registry.models import MemberCertificate
from tests.hub.conftest import Hub

SENDER, DOWN, GONE = "000.00.00.H26", "000.00.00.G22", "000.00.00.H49"
RULES = Path(__file__).resolve().parents[3] / "docker" / "alerts.yaml"


class Webhook:
    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.received: list[dict[str, Any]] = []

    def transport(self) -> httpx.AsyncBaseTransport:
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> JSONResponse:
            if self.failures > 0:
                self.failures -= 1
                return JSONResponse({}, status_code=500)
            self.received.append(await request.json())
            return JSONResponse({})

        return httpx.ASGITransport(app=app)


def job(hub: Hub, webhook: Webhook, **settings: Any) -> AlertJob:
    made = AlertJob(
        hub.context.sessions,
        hub.context.identity,
        hub.settings.model_copy(
            update={"alert_webhook_url": "http://alerts/hook", "alert_webhook_attempts": 3}
            | settings
        ),
        transport=webhook.transport(),
    )
    made.retry_pause = 0.01
    return made


async def test_conditions_fire_once_and_resolve(hub: Hub) -> None:
    sender = await hub.add(SENDER)
    await hub.add(DOWN, mode="push")
    await hub.add(GONE, mode="push")
    for recipient in (DOWN, GONE):
        assert (await hub.submit(sender, sender.package([recipient]))).status_code == 202
    hub.members.failures = {DOWN: 100, GONE: 100}
    assert await hub.worker(push_max_attempts=1).run_once() == 2  # both fail at once...
    async with hub.context.sessions.begin() as session:
        # ...pretend GONE's was retried instead, failing for 20 minutes
        await session.execute(
            update(DeliveryAttempt)
            .where(DeliveryAttempt.delivery_id.in_(_ids_of(hub, GONE)))
            .values(started_at=utcnow() - timedelta(minutes=20), outcome="error")
        )
        await session.execute(
            update(Delivery).where(Delivery.recipient == GONE).values(state="queued")
        )
        await session.execute(
            update(MemberCertificate)
            .where(MemberCertificate.member_code == SENDER)
            .values(not_after=utcnow() + timedelta(days=5))
        )
    webhook = Webhook(failures=1)  # the first try fails, the second takes it
    first = job(hub, webhook, alert_crl_expiry_days=30, alert_eventlog_lag_seconds=0.001)
    with capture_logs() as lines:
        changes = await first.run_once()
    fired = {c.alert for c in changes}
    assert fired == {
        "deliveries_failed",
        "endpoint_failing",
        "certificate_expiring",
        "crl_expiring",
        "eventlog_behind",
    }
    assert {r["alert"] for r in webhook.received} == fired
    assert all(r["state"] == "firing" for r in webhook.received)
    failing = next(r for r in webhook.received if r["alert"] == "endpoint_failing")
    assert failing["subject"] == GONE and failing["labels"] == {"member": GONE}
    expiring = next(r for r in webhook.received if r["alert"] == "certificate_expiring")
    assert expiring["subject"].startswith(SENDER) and expiring["labels"]["owner"] == "member"
    logged = [line for line in lines if line["event"] == "alert"]
    assert {line["alert"] for line in logged} == fired
    assert [line for line in lines if line["event"] == "alert webhook failed"]

    # another hub process evaluating the same conditions sends nothing again
    other = Webhook()
    assert (
        await job(hub, other, alert_crl_expiry_days=30, alert_eventlog_lag_seconds=0.001).run_once()
        == []
    )
    assert other.received == []

    # the metrics say the same
    scrape = (await hub.client.get("/metrics")).text
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(scrape)
        for s in family.samples
    }
    assert samples[("lienthong_endpoint_failing_seconds", (("member", GONE),))] >= 20 * 60
    assert samples[("lienthong_alerts_firing", (("alert", "deliveries_failed"),))] == 1
    assert samples[("lienthong_certificate_expiry_seconds", (("owner", "member"),))] < 6 * 86400

    # sealing the log ends that alert: the change is sent once
    sealer = hub_sealer(hub.context.sessions, hub.context.identity, hub.settings)
    await sealer.seal_all()
    again = Webhook()
    changes = await job(hub, again, alert_crl_expiry_days=30).run_once()
    assert [(c.alert, c.state) for c in changes] == [("eventlog_behind", "resolved")]
    assert [(r["alert"], r["state"]) for r in again.received] == [("eventlog_behind", "resolved")]


async def test_a_webhook_that_never_answers_gets_the_change_next_round(hub: Hub) -> None:
    down = Webhook(failures=3)
    first = job(hub, down, alert_eventlog_lag_seconds=0.001)
    sender = await hub.add(SENDER)
    await hub.add(DOWN)
    # an accepted document is an event-log entry, unsealed (no sealer runs here)
    assert (await hub.submit(sender, sender.package([DOWN]))).status_code == 202
    with capture_logs():
        assert [c.alert for c in await first.run_once()] == ["eventlog_behind"]
    assert down.received == []
    up = Webhook()
    second = job(hub, up, alert_eventlog_lag_seconds=0.001)
    assert [c.alert for c in await second.run_once()] == ["eventlog_behind"]
    assert [r["alert"] for r in up.received] == ["eventlog_behind"]


def _ids_of(hub: Hub, recipient: str) -> Any:
    return select(Delivery.id).where(Delivery.recipient == recipient)


def test_the_prometheus_rules_use_the_hubs_metrics() -> None:
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    [group] = rules["groups"]
    names = {rule["alert"] for rule in group["rules"]}
    assert names == {
        "LienthongDeliveriesFailed",
        "LienthongEndpointFailing",
        "LienthongCertificateExpiring",
        "LienthongCrlExpiring",
        "LienthongEventLogBehind",
    }
    known = {
        sample_name
        for metric in REGISTRY.collect()
        for sample_name in (metric.name, f"{metric.name}_total")
    }
    for rule in group["rules"]:
        used = set(re.findall(r"\blienthong_[a-z_]+", rule["expr"]))
        assert used and used <= known, (rule["alert"], used - known)
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"]


@pytest.fixture(autouse=True)
def _no_background_rounds(hub_overrides: dict[str, Any]) -> None:
    hub_overrides["alert_interval_seconds"] = 0
