"""The dashboard's registry pages: the member list and one member."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from hub.context import hub_context
from hub.ui.auth import require_session
from hub.ui.pages import PAGE_SIZE
from hub.ui.render import page
from hub.ui.session import UiSession
from registry.members import MemberFilter, list_members

__all__ = ["router"]

router = APIRouter(prefix="/ui", include_in_schema=False)


@router.get("/registry")
async def registry_page(
    request: Request, offset: int = Query(0, ge=0), session: UiSession = Depends(require_session)
) -> Response:
    async with hub_context(request).sessions() as db:
        members, _ = await list_members(db, MemberFilter(), limit=PAGE_SIZE * 4 + 1, offset=offset)
    return page(
        request, "registry.html", session, members=members[: PAGE_SIZE * 4], offset=offset,
        more=len(members) > PAGE_SIZE * 4, page_size=PAGE_SIZE * 4,
    )  # fmt: skip
