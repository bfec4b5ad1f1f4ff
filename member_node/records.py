"""What the node's store hands out: received documents, statuses, feed entries.

Plain frozen records, and how each is read from its SQLite row, kept apart
from the store's transactions so the DMS-facing shapes read in one place.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FeedEntry",
    "ReceivedDocument",
    "StatusRecord",
    "received_of",
    "signature_summary",
    "signed_in",
    "status_of",
]


@dataclass(frozen=True)
class ReceivedDocument:
    package_id: str
    sender: str
    subject: str
    package: dict[str, Any]
    hub_verdict: dict[str, Any] | None
    local_verdict: dict[str, Any]
    delivery_receipt: str
    via: str
    received_at: str
    recalled_at: str | None
    taken_at: str | None = None
    edxml: str | None = None
    """For an edXML member: the document as the hub delivered it (hub-signed edXML)."""

    @property
    def format(self) -> str:
        return "json" if self.edxml is None else "edxml"

    def summary(self) -> dict[str, Any]:
        """What a DMS lists: everything but the package body."""
        return {
            "id": self.package_id,
            "sender": self.sender,
            "subject": self.subject,
            "format": self.format,
            "compliant": self.local_verdict.get("compliant"),
            "violations": self.local_verdict.get("violations", []),
            "signed_in": signed_in(self.local_verdict.get("signatures", [])),
            "signatures": [signature_summary(f) for f in self.local_verdict.get("signatures", [])],
            "via": self.via,
            "received_at": self.received_at,
            "recalled_at": self.recalled_at,
            "taken_at": self.taken_at,
        }


def signed_in(signatures: list[dict[str, Any]]) -> str | None:
    """Where a received document is signed: `pdf`, `envelope`, `both`, or None (unsigned)."""
    sources = {f.get("source", "envelope") != "envelope" for f in signatures}
    if not sources:
        return None
    return "both" if len(sources) == 2 else ("pdf" if True in sources else "envelope")


def signature_summary(facts: dict[str, Any]) -> dict[str, Any]:
    """One signature as the DMS lists it: who, kind, when, where, and whether it holds."""
    good = (
        facts.get("signature_valid") is True
        and facts.get("chain_trusted") is True
        and facts.get("valid_at_signing_time") is not False
        and not facts.get("revoked_at_signing_time")
        and not facts.get("modified_after_signing")
    )
    return {
        "kind": facts.get("kind"),
        "format": facts.get("format"),
        "source": facts.get("source", "envelope"),
        "revision": facts.get("revision"),
        "subject": facts.get("subject"),
        "agency_code": facts.get("agency_code"),
        "signing_time": facts.get("signing_time"),
        "valid": good,
    }


@dataclass(frozen=True)
class StatusRecord:
    id: int
    document_id: str
    member: str
    code: str
    reason: str | None
    at: str
    direction: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "document_id": self.document_id,
            "member": self.member,
            "code": self.code,
            "reason": self.reason,
            "at": self.at,
            "direction": self.direction,
        }


@dataclass(frozen=True)
class FeedEntry:
    """One thing the DMS has not seen yet: a document received or a status heard."""

    seq: int
    kind: str
    """`document` or `status`."""
    document_id: str
    at: str
    document: ReceivedDocument | None
    status: StatusRecord | None


def status_of(r: sqlite3.Row) -> StatusRecord:
    """A `statuses` row as a record."""
    return StatusRecord(
        r["id"], r["document_id"], r["member"], r["code"], r["reason"], r["at"], r["direction"]
    )


def received_of(row: sqlite3.Row) -> ReceivedDocument:
    """A `received` row as a record, its JSON columns parsed."""
    return ReceivedDocument(
        package_id=row["package_id"],
        sender=row["sender"],
        subject=row["subject"],
        package=json.loads(row["package"]),
        hub_verdict=json.loads(row["hub_verdict"]) if row["hub_verdict"] else None,
        local_verdict=json.loads(row["local_verdict"]),
        delivery_receipt=row["delivery_receipt"],
        via=row["via"],
        received_at=row["received_at"],
        recalled_at=row["recalled_at"],
        taken_at=row["taken_at"],
        edxml=row["edxml"],
    )
