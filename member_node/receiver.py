"""Taking in one delivery, pushed or pulled: check, re-verify, store once, sign a receipt.

The node trusts the hub for routing, not for the document: it checks the hub's
receipt against the pinned hub certificate, checks that the package is the
one the receipt names, verifies every signature itself against the national
root and the directory's CRL, and only then stores it. The package id is the
deduplication key: a second delivery of a known package gets the same receipt.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hub.protocol import InboxDelivery, StatusCode, StatusUpdate
from member_node.clerk import Clerk
from member_node.directory import Directory
from member_node.identity import NodeIdentity
from member_node.store import NodeStore, ReceivedDocument
from signing.jose import JoseError, sign_compact, verify_compact
from signing.package import attachment_errors, manifest_digest, package_dict
from signing.trust import TrustStore
from signing.verify import verify_package

RECEIPT_TYPE = "lienthong-delivery-receipt"
_ACCEPTED = {"03", "04", "05", "06"}


class DeliveryRefused(ValueError):
    """A delivery the node will not store; `code` is stable, `status` the HTTP answer."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail


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
    ) -> None:
        self.identity = identity
        self.store = store
        self.clerk = clerk
        self._clock = clock
        self._trust: tuple[str, TrustStore] | None = None

    def accept(self, delivery: InboxDelivery, directory: Directory | None, *, via: str) -> Accepted:
        """Store `delivery` once and return the signed delivery receipt."""
        known = self.store.received(delivery.package.id)
        receipt = self._hub_receipt(delivery, directory)
        if known is not None:
            return Accepted(known, created=False)
        verdict = self._verify(delivery, directory, receipt)
        now = self._clock()
        claims = {
            "iss": self.identity.code,
            "typ": RECEIPT_TYPE,
            "delivery_id": delivery.delivery_id,
            "document_id": delivery.document_id,
            "sender": delivery.sender,
            "manifest_digest": receipt["manifest_digest"],
            "received_at": now.isoformat(),
            "compliant": verdict["compliant"],
            "violations": verdict["violations"],
        }
        org = self.identity.organization
        token = sign_compact(claims, org.key, org.chain)
        stored, created = self.store.add_received(
            package_dict(delivery.package),
            hub_verdict=delivery.verdict.model_dump(mode="json"),
            local_verdict=verdict,
            delivery_receipt=token,
            via=via,
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

    def _hub_receipt(self, delivery: InboxDelivery, directory: Directory | None) -> dict[str, Any]:
        pkg = delivery.package
        if pkg.id != delivery.document_id:
            raise DeliveryRefused(
                422, "document_id_mismatch", "the delivery's document_id is not the package id"
            )
        if self.identity.code not in pkg.recipients:
            raise DeliveryRefused(
                422, "not_a_recipient", f"{self.identity.code} is not among the recipients"
            )
        hub_cert = directory.hub_certificate if directory else self.identity.hub_certificate
        try:
            receipt = verify_compact(delivery.receipt, hub_cert)
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

    def _verify(
        self, delivery: InboxDelivery, directory: Directory | None, receipt: dict[str, Any]
    ) -> dict[str, Any]:
        try:
            received_at = dt.datetime.fromisoformat(str(receipt.get("received_at")))
        except ValueError:
            received_at = self._clock()
        verdict = verify_package(
            delivery.package,
            self._trust_store(directory),
            received_at=received_at,
            sender=delivery.sender,
        )
        return {"compliant": verdict.compliant, "violations": list(verdict.violations)}

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
