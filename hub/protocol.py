# NEEDED BY member_node: the directory's claims as a wire model in this module would pin
#   them; until then member_node parses the names of registry/directory.build_directory
#   (hub_id, generated_at, expires_at, hub_certificate, ca_chain, crl, members[code, name,
#   status, delivery_mode, certificates[fingerprint, ...]]). Please keep those names.
"""The hub's wire models: what members send and receive on `/v1` (DESIGN section 4).

Pure pydantic, no I/O: member nodes import this module to speak to the hub,
so it depends on nothing of the hub but the signed package and its verdict.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from signing.package import Package
from signing.verify import Verdict

__all__ = [
    "RECIPIENT_STATUS_CODES",
    "AckRequest",
    "DeliveryAttemptTrace",
    "DeliveryRef",
    "DeliveryState",
    "DeliveryTrace",
    "InboxBatch",
    "InboxDelivery",
    "LinkedDocument",
    "LogEntries",
    "LogEntry",
    "LogHead",
    "LogInclusionProof",
    "Package",
    "PushAnswer",
    "ReceiptClaims",
    "RecipientOutcome",
    "RecipientResult",
    "StatusCode",
    "StatusEntry",
    "StatusPost",
    "StatusUpdate",
    "StatusUpdatesPage",
    "SubmitResult",
    "Trace",
    "Verdict",
]


EDXML_MEDIA_TYPE = "application/xml"
"""How edXML travels: submissions, pushes to edXML members, inbox and status messages."""
DELIVERY_ID_HEADER = "Lienthong-Delivery-Id"
"""With an edXML body (a push, or a bare inbox item): the delivery to acknowledge."""
DOCUMENT_ID_HEADER = "Lienthong-Document-Id"
SENDER_HEADER = "Lienthong-Sender"
ATTEMPT_HEADER = "Lienthong-Attempt"
COMPLIANT_HEADER = "Lienthong-Compliant"
"""`true` or `false`: the hub's verdict on a document pushed as edXML."""
VIOLATIONS_HEADER = "Lienthong-Violations"
"""The verdict's violation codes, space-separated (empty when compliant)."""
CURSOR_HEADER = "Lienthong-Cursor"
"""With an edXML status message: its position in the member's stream."""
RECIPIENT_HEADER = "Lienthong-Recipient"
"""With an edXML status message: the recipient whose status it is."""


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StatusCode(StrEnum):
    """The edXML status codes the hub carries (DESIGN section 1)."""

    ARRIVED = "01"
    REJECTED = "02"
    ACCEPTED = "03"
    ASSIGNED = "04"
    PROCESSING = "05"
    COMPLETED = "06"
    RECALLED = "13"
    RECALL_AGREED = "15"
    RECALL_REFUSED = "16"


STATUS_STATES: dict[StatusCode, str] = {
    StatusCode.ARRIVED: "arrived",
    StatusCode.REJECTED: "rejected",
    StatusCode.ACCEPTED: "accepted",
    StatusCode.ASSIGNED: "assigned",
    StatusCode.PROCESSING: "processing",
    StatusCode.COMPLETED: "completed",
}
"""The delivery state a recipient's status (01–06) puts it in, in code order."""
STATE_BY_CODE: dict[str, str] = {code.value: state for code, state in STATUS_STATES.items()}
"""The same keyed by the code as sent ("03"), for reports and printouts."""

RECIPIENT_STATUS_CODES = frozenset(
    {
        StatusCode.ARRIVED,
        StatusCode.REJECTED,
        StatusCode.ACCEPTED,
        StatusCode.ASSIGNED,
        StatusCode.PROCESSING,
        StatusCode.COMPLETED,
        StatusCode.RECALL_AGREED,
        StatusCode.RECALL_REFUSED,
    }
)
"""The codes a recipient may post; 13 is the hub's alone (it announces a recall)."""


class RecipientOutcome(StrEnum):
    """What the hub decided for one recipient at submission."""

    ACCEPTED = "accepted"
    """A delivery job exists; the document will reach the recipient."""
    REFUSED_BY_POLICY = "refused_by_policy"
    """The recipient's acceptance policy refuses this verdict."""
    RECIPIENT_INACTIVE = "recipient_inactive"
    """The recipient is suspended or revoked in the registry: nothing is delivered."""


