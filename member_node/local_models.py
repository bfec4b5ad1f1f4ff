"""The shapes of the node's DMS API (`/local/...`), as published in the node's OpenAPI.

Plain JSON with no JOSE in sight: the node signs, verifies and talks to the
hub; a DMS in any language sends metadata and base64 files, and reads
documents, verdicts and statuses.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from signing.package import Header


class LocalFile(BaseModel):
    name: str = Field(min_length=1, max_length=255, examples=["qd274.pdf"])
    media_type: str = Field(
        default="application/octet-stream",
        min_length=1,
        max_length=255,
        examples=["application/pdf"],
    )
    content: str = Field(description="The file, base64.", examples=["JVBERi0xLjcK"])


class LocalSend(BaseModel):
    """What the DMS asks the node to send: the node builds and signs the package."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "recipients": ["000.00.00.G22"],
                    "header": {
                        "code": {"number": "274", "notation": "QĐ-UBND"},
                        "promulgation": {"place": "Hưng Yên", "date": "2024-03-12"},
                        "type": "QD",
                        "subject": "Về việc ban hành quy chế",
                        "signer": {"name": "Nguyễn Văn A", "position": "Chủ tịch"},
                    },
                    "files": [
                        {
                            "name": "qd274.pdf",
                            "media_type": "application/pdf",
                            "content": "JVBERi0xLjcK",
                        }
                    ],
                }
            ]
        }
    )

    recipients: list[str] = Field(min_length=1)
    header: Header
    files: list[LocalFile] = Field(default_factory=list)
    personal: bool = Field(default=True, description="Sign with the official's key.")
    organization: bool = Field(default=True, description="Sign with the organisation's key.")
    id: str | None = Field(
        default=None,
        description="The package id (UUID), for idempotent retries; chosen by the node when unset.",
    )


class SignatureItem(BaseModel):
    """One signature of a received document: who, kind, when, where, and whether it holds."""

    kind: str | None
    format: str | None = Field(description="`jws`, `pades` or `xmldsig`.")
    source: str = Field(description="`envelope`, or `attachment:<i>` for a PDF's signature.")
    revision: int | None = Field(description="The PDF revision it signs (PDF signatures).")
    subject: str | None
    agency_code: str | None
    signing_time: str | None
    valid: bool


class InboxItem(BaseModel):
    """A received document as the DMS lists it (without the package body)."""

    id: str
    sender: str
    subject: str
    format: Literal["json", "edxml"] | str = Field(
        description="How the node received it: `json`, or `edxml` (its hub-signed edXML kept)."
    )
    compliant: bool | None
    violations: list[str]
    signed_in: Literal["pdf", "envelope", "both"] | None = Field(
        description="Where it is signed: in the principal PDF, on the envelope, both, or unsigned."
    )
    signatures: list[SignatureItem]
    via: Literal["push", "pull"] | str
    received_at: str
    recalled_at: str | None = Field(
        description="Set when the sender recalled it and the recall was agreed: deleted."
    )
    taken_at: str | None = Field(description="When the DMS marked it taken.")


class InboxList(BaseModel):
    documents: list[InboxItem]


class StatusView(BaseModel):
    """A status about a document: heard from the hub (`in`) or posted by this node (`out`)."""

    document_id: str
    member: str = Field(description="Who posted it: a recipient's code, or this node's.")
    code: str = Field(examples=["03"])
    reason: str | None = None
    at: str
    direction: Literal["in", "out"] | str


class DocumentView(BaseModel):
    """One document at this node: received (`in`) or sent (`out`)."""

    model_config = ConfigDict(extra="allow")

    direction: Literal["in", "out"]
    id: str
    subject: str
    statuses: list[StatusView]
    package: dict[str, Any] | None = Field(
        default=None, description="Received: the package (null once recalled)."
    )
    hub_verdict: dict[str, Any] | None = None
    local_verdict: dict[str, Any] | None = Field(
        default=None, description="Received: this node's own verification of the signatures."
    )
    trace: dict[str, Any] | None = Field(
        default=None, description="Sent: the hub's live trace (null if the hub was unreachable)."
    )


class PostStatus(BaseModel):
    """A recipient's processing status: 01 arrived, 02 rejected (with a reason), 03 accepted,
    04 assigned, 05 processing, 06 completed."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"code": "02", "reason": "sai thể thức"}]}
    )

    code: Literal["01", "02", "03", "04", "05", "06"]
    reason: str | None = Field(default=None, min_length=1, max_length=2000)

    @model_validator(mode="after")
    def _reason_for_rejection(self) -> PostStatus:
        if self.code == "02" and not self.reason:
            raise ValueError("a rejection (02) needs a reason")
        return self


class RecallAnswer(BaseModel):
    """The answer to a sender's recall (status 13): agree (15: the document is deleted here)
    or refuse (16, with a reason)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"answer": "agree"}]})

    answer: Literal["agree", "refuse"]
    reason: str | None = Field(default=None, min_length=1, max_length=2000)


class FeedItem(BaseModel):
    """Something new at the node: a document received, or a status heard from the hub (a
    recipient's status about a document sent, or 13, a recall of a document received)."""

    cursor: int = Field(description="This item's place in the feed; pass it as `after`.")
    kind: Literal["document", "status"]
    document_id: str
    at: str = Field(description="When the node recorded it.")
    document: InboxItem | None = Field(
        default=None, description="For `document`: the document as it is now."
    )
    status: StatusView | None = Field(default=None, description="For `status`: the status.")


class FeedPage(BaseModel):
    items: list[FeedItem]
    next_cursor: int = Field(
        description="Pass as `after` next time: the last item's cursor, or `after` itself "
        "when nothing new arrived."
    )
