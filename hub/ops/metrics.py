"""Prometheus instruments: what the hub counts (`/metrics` in `hub.api.metrics` serves them).

Services call the small functions here (one line each) at the moment a fact
becomes true, after their transaction commits. Queue depth is read from the
database at scrape time, so every hub process reports the shared queue.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

DOCUMENTS = Counter(
    "lienthong_documents_accepted",
    "Documents accepted, by verdict",
    ["verdict"],
    registry=REGISTRY,
)
VIOLATIONS = Counter(
    "lienthong_violations",
    "Violations found in accepted documents, by code",
    ["code"],
    registry=REGISTRY,
)
DELIVERIES = Counter(
    "lienthong_deliveries",
    "Delivery attempts by outcome (delivered, error, failed) and mode",
    ["outcome", "mode"],
    registry=REGISTRY,
)
RETRIES = Counter(
    "lienthong_delivery_retries",
    "Push attempts that will be retried",
    registry=REGISTRY,
)
LATENCY = Histogram(
    "lienthong_delivery_latency_seconds",
    "From acceptance to delivery",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 86400),
    registry=REGISTRY,
)
QUEUE = Gauge(
    "lienthong_queue_depth",
    "Deliveries waiting (queued) or given up (failed), read at scrape time",
    ["state"],
    registry=REGISTRY,
)
LONG_POLLS = Gauge(
    "lienthong_long_polls_waiting",
    "Long polls (GET /v1/inbox|status-updates?wait=) waiting in this process, at scrape time",
    registry=REGISTRY,
)
AUTH_FAILURES = Counter(
    "lienthong_auth_failures",
    "Refused authentications and authorisations, by problem code",
    ["code"],
    registry=REGISTRY,
)
HTTP_REQUESTS = Counter(
    "lienthong_http_requests",
    "HTTP requests by method and status class",
    ["method", "status"],
    registry=REGISTRY,
)
UNAVAILABLE = Counter(
    "lienthong_unavailable_answers",
    "503 answers by problem code (database_unavailable, storage_full, ...)",
    ["code"],
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "lienthong_rate_limited",
    "Requests refused with 429 by the per-member rate limit, by member",
    ["member"],
    registry=REGISTRY,
)
BODY_TIMEOUTS = Counter(
    "lienthong_body_timeouts",
    "Requests answered 408 because their body stalled",
    registry=REGISTRY,
)


def document_accepted(compliant: bool, violations: Iterable[str]) -> None:
    DOCUMENTS.labels("compliant" if compliant else "non_compliant").inc()
    for code in violations:
        VIOLATIONS.labels(code).inc()


def delivery_attempted(
    outcome: str, mode: str, created_at: datetime | None = None, now: datetime | None = None
) -> None:
    """One attempt's outcome; a delivery also observes its latency."""
    DELIVERIES.labels(outcome, mode).inc()
    if outcome == "error":
        RETRIES.inc()
    if outcome == "delivered" and created_at is not None and now is not None:
        LATENCY.observe(max(0.0, (now - created_at).total_seconds()))


def auth_failed(code: str) -> None:
    AUTH_FAILURES.labels(code).inc()


def queue_depth_read(counts: Mapping[str, int]) -> None:
    """The queue depth just read from the database (at scrape time)."""
    for state, n in counts.items():
        QUEUE.labels(state).set(n)


def long_polls_read(waiting: int) -> None:
    LONG_POLLS.set(waiting)


def unavailable(code: str) -> None:
    UNAVAILABLE.labels(code).inc()


def rate_limited(member: str) -> None:
    RATE_LIMITED.labels(member).inc()


def body_timed_out() -> None:
    BODY_TIMEOUTS.inc()


# -- alert conditions (`hub.alerts`): set by each process's alert round ------------------

FAILED_STATUS_PUSHES = Gauge(
    "lienthong_status_pushes_failed",
    "Status pushes given up (failed), waiting for a redrive; read by the alert round",
    registry=REGISTRY,
)
ENDPOINT_FAILING = Gauge(
    "lienthong_endpoint_failing_seconds",
    "How long each failing member push endpoint has failed every push (failing ones only)",
    ["member"],
    registry=REGISTRY,
)
CERTIFICATE_EXPIRY = Gauge(
    "lienthong_certificate_expiry_seconds",
    "Seconds until the earliest expiry among the hub's certificate (owner=hub), the "
    "national roots (ca) and the active members' current certificates (member)",
    ["owner"],
    registry=REGISTRY,
)
CRL_EXPIRY = Gauge(
    "lienthong_crl_expiry_seconds",
    "Seconds until the loaded CRL's next update (negative: past it)",
    registry=REGISTRY,
)
EVENTLOG_UNSEALED_AGE = Gauge(
    "lienthong_eventlog_unsealed_age_seconds",
    "Age of the oldest event-log entry not yet sealed into the chain (0: none)",
    registry=REGISTRY,
)
ALERTS_FIRING = Gauge(
    "lienthong_alerts_firing",
    "Alerts that hold now, by alert",
    ["alert"],
    registry=REGISTRY,
)
ALERT_NOTIFICATIONS = Counter(
    "lienthong_alert_notifications",
    "Alert changes sent to the webhook by this process, by outcome (sent, failed)",
    ["outcome"],
    registry=REGISTRY,
)