class DeliveryState(StrEnum):
    """One recipient's state (DESIGN section 5)."""

    QUEUED = "queued"
    DELIVERED = "delivered"
    ARRIVED = "arrived"
    REJECTED = "rejected"
    ACCEPTED = "accepted"
    ASSIGNED = "assigned"
    PROCESSING = "processing"
    COMPLETED = "completed"
    RECALLED = "recalled"
    FAILED = "failed"
    REFUSED = "refused"


class RecipientResult(_Wire):
    """One recipient's line in the receipt and the submit answer."""

    recipient: str
    outcome: RecipientOutcome
    delivery_id: str | None = None
    reasons: list[str] = Field(default_factory=list)
    """For a refusal: the violation codes (policy) or the member's registry status."""


class ReceiptClaims(_Wire):
    """The claims of the hub's signed receipt (a JWS compact token)."""

    iss: str
    """The hub id."""
    sub: str
    """The sender."""
    document_id: str
    manifest_digest: str
    received_at: datetime
    verdict: Verdict
    recipients: list[RecipientResult]


class SubmitResult(_Wire):
    """The answer to `POST /v1/documents`: the receipt and its decoded claims."""

    document_id: str
    manifest_digest: str
    received_at: datetime
    verdict: Verdict
    recipients: list[RecipientResult]
    receipt: str
    """JWS compact, signed by the hub; verify it with the hub certificate of the directory."""


class InboxDelivery(_Wire):
    """One document for one recipient: pushed to `{endpoint}/v1/inbox` or pulled.

    A member whose wire format is `json` gets `package`; one whose format is
    `edxml` gets `edxml` instead: the document as edXML text, signed by the hub.
    """

    delivery_id: str
    document_id: str
    sender: str
    package: Package | None = None
    edxml: str | None = None
    """For edXML members: the hub-signed edXML document (docs/EDXML.md section 5)."""
    verdict: Verdict
    receipt: str
    """The hub's submission receipt, so the recipient can prove what the sender sent."""
    attempt: int
    lease_expires_at: datetime | None = None
    """Pull only: acknowledge before this or the delivery comes back."""

    @model_validator(mode="after")
    def _one_form(self) -> InboxDelivery:
        if (self.package is None) == (self.edxml is None):
            raise ValueError("a delivery carries either package or edxml")
        return self


class InboxBatch(_Wire):
    deliveries: list[InboxDelivery]


class PushAnswer(BaseModel):
    """What a member node may answer to a push (extra fields are ignored)."""

    receipt: str | None = None
    """The member's delivery receipt, a JWS signed by its organisation key."""


class AckRequest(_Wire):
    """Body of `POST /v1/inbox/{delivery_id}/ack` (optional)."""

    receipt: str | None = None
    """The member's signed delivery receipt, kept as proof of receipt."""


class StatusPost(_Wire):
    """Body of `POST /v1/documents/{id}/status`."""

    code: StatusCode
    reason: str | None = Field(default=None, max_length=2000)
    """Required for 02 (rejected)."""
    at: AwareDatetime | None = None
    """When the recipient's clerk set the status; default: when the hub received it."""


class StatusUpdate(_Wire):
    """A status for one member to hear: pushed to `{endpoint}/v1/status` or pulled."""

    cursor: int
    """Position in this member's stream; pass the last one to `GET /v1/status-updates`."""
    document_id: str
    recipient: str
    code: StatusCode
    reason: str | None = None
    at: datetime
    recorded_at: datetime
    edxml: str | None = None
    """For edXML members: the same status as an edXML status message."""


class StatusUpdatesPage(_Wire):
    updates: list[StatusUpdate]
    next_cursor: int


class StatusEntry(_Wire):
    code: StatusCode
    reason: str | None = None
    at: datetime
    recorded_at: datetime


class DeliveryAttemptTrace(_Wire):
    attempt: int
    started_at: datetime
    outcome: str
    """`delivered`, `error`, `leased` (pulled) or `acknowledged`."""
    detail: str | None = None


