"""`HubClient`: every member call of the wire contract (DESIGN section 4), async.

A DMS needs a few lines::

    identity = NodeIdentity.load("keys/", "000.00.00.H26")
    async with HubClient("https://hub.example", identity) as hub:
        result = await hub.send(["000.00.00.G22"], header, [("qd.pdf", "application/pdf", data)])
        trace = await hub.trace(result.document_id)

The client builds and signs packages (official first, then organisation),
signs PDFs the same way (`sign_pdf`, PAdES),
mints its own bearer tokens and reuses each until shortly before it expires,
keeps the hub's directory verified against the pinned hub certificate, and
turns every hub error into a typed `HubError` carrying the problem code.
A `503` (the hub's database or disk unavailable) or `429` (rate limited) is
retried after the hub's `Retry-After`, a bounded number of times (`retries`,
`max_retry_after`); every call is safe to repeat, submissions being
idempotent on the package id.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from typing import Any

from hub.protocol import (
    EDXML_MEDIA_TYPE,
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
from member_node.directory import Directory, DirectoryCache
from member_node.errors import (
    BadRequest,
    BadResponse,
    DirectoryError,
    HubError,
    SigningError,
)
from member_node.eventlog import verify_head, verify_inclusion
from member_node.hub_session import HubSession, read_json, read_model
from signing.edxml import EdxmlError, package_to_edxml, sign_envelope
from signing.jose import JoseError, verify_compact
from signing.package import Header, Package, new_package, package_json
from signing.pades.sign import PdfSigner, PdfSigningError, sign_pdf_twice
from signing.sign import sign_package

VN = dt.timezone(dt.timedelta(hours=7), "+07:00")
File = tuple[str, str, bytes]
"""An attachment: (name, media type, content)."""


DEFAULT_WAIT = 20.0
"""Seconds `inbox()` and `status_updates()` let the hub hold an empty answer (long poll)."""


class HubClient(HubSession):
    """Every member call of the wire contract, on an authenticated session with the hub."""

    # The constructor is `HubSession`'s (base URL, identity, `hub_id`, `transport`,
    # `timeout`, `retries`, `max_retry_after`): the client adds calls, not options.

    @functools.cached_property
    def directory_cache(self) -> DirectoryCache:
        """The hub's directory as last verified against the pinned hub certificate."""
        return DirectoryCache(self.identity.hub_certificate)

    # -- the directory -----------------------------------------------------------

    async def directory(self, *, refresh: bool = False) -> Directory:
        """The hub's directory, verified against the pinned hub certificate and cached."""
        directory = await self.directory_cache.get(self._fetch_directory, refresh=refresh)
        if directory.hub_id != self.hub_id:
            raise DirectoryError(
                "hub_id_mismatch",
                f"the directory names hub {directory.hub_id!r}, not {self.hub_id!r}",
            )
        return directory

    async def _fetch_directory(self, etag: str | None) -> tuple[str | None, str | None]:
        """One `GET /v1/directory`: conditional on `etag`, a delta when the cache holds a
        version (httpx asks for gzip and decodes it)."""
        headers = {"If-None-Match": etag} if etag else {}
        since = self.directory_cache.since
        try:
            response = await self._send(
                "GET",
                "/v1/directory",
                headers=headers,
                params={"since": str(since)} if since is not None else None,
            )
        except BadRequest as exc:
            if exc.code != "directory_version_unknown":
                raise
            # the hub is behind what we hold (a restored database): take it whole
            self.directory_cache.forget()
            response = await self._send("GET", "/v1/directory")
        if response.status_code == 304:
            return None, etag
        token = response.text.strip()
        if response.headers.get("content-type", "").startswith("application/json"):
            body = read_json(response)
            found = body.get("directory") or body.get("token") if isinstance(body, dict) else body
            if not isinstance(found, str):
                raise BadResponse("bad_directory", "the directory answer holds no JWS")
            token = found
        return token, response.headers.get("etag")

    # -- sending -----------------------------------------------------------------

    def build_package(
        self,
        recipients: Iterable[str],
        header: Header | Mapping[str, Any],
        files: Iterable[File] = (),
        *,
        personal: bool = True,
        organization: bool = True,
        package_id: str | None = None,
        signing_time: dt.datetime | None = None,
    ) -> Package:
        """A package from metadata and files, signed by the official then the organisation."""
        try:
            pkg = new_package(self.code, recipients, header, files, id=package_id)
        except ValueError as exc:
            raise SigningError("invalid_package", str(exc)) from exc
        when = signing_time or dt.datetime.now(VN).replace(microsecond=0)
        if personal:
            official = self.identity.official
            if official is None:
                raise SigningError(
                    "no_official_key", "no official.key/official.crt: cannot sign personally"
                )
            pkg = sign_package(pkg, official.key, official.chain, "personal", signing_time=when)
        if organization:
            org = self.identity.organization
            pkg = sign_package(pkg, org.key, org.chain, "organization", signing_time=when)
        return pkg

    def sign_pdf(
        self,
        data: bytes,
        *,
        personal: bool = True,
        organization: bool = True,
        signing_time: dt.datetime | None = None,
        visible: bool = False,
    ) -> bytes:
        """A PDF signed the way agencies sign (PAdES): the official, then the organisation's
        seal as a later revision over it. Pass the result to `build_package` or `send`
        as an `application/pdf` file; packages carry attachments byte for byte."""
        official = None
        if personal:
            if self.identity.official is None:
                raise SigningError(
                    "no_official_key", "no official.key/official.crt: cannot sign personally"
                )
            official = PdfSigner(self.identity.official.key, self.identity.official.chain)
        org = self.identity.organization
        seal = PdfSigner(org.key, org.chain) if organization else None
        try:
            return sign_pdf_twice(
                data,
                official,
                seal,
                signing_time=signing_time or dt.datetime.now(VN).replace(microsecond=0),
                visible=visible,
            )
        except PdfSigningError as exc:
            raise SigningError("invalid_pdf", str(exc)) from exc

    async def send(
        self,
        recipients: Iterable[str],
        header: Header | Mapping[str, Any],
        files: Iterable[File] = (),
        *,
        personal: bool = True,
        organization: bool = True,
        package_id: str | None = None,
    ) -> SubmitResult:
        """Build, sign and submit in one call."""
        pkg = self.build_package(
            recipients,
            header,
            files,
            personal=personal,
            organization=organization,
            package_id=package_id,
        )
        return await self.submit(pkg)

    async def submit(self, package: Package) -> SubmitResult:
        """`POST /v1/documents`; the same package again returns the same receipt."""
        response = await self._send(
            "POST",
            "/v1/documents",
            content=package_json(package),
            headers={"Content-Type": "application/json"},
        )
        return self._checked(read_model(SubmitResult, response))

    def _checked(self, result: SubmitResult) -> SubmitResult:
        try:
            verify_compact(result.receipt, self.identity.hub_certificate)
        except JoseError as exc:
            raise BadResponse(
                "receipt_signature_invalid", f"the hub's receipt does not verify: {exc.detail}"
            ) from exc
        return result

    # -- edXML -------------------------------------------------------------------

    def build_edxml(
        self,
        recipients: Iterable[str],
        header: Header | Mapping[str, Any],
        files: Iterable[File] = (),
        *,
        document_id: str | None = None,
        organization: bool = True,
        layout: str = "wrapped",
        package_id: str | None = None,
    ) -> bytes:
        """An edXML envelope from metadata and files, signed by the organisation (XML-DSig).

        The official's signature belongs in the PDF (PAdES); the envelope carries
        the organisation's. `document_id` is the envelope's DocumentId (default:
        the package id, a UUID, so the hub's id is the same).
        """
        pkg = self.build_package(
            recipients, header, files, personal=False, organization=False, package_id=package_id
        )
        when = dt.datetime.now(VN).replace(microsecond=0)
        try:
            data = package_to_edxml(pkg, layout=layout, document_id=document_id, timestamp=when)  # type: ignore[arg-type]
            if organization:
                org = self.identity.organization
                data = sign_envelope(data, org.key, org.chain)
        except EdxmlError as exc:
            raise SigningError(exc.code, exc.detail) from exc
        return data

    async def send_edxml(self, data: bytes) -> SubmitResult:
        """`POST /v1/documents` with an edXML envelope (`application/xml`), as it is.

        The hub maps it to the same package, verdict and receipt as JSON; the
        package id is `signing.edxml.package_id_for(From, DocumentId)`. The same
        envelope again (even re-signed) returns the same receipt.
        """
        response = await self._send(
            "POST", "/v1/documents", content=data, headers={"Content-Type": EDXML_MEDIA_TYPE}
        )
        return self._checked(read_model(SubmitResult, response))

    async def post_edxml_status(self, document_id: str, data: bytes) -> StatusEntry:
        """`POST /v1/documents/{id}/status` with an edXML status message."""
        response = await self._send(
            "POST",
            f"/v1/documents/{document_id}/status",
            content=data,
            headers={"Content-Type": EDXML_MEDIA_TYPE},
        )
        return read_model(StatusEntry, response)

    async def edxml(self, document_id: str, *, original: bool = False) -> bytes:
        """`GET /v1/documents/{id}/edxml`: the document as edXML signed by the hub, or with
        `original` the sender's own envelope byte for byte (edXML-born documents only)."""
        params = {"original": "1"} if original else None
        response = await self._send("GET", f"/v1/documents/{document_id}/edxml", params=params)
        return response.content

    # -- following a document ----------------------------------------------------

    async def trace(self, document_id: str) -> Trace:
        """`GET /v1/documents/{id}`: verdict, deliveries, statuses, events."""
        return read_model(Trace, await self._send("GET", f"/v1/documents/{document_id}"))

    async def recall(self, document_id: str) -> Trace:
        """`POST /v1/documents/{id}/recall` (sender): recipients get status 13."""
        return read_model(Trace, await self._send("POST", f"/v1/documents/{document_id}/recall"))

    async def post_status(
        self,
        document_id: str,
        code: StatusCode | str,
        *,
        reason: str | None = None,
        at: dt.datetime | None = None,
    ) -> StatusEntry:
        """`POST /v1/documents/{id}/status` (recipient): 01-06, 15, 16."""
        body: dict[str, Any] = {"code": str(StatusCode(code))}
        if reason is not None:
            body["reason"] = reason
        if at is not None:
            body["at"] = at.isoformat()
        response = await self._send("POST", f"/v1/documents/{document_id}/status", json=body)
        return read_model(StatusEntry, response)

    # -- pull members ------------------------------------------------------------

    async def inbox(self, limit: int | None = None, *, wait: float = DEFAULT_WAIT) -> InboxBatch:
        """`GET /v1/inbox`: a leased batch; acknowledge each before its lease ends.

        While the inbox is empty the hub holds the answer up to `wait` seconds (at
        most 60) and answers as soon as a delivery arrives; `wait=0` answers at once."""
        params: dict[str, float] = {"wait": wait} if wait > 0 else {}
        if limit is not None:
            params["limit"] = limit
        response = await self._send(
            "GET", "/v1/inbox", params=params or None, timeout=self._timeout_with(wait)
        )
        return read_model(InboxBatch, response)

    async def ack(self, delivery_id: str, receipt: str | None = None) -> DeliveryRef:
        """`POST /v1/inbox/{delivery_id}/ack`, with the node's signed delivery receipt."""
        body = {"receipt": receipt} if receipt is not None else {}
        response = await self._send("POST", f"/v1/inbox/{delivery_id}/ack", json=body)
        return read_model(DeliveryRef, response)

    async def status_updates(
        self, after: int | None = None, limit: int | None = None, *, wait: float = DEFAULT_WAIT
    ) -> StatusUpdatesPage:
        """`GET /v1/status-updates`: statuses about this member's documents, by cursor.

        With nothing new the hub holds the answer up to `wait` seconds (long poll, at
        most 60); `wait=0` answers at once."""
        params: dict[str, float] = {"wait": wait} if wait > 0 else {}
        if after is not None:
            params["after"] = after
        if limit is not None:
            params["limit"] = limit
        response = await self._send(
            "GET",
            "/v1/status-updates",
            params=params or None,
            timeout=self._timeout_with(wait),
        )
        return read_model(StatusUpdatesPage, response)

    # -- the event log ------------------------------------------------------------

    async def eventlog_head(self) -> LogHead:
        """`GET /v1/eventlog/head`, verified against the pinned hub certificate
        (`ProofError` otherwise): keep it, a later head must extend the same chain."""
        head = read_model(LogHead, await self._send("GET", "/v1/eventlog/head"))
        return verify_head(head, self.identity.hub_certificate, self.hub_id)

    async def eventlog_entries(self, subject: str, after: int = 0) -> LogEntries:
        """`GET /v1/eventlog/entries?subject=`: the entries about one of this member's
        documents (or about itself), each with the `seq` to prove."""
        params = {"subject": subject, "after": after}
        return read_model(
            LogEntries, await self._send("GET", "/v1/eventlog/entries", params=params)
        )

    async def eventlog_proof(self, seq: int) -> LogInclusionProof:
        """`GET /v1/eventlog/entries/{seq}/proof`, verified (`ProofError` otherwise): the
        entry, about this member, is in a head the hub signed."""
        response = await self._send("GET", f"/v1/eventlog/entries/{seq}/proof")
        proof = read_model(LogInclusionProof, response)
        verify_inclusion(proof, self.identity.hub_certificate, self.hub_id)
        return proof


__all__ = ["File", "HubClient", "HubError"]
