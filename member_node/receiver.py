"""Taking in one delivery, pushed or pulled: check, re-verify, store once, sign a receipt.

The node trusts the hub for routing, not for the document: it checks the hub's
receipt against the pinned hub certificate, checks that the package is the
one the receipt names, verifies every signature itself against the national
root and the directory's CRL, and only then stores it. The package id is the
deduplication key: a second delivery of a known package gets the same receipt.

The principal PDF's signatures are validated as the hub validates them
(`signing.verify`), off the event loop: pyHanko's reading runs in a thread by
default (an agency's node receives a few documents a minute), or wherever the
`pdf_reader` given says (the in-process demo hands it to worker processes).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from hub.protocol import InboxDelivery, StatusCode, StatusUpdate
from member_node.clerk import Clerk
from member_node.directory import Directory
from member_node.identity import NodeIdentity
from member_node.store import NodeStore, ReceivedDocument
from signing.edxml import EdxmlError, read_hub_export
from signing.jose import JoseError, sign_compact, verify_compact
from signing.package import Package, attachment_errors, manifest_digest, package_dict
from signing.pades.validate import PdfLimits, PdfReading, read_pdf
from signing.trust import TrustStore
from signing.verify import Verdict, principal_pdf, verify_package

RECEIPT_TYPE = "lienthong-delivery-receipt"
_ACCEPTED = {"03", "04", "05", "06"}
PdfReader = Callable[[bytes, PdfLimits], Awaitable[PdfReading]]
"""Reads a principal PDF within limits (`signing.pades.validate.read_pdf`, somewhere)."""


async def read_in_thread(data: bytes, limits: PdfLimits) -> PdfReading:
    return await asyncio.to_thread(read_pdf, data, limits)


class DeliveryRefused(ValueError):
    """A delivery the node will not store; `code` is stable, `status` the HTTP answer."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class EdxmlDelivery:
    """What travels beside a delivery's document: from the JSON item, or a push's headers."""

    delivery_id: str
    document_id: str
    sender: str
    hub_verdict: dict[str, Any] | None
    receipt: str | None = None
    """The hub's submission receipt (inbox items carry it; an edXML push does not)."""


@dataclass(frozen=True)
class Accepted:
    document: ReceivedDocument
    created: bool

    @property
    def receipt(self) -> str:
        return self.document.delivery_receipt


