"""Typed exceptions for everything that can go wrong between a member and the hub.

The hub answers errors as RFC 9457 problems with a stable `code`; the SDK turns
each into an exception whose class says the HTTP family and whose `code` says
exactly what, so a DMS branches on codes, never on English sentences.
"""

from __future__ import annotations

from typing import Any

import httpx

__all__ = [
    "BadRequest",
    "BadResponse",
    "Conflict",
    "DirectoryError",
    "Forbidden",
    "HubError",
    "HubUnreachable",
    "NotFound",
    "PayloadTooLarge",
    "ProofError",
    "ServerError",
    "SigningError",
    "Unauthorized",
    "error_from_response",
]


class HubError(Exception):
    """The hub refused a call, or could not be reached or understood."""

    def __init__(
        self,
        code: str,
        detail: str,
        *,
        status: int | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(f"{code}: {detail}" if status is None else f"{status} {code}: {detail}")
        self.code = code
        self.detail = detail
        self.status = status
        self.errors = errors


class BadRequest(HubError):
    """400 / 422: the request itself is wrong; fix it before retrying."""


class Unauthorized(HubError):
    """401: the bearer token was refused (expired, unknown key, rotated out)."""


class Forbidden(HubError):
    """403: authenticated, but not allowed (suspended, not sender or recipient)."""


class NotFound(HubError):
    """404: no such document, delivery or route."""


class Conflict(HubError):
    """409: the same package id with another manifest, or a state that forbids the call."""


class PayloadTooLarge(HubError):
    """413: the package is over the hub's size limit."""


class ServerError(HubError):
    """5xx: the hub failed; the call may be retried (submissions are idempotent)."""


class HubUnreachable(HubError):
    """No answer at all: connection refused, timeout, TLS failure."""


class BadResponse(HubError):
    """An answer the SDK cannot read: not JSON, or not the shape of the wire contract."""


class DirectoryError(HubError):
    """The directory's signature does not verify against the pinned hub certificate."""


class ProofError(HubError):
    """An event-log head or inclusion proof that does not verify against the pinned hub
    certificate, or does not prove what it claims."""


class SigningError(HubError):
    """The SDK could not build or sign a package (missing key, unreadable file)."""


_BY_STATUS: dict[int, type[HubError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: BadRequest,
}


def error_from_response(response: httpx.Response) -> HubError:
    """The typed exception for a non-2xx answer, carrying the problem's code."""
    status = response.status_code
    cls = _BY_STATUS.get(status, ServerError if status >= 500 else HubError)
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return cls(f"http_{status}", response.text[:200] or response.reason_phrase, status=status)
    code = str(body.get("code") or f"http_{status}")
    detail = str(body.get("detail") or body.get("title") or response.reason_phrase)
    raw_errors = body.get("errors")
    errors = None
    if isinstance(raw_errors, list):
        errors = [e for e in raw_errors if isinstance(e, dict)]
    return cls(code, detail, status=status, errors=errors)