class DeliveryTrace(_Wire):
    delivery_id: str
    recipient: str
    outcome: RecipientOutcome
    reasons: list[str] = Field(default_factory=list)
    state: DeliveryState
    attempts: int
    delivered_at: datetime | None = None
    recall_pending: bool = False
    statuses: list[StatusEntry]
    attempt_log: list[DeliveryAttemptTrace]


class LinkedDocument(_Wire):
    """A document linked by its business type: 1 revokes, 2 updates, 3 replaces another."""

    document_id: str
    business_type: int
    """Of the later document: 1 revocation, 2 update, 3 replacement."""


class Trace(_Wire):
    """`GET /v1/documents/{id}`: the document's journey; a recipient sees its own line."""

    document_id: str
    sender: str
    manifest_digest: str
    received_at: datetime
    recalled_at: datetime | None = None
    wire_format: str = "json"
    """How the sender submitted it: `json` or `edxml`."""
    earlier: LinkedDocument | None = None
    """The document this one revokes, updates or replaces (its business type is this one's)."""
    later: list[LinkedDocument] = Field(default_factory=list)
    """Documents that revoke, update or replace this one."""
    purged_at: datetime | None = None
    """When the retention policy removed the attachment bodies (the rest is kept)."""
    verdict: Verdict
    deliveries: list[DeliveryTrace]


class DeliveryRef(_Wire):
    """The answer to an acknowledgement or a redrive: the delivery's state now."""

    delivery_id: str
    state: DeliveryState


class LogHead(_Wire):
    """`GET /v1/eventlog/head`: the hub's latest signed statement about its event log.

    `jws` is the statement itself (a compact JWS, `typ` lienthong-log-head+jws,
    signed by the hub certificate in its `x5c` header); the other fields repeat
    its claims for readers that do not verify.
    """

    seq: int = Field(examples=[1200])
    """The last entry it covers; the log holds entries 1..seq."""
    hash: str = Field(pattern="^[0-9a-f]{64}$")
    """The chain hash of entry `seq`, which commits to every entry before it."""
    first_seq: int | None = Field(None, examples=[1001])
    """The first entry of this head's segment (the entries since the previous head)."""
    entries_root: str | None = Field(None, pattern="^[0-9a-f]{64}$")
    """RFC 9162 Merkle root over the segment's entry hashes; absent on heads signed
    before inclusion proofs existed."""
    signed_at: datetime
    jws: str = Field(pattern=r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")


class LogEntry(_Wire):
    """One sealed entry of the event log, as exported (`lienthong log export`)."""

    seq: int = Field(ge=1)
    at: str
    """When it was recorded: UTC, microseconds, `Z` (the exact text that is hashed)."""
    kind: str
    subject: str
    data: dict[str, Any]
    prev: str = Field(pattern="^[0-9a-f]{64}$")
    hash: str = Field(pattern="^[0-9a-f]{64}$")
    """`SHA-256(prev as 32 bytes || JCS({seq, at, kind, subject, data}))`, hex."""


class LogEntries(_Wire):
    """`GET /v1/eventlog/entries?subject=`: the entries about a document or a member."""

    entries: list[LogEntry]
    next_after: int
    """Pass it as `after` for the next page (the same number: nothing more yet)."""


class LogInclusionProof(_Wire):
    """`GET /v1/eventlog/entries/{n}/proof`: entry n is in the log the hub signed.

    Check: recompute `entry.hash` from the entry; verify `head.jws` with the hub
    certificate; with `leaf = entry.hash` as 32 bytes, `leaf_index` = n -
    `head.first_seq`, `tree_size` = `head.seq` - `head.first_seq` + 1, the RFC 9162
    inclusion check of `path` must give the head's `entries_root`.
    """

    entry: LogEntry
    head: LogHead
    """The first signed head at or after entry n: it covers n's segment."""
    leaf_index: int = Field(ge=0)
    tree_size: int = Field(ge=1)
    path: list[str]
    """The audit path, hex, from the leaf up (RFC 9162 section 2.1.3)."""
