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

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.eventlog.chain import EventLogEntry
from registry.changes import list_changes

__all__ = ["FieldChange", "RegistryEvent", "member_diff", "registry_history"]

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


async def registry_history(
    session: AsyncSession, member_code: str | None = None, *, limit: int = 50, offset: int = 0
) -> tuple[list[RegistryEvent], int]:
    """Changes newest first (all, or one member's) with the total, as `/v1/admin/changes`."""
    rows, total = await list_changes(session, member_code=member_code, limit=limit, offset=offset)
    seqs: dict[int | None, int | None] = {}
    if rows:
        found = await session.execute(
            select(EventLogEntry.registry_change_id, EventLogEntry.seq).where(
                EventLogEntry.registry_change_id.in_([r.id for r in rows])
            )
        )
        seqs = {change_id: seq for change_id, seq in found.all()}
    events = [
        RegistryEvent(
            change_id=r.id,
            at=r.at,
            actor=r.actor,
            action=r.action,
            member_code=r.member_code,
            changes=member_diff(r.before, r.after),
            seq=seqs.get(r.id),
        )
        for r in rows
    ]
    return events, total
