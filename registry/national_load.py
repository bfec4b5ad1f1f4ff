"""Register many national units at once: the 94, or the whole tree of about 12,000.

One statement per table and chunk instead of a service call per member: the
change log still gets its `create` row for every member, in the same
transaction, so the signed directory's version moves once for the whole load.
No certificate is issued here: a unit's organisation certificate comes from the
national CA when its node is set up (`lienthong registry add-cert`), as for a
member registered by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.db import utcnow
from registry.errors import invalid
from registry.members import member_view
from registry.models import Member, RegistryChange
from registry.national import NationalUnit

__all__ = ["CHUNK", "LoadResult", "load_units"]

CHUNK = 2_000
"""Rows per INSERT: SQLite allows 32,766 parameters in one statement."""


@dataclass(frozen=True)
class LoadResult:
    added: int
    already_present: int


async def load_units(
    session: AsyncSession, units: Sequence[NationalUnit], *, actor: str
) -> LoadResult:
    """Insert the units not yet registered, parents before children; idempotent.

    `units` must list every parent before its children (as `national_tree`
    and the dataset do); a parent neither registered nor listed earlier is a
    `parent_not_found` refusal before anything is written.
    """
    known = set(await session.scalars(select(Member.code)))
    new = [unit for unit in units if unit.code not in known]
    for unit in new:
        if unit.parent is not None and unit.parent not in known:
            raise invalid(
                "parent_not_found", f"the parent {unit.parent} of {unit.code} is not registered"
            )
        known.add(unit.code)
    now = utcnow()
    members: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    for unit in new:
        member = Member(
            code=unit.code,
            name=unit.name,
            kind=unit.kind,
            parent_code=unit.parent,
            status="active",
            delivery_mode="pull",
            endpoint=None,
            policy="accept_all",
            wire_format="json",
            created_at=now,
            updated_at=now,
            certificates=[],
        )
        view = member_view(member)
        members.append({key: getattr(member, key) for key in _MEMBER_COLUMNS})
        changes.append(
            {
                "at": now,
                "actor": actor,
                "action": "create",
                "member_code": unit.code,
                "before": None,
                "after": view,
            }
        )
    for start in range(0, len(new), CHUNK):
        await session.execute(insert(Member), members[start : start + CHUNK])
        await session.execute(insert(RegistryChange), changes[start : start + CHUNK])
    return LoadResult(added=len(new), already_present=len(units) - len(new))


_MEMBER_COLUMNS = (
    "code",
    "name",
    "kind",
    "parent_code",
    "status",
    "delivery_mode",
    "endpoint",
    "policy",
    "wire_format",
    "created_at",
    "updated_at",
)
