"""The dashboard's registry pages: the member list and one member, each with its history.

Reading uses the registry's own services (`list_members`, `get_member`,
`member_view`, as `/v1/admin/members` does) and `registry_history` for the
change history; the admin forms on these pages post to `registry_forms`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from hub.context import hub_context
from hub.eventlog.history import registry_history
from hub.ui.auth import require_session
from hub.ui.forms import PAGE_SIZE
from hub.ui.render import page
from hub.ui.session import UiSession
from registry.admin_api import MemberCreate
from registry.codes import AGENCY_CODE_PATTERN
from registry.members import MemberFilter, get_member, list_members, member_view
from registry.vocabulary import (
    ACCEPTANCE_POLICIES,
    DELIVERY_MODES,
    MEMBER_KINDS,
    MEMBER_STATUSES,
    WIRE_FORMATS,
)

__all__ = ["CHOICES", "FormErrors", "member_page", "members_page", "router"]

router = APIRouter(prefix="/ui", include_in_schema=False)
MEMBERS_PER_PAGE = PAGE_SIZE * 4
HISTORY_ROWS = 50
CHOICES = {
    "kind": MEMBER_KINDS,
    "delivery_mode": DELIVERY_MODES,
    "policy": ACCEPTANCE_POLICIES,
    "wire_format": WIRE_FORMATS,
}
"""The fixed vocabularies the forms offer as lists (the registry checks them again)."""
DEFAULTS = {name: str(MemberCreate.model_fields[name].default) for name in CHOICES}
"""What the add form starts with: the admin API's defaults (`MemberCreate`)."""
DONE = {
    "create": "Đã thêm thành viên (registered).",
    "update": "Đã cập nhật (updated).",
    "suspend": "Đã tạm ngừng (suspended): thẻ của thành viên hết hiệu lực ngay.",
    "reinstate": "Đã khôi phục (reinstated).",
    "rotate": "Đã thay chứng thư (certificate rotated).",
    "unchanged": "Không có gì thay đổi (nothing changed).",
}

FormErrors = list[tuple[str, str]]
"""(field, message) pairs shown above a form that was refused."""


async def members_page(
    request: Request,
    session: UiSession,
    flt: MemberFilter,
    offset: int = 0,
    *,
    errors: FormErrors | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The member list, its filters, the add form (admins) and the latest changes."""
    async with hub_context(request).sessions() as db:
        members, total = await list_members(db, flt, limit=MEMBERS_PER_PAGE + 1, offset=offset)
        history, history_total = await registry_history(db, limit=HISTORY_ROWS)
    return page(
        request, "registry.html", session, status=status, members=members[:MEMBERS_PER_PAGE],
        total=total, offset=offset, more=len(members) > MEMBERS_PER_PAGE,
        page_size=MEMBERS_PER_PAGE, flt=flt, statuses=MEMBER_STATUSES, choices=CHOICES,
        history=history, history_total=history_total, errors=errors or [], defaults=DEFAULTS,
        values=values or {}, done=DONE.get(request.query_params.get("done", "")),
    )  # fmt: skip


async def member_page(
    request: Request,
    session: UiSession,
    code: str,
    *,
    errors: FormErrors | None = None,
    form: str | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    """One member: its record, certificates, admin forms and its own change history.

    `form` names the form a refusal belongs to, so its message and the operator's
    input appear next to it; the other forms show the member as it is.
    """
    async with hub_context(request).sessions() as db:
        view: dict[str, Any] = member_view(await get_member(db, code))
        history, history_total = await registry_history(db, view["code"], limit=HISTORY_ROWS)
    edit = {k: "" if v is None else str(v) for k, v in view.items() if isinstance(v, str | None)}
    if form == "update" and values:
        edit.update(values)
    return page(
        request, "member.html", session, status=status, member=view, edit=edit,
        choices=CHOICES, history=history, history_total=history_total, errors=errors or [],
        form=form, values=values or {}, done=DONE.get(request.query_params.get("done", "")),
    )  # fmt: skip


@router.get("/registry")
async def registry_list(
    request: Request,
    offset: int = Query(0, ge=0),
    status: str | None = Query(None, max_length=16),
    kind: str | None = Query(None, max_length=32),
    q: str | None = Query(None, max_length=300),
    session: UiSession = Depends(require_session),
) -> Response:
    flt = MemberFilter(status=status or None, kind=kind or None, q=q or None)
    return await members_page(request, session, flt, offset)


@router.get("/registry/{code}")
async def registry_member(
    request: Request,
    code: str = Path(pattern=AGENCY_CODE_PATTERN),
    session: UiSession = Depends(require_session),
) -> Response:
    return await member_page(request, session, code)
