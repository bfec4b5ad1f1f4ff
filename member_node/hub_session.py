"""`HubSession`: one member's HTTP session with the hub, under every SDK call.

It mints the member's bearer tokens (reusing each until shortly before it
expires, and minting a fresh one once after a 401), speaks TLS with the
organisation certificate as client certificate over https, retries a `503`
or `429` after the hub's `Retry-After` (a bounded number of times, bounded
waits), and turns every refusal into a typed `HubError` with its problem code.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from member_node.defaults import DEFAULT_HUB_ID
from member_node.errors import BadResponse, HubUnreachable, Unauthorized, error_from_response
from member_node.identity import NodeIdentity
from member_node.tls import client_tls_context
from member_node.tokens import TokenMinter

M = TypeVar("M", bound=BaseModel)
RETRIED_STATUSES = frozenset({429, 503})
"""Answers after which the hub changed nothing and said when to come back (`Retry-After`)."""


class HubSession:
    """An authenticated HTTP session from one member to the hub."""

    def __init__(
        self,
        base_url: str,
        identity: NodeIdentity,
        *,
        hub_id: str = DEFAULT_HUB_ID,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 30.0,
        retries: int = 3,
        max_retry_after: float = 30.0,
    ) -> None:
        """`retries`: how many times a call answered `503` or `429` is made again, each
        after the hub's `Retry-After` (at most `max_retry_after` seconds; 1 s when absent);
        then the error is raised. 0 turns retrying off."""
        self.identity = identity
        # over https, the hub is checked against the national root and the organisation
        # certificate is offered as TLS client certificate (mutual TLS behind the proxy)
        verify = client_tls_context(identity) if base_url.startswith("https:") else True
        self.retries = retries
        self.max_retry_after = max_retry_after
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), transport=transport, timeout=timeout, verify=verify
        )
        self.hub_id = hub_id
        self._tokens: TokenMinter | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def code(self) -> str:
        return self.identity.code

    def _timeout_with(self, wait: float) -> httpx.Timeout:
        """The client's timeouts, with the read timeout lengthened by a long poll's wait."""
        base = self._http.timeout
        read = None if base.read is None else base.read + max(wait, 0.0)
        return httpx.Timeout(base.connect, read=read, write=base.write, pool=base.pool)

    async def _authorization(self) -> str:
        if self._tokens is None:
            self._tokens = TokenMinter(self.identity.organization, self.code, self.hub_id)
        return f"Bearer {self._tokens.token()}"

    async def _send(
        self, method: str, url: str, *, auth: bool = True, **kwargs: Any
    ) -> httpx.Response:
        headers: dict[str, str] = dict(kwargs.pop("headers", None) or {})
        refreshed = False
        retries_left = self.retries
        while True:
            if auth:
                headers["Authorization"] = await self._authorization()
            try:
                response = await self._http.request(method, url, headers=headers, **kwargs)
            except httpx.TransportError as exc:
                raise HubUnreachable(
                    "hub_unreachable", f"{method} {url}: {exc.__class__.__name__}: {exc}"
                ) from exc
            except httpx.DecodingError as exc:  # a body its Content-Encoding cannot decode
                raise BadResponse("undecodable", f"{method} {url}: {exc}") from exc
            if response.status_code < 400 or response.status_code == 304:
                return response
            error = error_from_response(response)
            if isinstance(error, Unauthorized) and auth and not refreshed and self._tokens:
                self._tokens.invalidate()  # a rotated key or a clock jump: one fresh try
                refreshed = True
                continue
            if response.status_code in RETRIED_STATUSES and retries_left > 0:
                # the hub changed nothing (database or disk unavailable, or rate limited)
                retries_left -= 1
                await asyncio.sleep(self._retry_after(response))
                continue
            raise error

    def _retry_after(self, response: httpx.Response) -> float:
        """The answer's `Retry-After` in seconds (seconds or an HTTP date), bounded."""
        value = response.headers.get("retry-after", "").strip()
        seconds = 1.0
        if value.isdigit():
            seconds = float(value)
        elif value:
            try:
                when = email.utils.parsedate_to_datetime(value)
                seconds = (when - dt.datetime.now(dt.UTC)).total_seconds()
            except (TypeError, ValueError):
                pass
        return min(max(seconds, 0.0), self.max_retry_after)


def read_json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise BadResponse(
            "not_json", f"the hub answered {response.status_code} with a body that is not JSON"
        ) from exc


def read_model(model: type[M], response: httpx.Response) -> M:
    try:
        return model.model_validate(read_json(response))
    except ValidationError as exc:
        raise BadResponse(
            "unexpected_answer", f"the hub's answer is not a {model.__name__}: {exc}"
        ) from exc


__all__ = ["RETRIED_STATUSES", "HubSession", "read_json", "read_model"]
