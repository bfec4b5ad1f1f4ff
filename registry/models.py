"""The registry's tables: members, their certificates, operators, the change log.

The hub's own tables live in `hub/` on the same `Base`; the schema itself is
written by the Alembic revisions under `migrations/`, never by `create_all`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.db import Base, UTCDateTime, utcnow
from registry.vocabulary import ACCEPTANCE_POLICIES as ACCEPTANCE_POLICIES
from registry.vocabulary import DELIVERY_MODES as DELIVERY_MODES
from registry.vocabulary import MEMBER_KINDS as MEMBER_KINDS
from registry.vocabulary import MEMBER_STATUSES as MEMBER_STATUSES
from registry.vocabulary import OPERATOR_ROLES as OPERATOR_ROLES
from registry.vocabulary import WIRE_FORMATS as WIRE_FORMATS
from registry.vocabulary import AcceptancePolicy as AcceptancePolicy
from registry.vocabulary import DeliveryMode as DeliveryMode
from registry.vocabulary import MemberKind as MemberKind
from registry.vocabulary import MemberStatus as MemberStatus
from registry.vocabulary import WireFormat as WireFormat


class Member(Base):
    """An agency connected to the hub, identified by its QCVN 102 code."""

    __tablename__ = "members"

    code: Mapped[str] = mapped_column(String(13), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(24))
    parent_code: Mapped[str | None] = mapped_column(
        String(13), ForeignKey("members.code"), index=True
    )
    status: Mapped[str] = mapped_column(String(12), default="active")
    delivery_mode: Mapped[str] = mapped_column(String(8), default="pull")
    endpoint: Mapped[str | None] = mapped_column(String(2000))
    policy: Mapped[str] = mapped_column(String(24), default="accept_all")
    wire_format: Mapped[str] = mapped_column(String(8), default="json")
    """`json` or `edxml`: the format of the pushes, inbox items and statuses it receives."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    certificates: Mapped[list[MemberCertificate]] = relationship(
        back_populates="member", order_by="MemberCertificate.id", lazy="selectin"
    )


class MemberCertificate(Base):
    """One certificate a member signs or authenticates with, kept after rotation.

    `retired_at` ends it: tokens made with its key stop working at once, and
    signatures are accepted only if made before that moment.
    """

    __tablename__ = "member_certificates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    member_code: Mapped[str] = mapped_column(String(13), ForeignKey("members.code"), index=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    pem: Mapped[str] = mapped_column(Text)
    serial: Mapped[str] = mapped_column(String(64))
    signing: Mapped[bool] = mapped_column(Boolean, default=True)
    auth: Mapped[bool] = mapped_column(Boolean, default=True)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime())
    not_after: Mapped[datetime] = mapped_column(UTCDateTime())
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    member: Mapped[Member] = relationship(back_populates="certificates")


class Operator(Base):
    """A person at the hub; the API token is stored only as its SHA-256."""

    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(12))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RegistryChange(Base):
    """Who changed what in the registry, when, with the state before and after."""

    __tablename__ = "registry_changes"
    __table_args__ = (Index("ix_registry_changes_member_code_id", "member_code", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    member_code: Mapped[str | None] = mapped_column(String(13))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