class Receiver:
    """The one path by which a document enters the node's store."""

    def __init__(
        self,
        identity: NodeIdentity,
        store: NodeStore,
        clerk: Clerk | None = None,
        *,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        pdf_reader: PdfReader = read_in_thread,
        pdf_limits: PdfLimits = PdfLimits(),
    ) -> None:
        self.identity = identity
        self.store = store
        self.clerk = clerk
        self._clock = clock
        self._read_pdf = pdf_reader
        self._pdf_limits = pdf_limits
        self._trust: tuple[str, TrustStore] | None = None

    async def accept(
        self, delivery: InboxDelivery, directory: Directory | None, *, via: str
    ) -> Accepted:
        """Store `delivery` once and return the signed delivery receipt."""
        if delivery.edxml is not None:
            return self.accept_edxml(
                delivery.edxml.encode(),
                EdxmlDelivery(
                    delivery.delivery_id,
                    delivery.document_id,
                    delivery.sender,
                    delivery.verdict.model_dump(mode="json"),
                    delivery.receipt,
                ),
                directory,
                via=via,
            )
        package = delivery.package
        assert package is not None  # the wire model holds one of the two
        known = self.store.received(package.id)
        receipt = self._hub_receipt(delivery, package, directory)
        if known is not None:
            return Accepted(known, created=False)
        verdict = await self._verify(delivery, package, directory, receipt)
        return self._store(
            package,
            EdxmlDelivery(
                delivery.delivery_id,
                delivery.document_id,
                delivery.sender,
                delivery.verdict.model_dump(mode="json"),
                delivery.receipt,
            ),
            receipt["manifest_digest"],
            verdict,
            via=via,
        )

    def accept_edxml(
        self, data: bytes, meta: EdxmlDelivery, directory: Directory | None, *, via: str
    ) -> Accepted:
        """Store an edXML delivery (hub-signed edXML, pushed or pulled) once.

        The hub's XML-DSig must verify under the directory's hub certificate;
        it covers the whole document, the sender's own signatures carried in
        it included. The node keeps the XML as delivered and the package it
        maps to; its verdict is the hub's (the sender's signature no longer
        verifies in place: the hub keeps the original, `GET …/edxml?original=1`).
        """
        known = self.store.received(meta.document_id)
        hub_cert = directory.hub_certificate if directory else self.identity.hub_certificate
        try:
            read = read_hub_export(data, hub_cert)
        except EdxmlError as exc:
            raise DeliveryRefused(422, exc.code, exc.detail) from exc
        if not read.hub_signature_valid:
            raise DeliveryRefused(
                422, "bad_hub_signature", "the hub's XML signature does not verify: "
                + "; ".join(read.errors)[:300],
            )  # fmt: skip
        # a JSON-born revocation or update gets another id when read back from edXML
        # (docs/EDXML.md section 3): the hub's document id is the one its receipt names
        package = read.package.model_copy(update={"id": meta.document_id})
        if package.sender != meta.sender or self.identity.code not in package.recipients:
            raise DeliveryRefused(
                422, "not_a_recipient", f"{self.identity.code} is not among the recipients"
            )
        digest = manifest_digest(package)
        if meta.receipt is not None:
            receipt = self._check_receipt(meta.receipt, package, directory)
            digest = str(receipt["manifest_digest"])
        if known is not None:
            return Accepted(known, created=False)
        hub = meta.hub_verdict or {}
        verdict = {
            "compliant": bool(hub.get("compliant", False)),
            "violations": list(hub.get("violations", [])),
            "checked": "hub_signature",
        }
        return self._store(package, meta, digest, verdict, via=via, edxml=data.decode())

    def _store(
        self,
        package: Package,
        meta: EdxmlDelivery,
        digest: str,
        verdict: dict[str, Any],
        *,
        via: str,
        edxml: str | None = None,
    ) -> Accepted:
        now = self._clock()
        claims = {
            "iss": self.identity.code,
            "typ": RECEIPT_TYPE,
            "delivery_id": meta.delivery_id,
            "document_id": meta.document_id,
            "sender": meta.sender,
            "manifest_digest": digest,
            "received_at": now.isoformat(),
            "compliant": verdict["compliant"],
            "violations": verdict["violations"],
        }
        org = self.identity.organization
        token = sign_compact(claims, org.key, org.chain)
        stored, created = self.store.add_received(
            package_dict(package),
            hub_verdict=meta.hub_verdict,
            local_verdict=verdict,
            delivery_receipt=token,
            via=via,
            edxml=edxml,
        )
        if created and self.clerk is not None:
            self.clerk.arrived(stored)
        return Accepted(stored, created)

    def status(self, update: StatusUpdate) -> bool:
        """Record a status; a recall (13) of a document we hold goes to the clerk.

        Without a clerk, a recalled document this agency has not accepted (03-06)
        is deleted at once, as the hub recalls it at once; an accepted one waits
        for the DMS's answer (15 or 16). Returns whether the clerk will answer.
        """
        self.store.add_status(
            update.document_id,
            update.recipient,
            update.code.value,
            update.at.isoformat(),
            reason=update.reason,
        )
        if update.code != StatusCode.RECALLED:
            return False
        if self.clerk is not None and self.clerk.recall_requested(update.document_id):
            return True
        posted = {s.code for s in self.store.statuses(update.document_id) if s.direction == "out"}
        if not posted & _ACCEPTED:
            self.store.mark_recalled(update.document_id)
        return False

    def _hub_receipt(
        self, delivery: InboxDelivery, pkg: Package, directory: Directory | None
    ) -> dict[str, Any]:
        if pkg.id != delivery.document_id:
            raise DeliveryRefused(
                422, "document_id_mismatch", "the delivery's document_id is not the package id"
            )
        if self.identity.code not in pkg.recipients:
            raise DeliveryRefused(
                422, "not_a_recipient", f"{self.identity.code} is not among the recipients"
            )
        return self._check_receipt(delivery.receipt, pkg, directory)

    def _check_receipt(
        self, token: str, pkg: Package, directory: Directory | None
    ) -> dict[str, Any]:
        hub_cert = directory.hub_certificate if directory else self.identity.hub_certificate
        try:
            receipt = verify_compact(token, hub_cert)
        except JoseError as exc:
            raise DeliveryRefused(
                422, "bad_hub_receipt", f"the hub receipt does not verify: {exc.detail}"
            ) from exc
        if receipt.get("document_id") != pkg.id or receipt.get("sub") != pkg.sender:
            raise DeliveryRefused(
                422, "bad_hub_receipt", "the hub receipt is for another document or sender"
            )
        if receipt.get("manifest_digest") != manifest_digest(pkg):
            raise DeliveryRefused(
                422,
                "manifest_mismatch",
                "the package is not the one the hub received (manifest digest differs)",
            )
        broken = attachment_errors(pkg)
        if broken:
            raise DeliveryRefused(
                422, "attachment_altered", "attachment content altered: " + ", ".join(broken)
            )
        return receipt

    async def _verify(
        self,
        delivery: InboxDelivery,
        package: Package,
        directory: Directory | None,
        receipt: dict[str, Any],
    ) -> dict[str, Any]:
        try:
            received_at = dt.datetime.fromisoformat(str(receipt.get("received_at")))
        except ValueError:
            received_at = self._clock()
        verdict = await self.verify(package, directory, received_at, delivery.sender)
        return {
            "compliant": verdict.compliant,
            "violations": list(verdict.violations),
            "signatures": [f.model_dump(mode="json") for f in verdict.signatures],
        }

    async def verify(
        self, package: Package, directory: Directory | None, received_at: dt.datetime, sender: str
    ) -> Verdict:
        """The node's own verdict: the principal PDF read by `pdf_reader`, the rest here."""
        principal = principal_pdf(package)
        reading = None
        if principal is not None and principal[1].intact:
            reading = await self._read_pdf(principal[1].data, self._pdf_limits)
        return verify_package(
            package,
            self._trust_store(directory),
            received_at=received_at,
            sender=sender,
            pdf_limits=self._pdf_limits,
            pdf_reading=reading,
        )

    def _trust_store(self, directory: Directory | None) -> TrustStore:
        """One trust store per directory version (its CRL), reused between deliveries."""
        version = directory.token if directory is not None else ""
        if self._trust is None or self._trust[0] != version:
            crls = [directory.crl] if directory is not None and directory.crl else []
            try:
                trust = TrustStore(self.identity.roots, crls=crls)
            except ValueError:
                trust = TrustStore(self.identity.roots)
            self._trust = (version, trust)
        return self._trust[1]
