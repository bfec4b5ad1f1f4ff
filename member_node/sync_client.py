"""`SyncHubClient`: the same calls as `HubClient` for a DMS that is not async.

It runs one private event loop in a daemon thread, so it works from plain
scripts and from inside other event loops alike.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Coroutine, Iterable, Mapping
from types import TracebackType
from typing import Any, TypeVar

import httpx

from hub.protocol import (
    DeliveryRef,
    InboxBatch,
    LogEntries,
    LogHead,
    LogInclusionProof,
    StatusCode,
    StatusEntry,
    StatusUpdatesPage,
    SubmitResult,
    Trace,
)
from member_node.client import DEFAULT_WAIT, File, HubClient
from member_node.defaults import DEFAULT_HUB_ID
from member_node.directory import Directory
from member_node.identity import NodeIdentity
from signing.package import Header, Package

T = TypeVar("T")


class SyncHubClient:
    """Blocking facade over `HubClient`; see it for what each call does."""

    def __init__(
        self,
        base_url: str,
        identity: NodeIdentity,
        *,
        hub_id: str = DEFAULT_HUB_ID,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 30.0,
    ) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.client = self._run(_make(base_url, identity, hub_id, transport, timeout))

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self._run(self.client.aclose())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def __enter__(self) -> SyncHubClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def directory(self, *, refresh: bool = False) -> Directory:
        return self._run(self.client.directory(refresh=refresh))

    def build_package(
        self,
        recipients: Iterable[str],
        header: Header | Mapping[str, Any],
        files: Iterable[File] = (),
        **options: Any,
    ) -> Package:
        return self.client.build_package(recipients, header, files, **options)

    def send(
        self,
        recipients: Iterable[str],
        header: Header | Mapping[str, Any],
        files: Iterable[File] = (),
        **options: Any,
    ) -> SubmitResult:
        return self._run(self.client.send(recipients, header, files, **options))

    def submit(self, package: Package) -> SubmitResult:
        return self._run(self.client.submit(package))

    def trace(self, document_id: str) -> Trace:
        return self._run(self.client.trace(document_id))

    def recall(self, document_id: str) -> Trace:
        return self._run(self.client.recall(document_id))

    def post_status(
        self,
        document_id: str,
        code: StatusCode | str,
        *,
        reason: str | None = None,
        at: dt.datetime | None = None,
    ) -> StatusEntry:
        return self._run(self.client.post_status(document_id, code, reason=reason, at=at))

    def inbox(self, limit: int | None = None, *, wait: float = DEFAULT_WAIT) -> InboxBatch:
        return self._run(self.client.inbox(limit, wait=wait))

    def ack(self, delivery_id: str, receipt: str | None = None) -> DeliveryRef:
        return self._run(self.client.ack(delivery_id, receipt))

    def status_updates(
        self, after: int | None = None, limit: int | None = None, *, wait: float = DEFAULT_WAIT
    ) -> StatusUpdatesPage:
        return self._run(self.client.status_updates(after, limit, wait=wait))

    def eventlog_head(self) -> LogHead:
        return self._run(self.client.eventlog_head())

    def eventlog_entries(self, subject: str, after: int = 0) -> LogEntries:
        return self._run(self.client.eventlog_entries(subject, after))

    def eventlog_proof(self, seq: int) -> LogInclusionProof:
        return self._run(self.client.eventlog_proof(seq))


async def _make(
    base_url: str,
    identity: NodeIdentity,
    hub_id: str,
    transport: httpx.AsyncBaseTransport | None,
    timeout: float,
) -> HubClient:
    # The httpx client must be created on the loop that will use it.
    return HubClient(base_url, identity, hub_id=hub_id, transport=transport, timeout=timeout)
