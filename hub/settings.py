"""The hub's settings, read from `LIENTHONG_*` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from registry.settings import StorageSettings


class HubSettings(StorageSettings):
    """Everything a hub process needs to know; documented in the README."""

    hub_id: str = "lienthong-hub"
    """The hub's identity: the `aud` members put in their tokens, published in the directory."""

    pki_dir: Path | None = None
    """Directory holding `ca.crt`, `crl.pem`, `hub.key` and `hub.crt`. Unset: `{data_dir}/pki`."""

    hub_key: Path | None = None
    """The hub's private key (PEM). Unset: `{pki_dir}/hub.key`."""

    hub_pkcs11_module: str | None = None
    """The PKCS#11 module of the token or HSM holding the hub's key; set, it replaces `hub_key`
    (with `hub_pkcs11_token` and `hub_pkcs11_key`; the PIN in `LIENTHONG_HUB_PKCS11_PIN`)."""

    hub_pkcs11_token: str | None = None
    """The label of the token holding the hub's key."""

    hub_pkcs11_key: str | None = None
    """The label of the hub's private key on that token."""

    hub_cert: Path | None = None
    """The hub's certificate (PEM), chain after it allowed. Unset: `{pki_dir}/hub.crt`."""

    ca_cert: Path | None = None
    """The national root certificate(s) (PEM). Unset: `{pki_dir}/ca.crt`."""

    crl_file: Path | None = None
    """The CA's current CRL (PEM). Unset: `{pki_dir}/crl.pem`; reloaded when it changes."""

    max_package_bytes: int = 50 * 1024 * 1024
    """The largest request body accepted by `POST /v1/documents`; over it the answer is 413."""

    body_timeout_seconds: float = Field(default=30.0, gt=0)
    """A request body that sends nothing for this long is answered 408 and its connection closed."""

    rate_limits: dict[str, float] = Field(
        default_factory=lambda: {"default": 1000.0, "district": 200.0, "commune": 100.0}
    )
    """Requests per second each member may make, by member kind (`default` for the kinds not
    named; 0 is no limit), with bursts of `rate_limit_burst_seconds` of that rate; over it
    the answer is 429 with `Retry-After`. Counted per hub process. JSON in the environment:
    `LIENTHONG_RATE_LIMITS='{"default": 1000, "commune": 20}'`."""

    rate_limit_burst_seconds: int = Field(default=2, ge=1)
    """The window of the rate limit: a member may spend this many seconds' worth at once."""

    search_count_cap: int = Field(default=10_000, ge=1)
    """A document search (console and `GET /v1/admin/documents`) counts its matches exactly up
    to this many; past it the answer is "more than" this (`total_exact: false`)."""

    min_free_disk_bytes: int = Field(default=100 * 1024 * 1024, ge=0)
    """`/readyz` fails (`disk`) when the data directory has less free space than this."""

    long_poll_max_seconds: float = Field(default=60.0, gt=0, le=60)
    """The longest a long poll (`?wait=S`) is held, whatever S asks: a poll answers as soon as
    something arrives, or empty after min(S, this)."""

    pdf_workers: int = Field(default=2, ge=0)
    """Worker processes reading principal PDFs (pyHanko holds the GIL: in threads it would
    stall the event loop); 0 reads them in the ingest's threads instead."""

    pdf_max_seconds: float = Field(default=10.0, gt=0)
    """The longest a principal PDF's validation may take; past it, VALIDATION_LIMIT_EXCEEDED."""

    pdf_max_decoded_bytes: int = Field(default=256 * 1024 * 1024, gt=0)
    """The most bytes a principal PDF's streams may decode to; past it, VALIDATION_LIMIT_EXCEEDED
    (pyHanko's decode limits: the bound on what a small compressed file expands to)."""

    pdf_max_memory_bytes: int = Field(default=1024 * 1024 * 1024, ge=0)
    """Each PDF worker process's address space (RLIMIT_AS); a PDF that needs more is
    VALIDATION_LIMIT_EXCEEDED. 0: no limit."""

    workdays_file: Path | None = None
    """The government's announced changes to the working-day calendar behind LATE_DISPATCH
    (the exact Tết break, swapped Saturdays, extra days off), one per line:
    `YYYY-MM-DD off|work [note]`, `#` starts a comment. Read at start-up. Unset: the weekend
    and Vietnam's public holidays (the `holidays` package, Tết included) only."""

    directory_ttl_seconds: int = 3600
    """How long a signed directory stays valid (`expires_at - generated_at`)."""

    client_cert_header: str | None = None
    """Mutual TLS behind a reverse proxy: the request header in which the proxy forwards the
    client's verified certificate (PEM, URL-escaped as nginx's `$ssl_client_escaped_cert`).
    Set, every member call must carry it, and it must be one of that member's registered,
    unretired authentication certificates. Unset: no check (the proxy may still verify)."""

    delivery_worker: bool = True
    """Run the push delivery worker in this process (several processes may share one database)."""

    push_max_attempts: int = 12
    """A push delivery (or status push) is `failed` after this many attempts."""

    push_max_age_seconds: int = 3 * 24 * 3600
    """...or once it is this old, whichever comes first; operators can redrive it."""

    push_backoff_base_seconds: float = 2.0
    """The first retry waits about this long; each next one twice as long (with jitter)."""

    push_backoff_max_seconds: float = 600.0
    """The longest wait between two attempts."""

    push_timeout_seconds: float = Field(default=15.0, gt=0)
    """How long a member endpoint may take to answer a push, all of it (connecting, sending,
    the answer), counted once a connection to it is free; redirects are not followed."""

    push_lease_seconds: int = 120
    """A claimed push job is another worker's to take over after this long (a crashed worker)."""

    push_batch_size: int = Field(default=64, ge=1)
    """Jobs claimed at most per query (the worker claims again at once while more wait)."""

    push_concurrency: int = Field(default=256, ge=1)
    """Pushes in flight at once in one process; each is its own task, none waits for another."""

    push_per_member: int = Field(default=8, ge=1)
    """Pushes in flight at once to one member; its further due jobs wait in the queue."""

    push_connections_per_host: int = Field(default=16, ge=1)
    """Kept-alive connections (and requests in flight) per destination (scheme, host, port)."""

    delivery_overdue_minutes: int = Field(default=60, ge=1)
    """A delivery still queued this long is overdue: the dashboard lists it with the failed
    ones (a push endpoint still being retried, a pull member that does not pull)."""

    delivery_poll_seconds: float = 1.0
    """How often an idle worker looks for due jobs (new submissions wake it at once)."""

    inbox_lease_seconds: int = 300
    """A pulled delivery not acknowledged within this comes back in `GET /v1/inbox`."""

    inbox_max_batch: int = 100
    """The largest `limit` of `GET /v1/inbox` and `GET /v1/status-updates`."""

    eventlog_sealer: bool = True
    """Run the event-log sealer in this process (processes take turns; one seals at a time)."""

    eventlog_head_every_entries: int = 1000
    """The hub signs the log head at least every this many entries..."""

    eventlog_head_every_seconds: float = 10.0
    """...and at least this often while new entries arrive."""

    eventlog_seal_interval_seconds: float = 0.25
    """How often the sealer looks for new entries when it has caught up."""

    eventlog_seal_batch_size: int = 2000
    """Entries chained per sealing transaction (bounds how long it holds the chain's tip)."""

    eventlog_registry_grace_seconds: float = 30.0
    """Registry changes older than this are assumed committed when the sealer advances past them."""

    alert_interval_seconds: float = Field(default=60.0, ge=0)
    """How often each hub process evaluates the alert conditions (0: never in this process).
    Of several processes, one sends each change (see `alert_webhook_url`)."""

    alert_webhook_url: str | None = None
    """Each alert that starts or ends is POSTed here as JSON (`hub.alerts.job`). Unset: alerts
    are only logged and exported as metrics."""

    alert_webhook_attempts: int = Field(default=3, ge=1)
    """Tries per change (1 s, then 2 s, ... apart); a change never taken is resent next round."""

    alert_webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    """How long the webhook may take to answer one try."""

    alert_endpoint_failing_minutes: int = Field(default=15, ge=1)
    """A member's push endpoint that has failed every push for this long raises an alert."""

    alert_expiry_days: int = Field(default=30, ge=1)
    """Certificates (the hub's, the national root, members' current ones) expiring within this
    many days raise an alert."""

    alert_crl_expiry_days: float = Field(default=2.0, gt=0)
    """A CRL whose next update is due within this many days raises an alert (CRLs are reissued
    often: `lienthong pki crl` makes one valid 7 days)."""

    alert_eventlog_lag_seconds: float = Field(default=300.0, gt=0)
    """An event-log entry left unsealed this long raises an alert (no sealer is keeping up)."""

    retention_body_days: int | None = Field(default=None, ge=0)
    """Documents' attachment bodies are purged this many days after receipt (the manifest,
    verdict, facts, counters, trace and event log stay). Unset: kept forever."""

    retention_metadata_days: int | None = Field(default=None, ge=0)
    """Documents themselves (metadata, deliveries, statuses, report facts) and the report
    counters of earlier days are removed this many days after receipt; the event log stays.
    Unset: kept forever."""

    retention_interval_seconds: float = Field(default=3600.0, ge=0)
    """How often each hub process applies the retention policy (0: only `lienthong hub
    purge`)."""

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    """The lowest level logged (DEBUG, INFO, WARNING, ERROR, CRITICAL; any case)."""

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    log_json: bool = True
    """Log JSON lines (structlog); false for human-readable console lines."""

    gc_gen0_threshold: int = Field(default=50_000, ge=0)
    """Allocations between two collections of Python's youngest GC generation in a served
    worker (Python's default is 700); 0 leaves Python's own settings."""

    ui_secret: str | None = None
    """Signs dashboard session cookies. Unset: derived from the hub's private key, so every
    replica sharing the identity accepts the same sessions."""

    ui_session_seconds: int = 8 * 3600
    """How long a dashboard login lasts."""

    def resolved_pki_dir(self) -> Path:
        return self.pki_dir if self.pki_dir is not None else self.data_dir / "pki"

    def resolved_hub_key(self) -> Path:
        return self.hub_key or self.resolved_pki_dir() / "hub.key"

    def resolved_hub_cert(self) -> Path:
        return self.hub_cert or self.resolved_pki_dir() / "hub.crt"

    def resolved_ca_cert(self) -> Path:
        return self.ca_cert or self.resolved_pki_dir() / "ca.crt"

    def resolved_crl_file(self) -> Path:
        return self.crl_file or self.resolved_pki_dir() / "crl.pem"
