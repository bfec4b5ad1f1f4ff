"""The registry's change history as the dashboard shows it: who changed what, when, and
where each change sits in the hash-chained event log.

The registry writes each change to `registry_changes` in the change's own
transaction (what `GET /v1/admin/changes` lists); the sealer copies it into the
event log, where it gets its sequence number. A change not yet sealed is shown
with no number rather than hidden, so an operator sees their own action at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from hub.db.sql import json_text
from hub.eventlog.chain import EventLogEntry
from registry.models import RegistryChange
from registry.sorting import sort_order

__all__ = [
    "HISTORY_SORT_COLUMNS",
    "FieldChange",
    "RegistryEvent",
    "member_diff",
    "registry_history",
]

SHOWN_FIELDS = (
    "name", "kind", "parent", "status", "delivery_mode", "endpoint", "policy", "wire_format",
)  # fmt: skip
"""The member fields a history line names when they change (timestamps are left out)."""


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class RegistryEvent:
    change_id: int
    at: datetime
    actor: str
    action: str
    member_code: str | None
    changes: list[FieldChange] = field(default_factory=list)
    seq: int | None = None
    """The entry's number in the event log; None until the sealer has taken it."""


def _certificates(view: dict[str, Any] | None) -> dict[str, str]:
    """Fingerprint → `active` or `retired`, from a member view."""
    return {
        c["fingerprint"]: "retired" if c.get("retired_at") else "active"
        for c in (view or {}).get("certificates", [])
    }


def member_diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[FieldChange]:
    """What differs between two member views: the shown fields, then each certificate."""
    old, new = before or {}, after or {}
    found = [
        FieldChange(name, old.get(name), new.get(name))
        for name in SHOWN_FIELDS
        if old.get(name) != new.get(name)
    ]
    was, now = _certificates(before), _certificates(after)
    for fp in sorted(set(was) | set(now)):
        if was.get(fp) != now.get(fp):
            found.append(FieldChange(f"certificate {fp[:16]}…", was.get(fp), now.get(fp)))
    return found


HISTORY_SORT_COLUMNS = ("at", "member", "actor", "action", "changes", "seq")
"""The columns the history may be sorted by (`-column`: descending)."""


def _first_changed(dialect: str) -> ColumnElement[str]:
    """The first shown field a change alters, the name its history line starts with;
    `certificate` when only certificates changed."""

    def value(column: Any, name: str) -> ColumnElement[str]:
        return func.coalesce(json_text(dialect, column, name), "")

    return case(
        *((value(RegistryChange.before, f) != value(RegistryChange.after, f), f)
          for f in SHOWN_FIELDS),
        else_="certificate",
    )  # fmt: skip


def _sort_keys(dialect: str) -> dict[str, list[Any]]:
    return {
        "at": [RegistryChange.at],
        "member": [RegistryChange.member_code],
        "actor": [RegistryChange.actor],
        "action": [RegistryChange.action],
        "changes": [_first_changed(dialect)],
        "seq": [EventLogEntry.seq],
    }


async def registry_history(
    session: AsyncSession,
    member_code: str | None = None,
    *,
    limit: int = 50,
    offset: int = 0,
    sort: str = "-at",
) -> tuple[list[RegistryEvent], int]:
    """Changes (all, or one member's) in `sort` order, newest first by default, with the
    total: the rows of `/v1/admin/changes`, each with its event log number if sealed."""
    where = [] if member_code is None else [RegistryChange.member_code == member_code]
    total = await session.scalar(select(func.count()).select_from(RegistryChange).where(*where))
    order = sort_order(_sort_keys(session.get_bind().dialect.name), sort, [RegistryChange.id])
    found = await session.execute(
        select(RegistryChange, EventLogEntry.seq)
        .outerjoin(EventLogEntry, EventLogEntry.registry_change_id == RegistryChange.id)
        .where(*where)
        .order_by(*order)
        .limit(limit)
        .offset(offset)
    )
    rows = found.all()
    events = [
        RegistryEvent(
            change_id=r.id,
            at=r.at,
            actor=r.actor,
            action=r.action,
            member_code=r.member_code,
            changes=member_diff(r.before, r.after),
            seq=seq,
        )
        for r, seq in rows
    ]
    return events, int(total or 0)
