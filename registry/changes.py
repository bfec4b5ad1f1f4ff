"""The registry's change log: who changed what, when, with the state before and after."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.db import utcnow
from registry.models import RegistryChange


def record_change(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    member_code: str | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> RegistryChange:
    """Add a change row to the caller's transaction, so it commits with the change itself."""
    change = RegistryChange(
        at=utcnow(),
        actor=actor,
        action=action,
        member_code=member_code,
        before=before,
        after=after,
    )
    session.add(change)
    return change


async def list_changes(
    session: AsyncSession,
    *,
    member_code: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[RegistryChange], int]:
    """Changes, newest first, with the total count for paging."""
    query = select(RegistryChange)
    if member_code is not None:
        query = query.where(RegistryChange.member_code == member_code)
    if since is not None:
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        query = query.where(RegistryChange.at >= since)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(
        query.order_by(RegistryChange.id.desc()).limit(limit).offset(offset)
    )
    return list(rows), int(total or 0)


async def registry_version(session: AsyncSession) -> int:
    """The id of the latest change: a version number that moves on every registry change."""
    return int(await session.scalar(select(func.max(RegistryChange.id))) or 0)


def change_view(change: RegistryChange) -> dict[str, Any]:
    return {
        "id": change.id,
        "at": change.at.isoformat(),
        "actor": change.actor,
        "action": change.action,
        "member_code": change.member_code,
        "before": change.before,
        "after": change.after,
    }


async def changed_members(session: AsyncSession, *, after: int, upto: int) -> set[str]:
    """The members named by changes `after` < id <= `upto`: a range of the primary key."""
    rows = await session.scalars(
        select(RegistryChange.member_code)
        .where(RegistryChange.id > after, RegistryChange.id <= upto)
        .distinct()
    )
    return {code for code in rows if code is not None}
