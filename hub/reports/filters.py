"""What a report is about: a time window, a recipient, a sender subtree, a document type."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.models import Member, RegistryChange
from registry.problems import Problem


class Grouping(StrEnum):
    SENDER = "sender"
    PARENT = "parent"
    """Roll each sender up into its top-level unit (a ministry or a province)."""
    DAY = "day"


@dataclass(frozen=True)
class ReportFilter:
    """The rows a report counts; `None` means no restriction."""

    since: date | None = None
    until: date | None = None
    """Inclusive, in Vietnam days."""
    recipient: str | None = None
    sender: str | None = None
    """A member code: the member and everything under it in the registry."""
    doc_type: str | None = None
    only_member: str | None = None
    """Set for a member caller: the report is restricted to that member's own rows."""

    def check(self) -> None:
        if self.since and self.until and self.since > self.until:
            raise Problem(
                422,
                "invalid_window",
                "since is after until",
                errors=[{"field": "since", "message": "must not be after until"}],
            )


@dataclass
class Hierarchy:
    """The registry's parent links and names: 12,000 rows with the national tree, so read
    once per registry state and process (`load_hierarchy`), not once per report."""

    parents: dict[str, str | None]
    names: dict[str, str]
    children: dict[str, list[str]] = field(default_factory=dict)

    def subtree(self, root: str) -> set[str]:
        found, todo = set(), [root]
        while todo:
            code = todo.pop()
            if code not in found:
                found.add(code)
                todo.extend(self.children.get(code, ()))
        return found

    def top(self, code: str) -> str:
        seen: set[str] = set()
        while (parent := self.parents.get(code)) and code not in seen:
            seen.add(code)
            code = parent
        return code


_STATE = select(
    select(func.max(RegistryChange.id)).scalar_subquery(),
    select(func.count()).select_from(Member).scalar_subquery(),
)
_kept: dict[str, tuple[tuple[Any, ...], Hierarchy]] = {}
"""Per database URL: the registry state a hierarchy was read at, and the hierarchy."""


async def load_hierarchy(session: AsyncSession) -> Hierarchy:
    """The hierarchy, read again only when the registry changed since this process read it.

    The registry state is the change log's last id (every registry write adds a row) and
    the number of members (a member written without a change row still counts): two
    index lookups instead of 12,000 rows per report.
    """
    url = session.get_bind().engine.url.render_as_string(hide_password=True)
    state = tuple((await session.execute(_STATE)).one())
    kept = _kept.get(url)
    if kept is not None and kept[0] == state:
        return kept[1]
    hierarchy = await _read_hierarchy(session)
    _kept[url] = (state, hierarchy)
    return hierarchy


async def _read_hierarchy(session: AsyncSession) -> Hierarchy:
    rows = (await session.execute(select(Member.code, Member.parent_code, Member.name))).all()
    children: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        if row.parent_code:
            children[row.parent_code].append(row.code)
    return Hierarchy(
        parents={row.code: row.parent_code for row in rows},
        names={row.code: row.name for row in rows},
        children=dict(children),
    )


def senders_of(flt: ReportFilter, hierarchy: Hierarchy) -> set[str] | None:
    """The senders a filter allows, or None for all."""
    if flt.sender is None:
        return None
    if flt.sender not in hierarchy.parents:
        raise Problem(
            422,
            "unknown_member",
            f"no member {flt.sender}",
            errors=[{"field": "sender", "message": "not a member of the hub"}],
        )
    return hierarchy.subtree(flt.sender)
