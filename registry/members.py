"""Members: register, change and look up the agencies connected to the hub.

Each operation runs in the caller's session and adds its change-log row to
the same transaction; a refusal raises `RegistryError` before anything is
flushed, so nothing is ever half-written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.changes import record_change
from registry.codes import AgencyCode, InvalidAgencyCode
from registry.db import lowered, utcnow
from registry.errors import conflict, invalid, not_found
from registry.models import (
    ACCEPTANCE_POLICIES,
    DELIVERY_MODES,
    MEMBER_KINDS,
    MEMBER_STATUSES,
    WIRE_FORMATS,
    Member,
    MemberCertificate,
)
from registry.sorting import sort_order

UPDATABLE = ("name", "kind", "delivery_mode", "endpoint", "policy", "wire_format")
TRANSITIONS = {
    "suspend": ({"active"}, "suspended"),
    "reinstate": ({"suspended"}, "active"),
    "revoke": ({"active", "suspended"}, "revoked"),
}


@dataclass
class MemberInput:
    """What an operator supplies to register a member."""

    code: str
    name: str
    kind: str = "other"
    parent: str | None = None
    delivery_mode: str = "pull"
    endpoint: str | None = None
    policy: str = "accept_all"
    wire_format: str = "json"


def parse_code(text: str, field: str = "code") -> str:
    try:
        return str(AgencyCode.parse(text))
    except InvalidAgencyCode as exc:
        raise invalid("invalid_agency_code", str(exc), field) from exc


def _check_choice(value: str, choices: tuple[str, ...], code: str, field: str) -> None:
    if value not in choices:
        raise invalid(code, f"{field} must be one of {', '.join(choices)}, not {value!r}", field)


def _check_endpoint(endpoint: str | None, delivery_mode: str) -> None:
    if endpoint is not None:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise invalid(
                "invalid_endpoint", f"endpoint must be an http(s) URL, not {endpoint!r}", "endpoint"
            )
    elif delivery_mode == "push":
        raise invalid("endpoint_required", "push delivery needs an endpoint URL", "endpoint")


def _check_fields(values: dict[str, Any]) -> None:
    name = values["name"]
    if not isinstance(name, str) or not name.strip():
        raise invalid("invalid_name", "name must not be empty", "name")
    _check_choice(values["kind"], MEMBER_KINDS, "unknown_kind", "kind")
    _check_choice(values["delivery_mode"], DELIVERY_MODES, "unknown_delivery_mode", "delivery_mode")
    _check_choice(values["policy"], ACCEPTANCE_POLICIES, "unknown_policy", "policy")
    _check_choice(values["wire_format"], WIRE_FORMATS, "unknown_wire_format", "wire_format")
    _check_endpoint(values["endpoint"], values["delivery_mode"])


def certificate_view(cert: MemberCertificate) -> dict[str, Any]:
    return {
        "fingerprint": cert.fingerprint,
        "serial": cert.serial,
        "signing": cert.signing,
        "auth": cert.auth,
        "not_before": cert.not_before.isoformat(),
        "not_after": cert.not_after.isoformat(),
        "added_at": cert.added_at.isoformat(),
        "retired_at": cert.retired_at.isoformat() if cert.retired_at else None,
    }


def member_view(member: Member, *, with_pem: bool = False) -> dict[str, Any]:
    """The member as JSON: the API's answer and the change log's before/after."""
    certificates = []
    for cert in member.certificates:
        view = certificate_view(cert)
        if with_pem:
            view["pem"] = cert.pem
        certificates.append(view)
    return {
        "code": member.code,
        "name": member.name,
        "kind": member.kind,
        "parent": member.parent_code,
        "status": member.status,
        "delivery_mode": member.delivery_mode,
        "endpoint": member.endpoint,
        "policy": member.policy,
        "wire_format": member.wire_format,
        "created_at": member.created_at.isoformat(),
        "updated_at": member.updated_at.isoformat(),
        "certificates": certificates,
    }


async def get_member(session: AsyncSession, code: str) -> Member:
    member = await session.get(Member, parse_code(code))
    if member is None:
        raise not_found("member_not_found", f"no member {code}")
    return member


async def _check_parent(session: AsyncSession, code: str, parent: str | None) -> str | None:
    expected = AgencyCode.parse(code).parent()
    claimed = parse_code(parent, "parent") if parent is not None else None
    if claimed is None and expected is None:
        return None
    if claimed is not None and (expected is None or claimed != str(expected)):
        raise invalid(
            "parent_mismatch",
            f"the parent of {code} is {expected or 'none (a level-1 unit)'}, not {claimed}",
            "parent",
        )
    parent_code = str(expected)
    seen = {code}
    current: str | None = parent_code
    while current is not None:
        if current in seen:
            raise conflict("cycle", f"{code} would be its own ancestor through {current}")
        seen.add(current)
        row = await session.get(Member, current)
        if row is None:
            if current == parent_code:
                raise invalid(
                    "parent_not_found", f"the parent {parent_code} is not registered", "parent"
                )
            break
        current = row.parent_code
    return parent_code


async def create_member(session: AsyncSession, data: MemberInput, *, actor: str) -> Member:
    code = parse_code(data.code)
    values = {
        "name": data.name,
        "kind": data.kind,
        "delivery_mode": data.delivery_mode,
        "endpoint": data.endpoint,
        "policy": data.policy,
        "wire_format": data.wire_format,
    }
    _check_fields(values)
    if await session.get(Member, code) is not None:
        raise conflict("duplicate_member", f"{code} is already registered")
    parent = await _check_parent(session, code, data.parent)
    now = utcnow()
    member = Member(
        code=code,
        parent_code=parent,
        status="active",
        created_at=now,
        updated_at=now,
        certificates=[],
        **values,
    )
    member.name = member.name.strip()
    session.add(member)
    record_change(
        session,
        actor=actor,
        action="create",
        member_code=code,
        before=None,
        after=member_view(member),
    )
    await session.flush()
    return member


async def update_member(
    session: AsyncSession, code: str, changes: dict[str, Any], *, actor: str
) -> Member:
    """Change some of name, kind, delivery mode, endpoint, policy and wire format."""
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        field = sorted(unknown)[0]
        raise invalid("not_updatable", f"{field} cannot be changed", field)
    member = await get_member(session, code)
    if member.status == "revoked":
        raise conflict("member_revoked", f"{member.code} is revoked and cannot change")
    before = member_view(member)
    values = {name: getattr(member, name) for name in UPDATABLE}
    values.update(changes)
    _check_fields(values)
    for name, value in values.items():
        setattr(member, name, value.strip() if name == "name" else value)
    member.updated_at = utcnow()
    after = member_view(member)
    if after != before:
        record_change(
            session,
            actor=actor,
            action="update",
            member_code=member.code,
            before=before,
            after=after,
        )
    await session.flush()
    return member


async def change_status(session: AsyncSession, code: str, action: str, *, actor: str) -> Member:
    """Suspend, reinstate or revoke; a transition that makes no sense is a 409."""
    allowed, target = TRANSITIONS[action]
    member = await get_member(session, code)
    if member.status not in allowed:
        raise conflict(
            "invalid_status_transition", f"cannot {action} {member.code}: it is {member.status}"
        )
    before = member_view(member)
    member.status = target
    member.updated_at = utcnow()
    record_change(
        session,
        actor=actor,
        action=action,
        member_code=member.code,
        before=before,
        after=member_view(member),
    )
    await session.flush()
    return member


@dataclass
class MemberFilter:
    kind: str | None = None
    status: str | None = None
    parent: str | None = None
    delivery_mode: str | None = None
    q: str | None = None


MEMBER_SORT_COLUMNS = (
    "code", "name", "kind", "parent", "status", "delivery_mode", "policy", "wire_format",
)  # fmt: skip
"""The columns a member list may be sorted by (`-column`: descending)."""


async def list_members(
    session: AsyncSession,
    filters: MemberFilter,
    *,
    limit: int = 100,
    offset: int = 0,
    sort: str = "code",
) -> tuple[list[Member], int]:
    """Members in `sort` order (then by code) with the total count for paging."""
    dialect = session.get_bind().dialect.name
    keys: dict[str, list[Any]] = {
        "code": [Member.code],
        "name": [lowered(dialect, Member.name)],
        "kind": [Member.kind],
        "parent": [Member.parent_code],
        "status": [Member.status],
        "delivery_mode": [Member.delivery_mode],
        "policy": [Member.policy],
        "wire_format": [Member.wire_format],
    }
    order = sort_order(keys, sort, [Member.code])
    if filters.status is not None:
        _check_choice(filters.status, MEMBER_STATUSES, "unknown_status", "status")
    query = select(Member)
    if filters.kind is not None:
        query = query.where(Member.kind == filters.kind)
    if filters.status is not None:
        query = query.where(Member.status == filters.status)
    if filters.parent is not None:
        query = query.where(Member.parent_code == parse_code(filters.parent, "parent"))
    if filters.delivery_mode is not None:
        query = query.where(Member.delivery_mode == filters.delivery_mode)
    if filters.q:
        # every letter folded (SQLite's lower() folds ASCII only); % and _ match themselves
        name = lowered(dialect, Member.name)
        query = query.where(name.contains(filters.q.lower(), autoescape=True))
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(query.order_by(*order).limit(limit).offset(offset))
    return list(rows), int(total or 0)
